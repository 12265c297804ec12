/**
 * MCUboot image files: what buildMcubootImage writes and parseMcubootImage accepts or refuses.
 * The layout is MCUboot's own (bootutil/image.h: struct image_header, image_tlv_info, image_tlv);
 * the version string is Zephyr img_mgmt's (img_mgmt_ver_str: "%hu.%hu.%hu", then ".%u" when the
 * build number is not 0). The hash is checked against Node's own SHA-256, not the one we ship.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildMcubootImage,
  IMAGE_HEADER_SIZE,
  IMAGE_MAGIC,
  IMAGE_TLV_INFO_MAGIC,
  IMAGE_TLV_PROT_INFO_MAGIC,
  IMAGE_TLV_SHA256,
  type ImageFileErrorCode,
  type ImageVersion,
  parseMcubootImage,
} from '../../src/lib/device/mcuboot-image';
import { bytesToHex, concatBytes } from '../../src/lib/util/bytes';

const ERROR_CODES: readonly ImageFileErrorCode[] = ['image-too-short', 'image-bad-magic', 'image-bad-header', 'image-bad-tlv', 'image-no-hash', 'image-hash-mismatch'];
/** bootutil/image.h TLV types used below besides the hash. */
const IMAGE_TLV_KEYHASH = 0x01;
const IMAGE_TLV_SEC_CNT = 0x50;

const v = (major: number, minor: number, revision: number, build: number): ImageVersion => ({ major, minor, revision, build });

function nodeSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Deterministic body bytes, so a failure replays. */
function body(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

function flip(bytes: Uint8Array, at: number, xor = 0x01): void {
  bytes[at] = bytes[at]! ^ xor;
}

function u16(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff, value >>> 8);
}

/** One TLV area: info {magic, total} then the entries. */
function tlvArea(magic: number, entries: { type: number; value: Uint8Array; length?: number }[]): Uint8Array {
  const parts = entries.map((entry) => concatBytes(u16(entry.type), u16(entry.length ?? entry.value.length), entry.value));
  const content = concatBytes(...parts);
  return concatBytes(u16(magic), u16(4 + content.length), content);
}

/**
 * An image assembled by hand, for layouts buildMcubootImage does not write (protected TLVs,
 * extra TLVs, a wrong hash). The hash TLV covers header + body + protected area unless given.
 */
function assemble(options: { body: Uint8Array; headerSize?: number; protectedTlvs?: Uint8Array; tlvs?: (hash: Uint8Array) => Uint8Array }): Uint8Array {
  const headerSize = options.headerSize ?? 0x200;
  const protectedTlvs = options.protectedTlvs ?? new Uint8Array();
  const header = new Uint8Array(headerSize);
  const view = new DataView(header.buffer);
  view.setUint32(0, IMAGE_MAGIC, true);
  view.setUint16(8, headerSize, true);
  view.setUint16(10, protectedTlvs.length, true);
  view.setUint32(12, options.body.length, true);
  header.set([1, 2, 3, 0, 4, 0, 0, 0], 20);
  const hashed = concatBytes(header, options.body, protectedTlvs);
  const hash = Uint8Array.from(createHash('sha256').update(hashed).digest());
  const tlvs = options.tlvs ?? ((digest) => tlvArea(IMAGE_TLV_INFO_MAGIC, [{ type: IMAGE_TLV_SHA256, value: digest }]));
  return concatBytes(hashed, tlvs(hash));
}

function expectRefused(bytes: Uint8Array, code: ImageFileErrorCode): string {
  const result = parseMcubootImage(bytes);
  expect(result.ok ? 'accepted' : result.error.code).toBe(code);
  return result.ok ? '' : result.error.message;
}

describe('buildMcubootImage → parseMcubootImage', () => {
  it('round-trips version 1.2.3.4, load address, flags and sizes; the version string is Zephyr\'s "1.2.3.4"', () => {
    const image = buildMcubootImage({ version: v(1, 2, 3, 4), body: body(1000), loadAddress: 0x1234_5678, flags: 0x10 });
    const parsed = parseMcubootImage(image);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value).toMatchObject({
      version: v(1, 2, 3, 4),
      versionString: '1.2.3.4',
      loadAddress: 0x1234_5678,
      headerSize: 0x200,
      imageSize: 1000,
      protectedTlvSize: 0,
      flags: 0x10,
      tlvs: [{ type: IMAGE_TLV_SHA256, length: 32, protected: false }],
      usedSize: image.length,
    });
  });

  it('writes "1.2.3" when the build number is 0, as img_mgmt_ver_str does', () => {
    const parsed = parseMcubootImage(buildMcubootImage({ version: v(1, 2, 3, 0), body: body(10) }));
    expect(parsed.ok && parsed.value.versionString).toBe('1.2.3');
  });

  it('keeps the widest values of every version field (u8.u8.u16.u32)', () => {
    const parsed = parseMcubootImage(buildMcubootImage({ version: v(255, 255, 65535, 0xffff_ffff), body: body(10) }));
    expect(parsed.ok && parsed.value.versionString).toBe('255.255.65535.4294967295');
  });

  it('puts in the hash TLV the SHA-256 of header + padding + body (checked with node:crypto)', () => {
    const image = buildMcubootImage({ version: v(1, 2, 3, 4), body: body(4096) });
    const tlvStart = 0x200 + 4096;
    const expected = nodeSha256(image.subarray(0, tlvStart));
    expect(bytesToHex(image.subarray(tlvStart + 8, tlvStart + 40))).toBe(expected);
    const parsed = parseMcubootImage(image);
    expect(parsed.ok && parsed.value.hashHex).toBe(expected);
    expect(parsed.ok && bytesToHex(parsed.value.hash)).toBe(expected);
  });

  it('accepts a body of 0 bytes and a 32-byte header with no padding', () => {
    const parsed = parseMcubootImage(buildMcubootImage({ version: v(0, 0, 1, 0), body: new Uint8Array(), headerSize: IMAGE_HEADER_SIZE }));
    expect(parsed.ok && parsed.value).toMatchObject({ headerSize: 32, imageSize: 0, versionString: '0.0.1' });
  });

  it('ignores padding after the TLV area (flash erased to 0xff) and reports where the TLVs end', () => {
    const image = buildMcubootImage({ version: v(1, 0, 0, 0), body: body(100) });
    const padded = concatBytes(image, new Uint8Array(300).fill(0xff));
    const parsed = parseMcubootImage(padded);
    expect(parsed.ok && parsed.value.usedSize).toBe(image.length);
  });

  it('parses a view into a larger buffer (byteOffset ≠ 0)', () => {
    const image = buildMcubootImage({ version: v(1, 2, 3, 4), body: body(64) });
    const backing = new Uint8Array(image.length + 7);
    backing.set(image, 7);
    const parsed = parseMcubootImage(backing.subarray(7));
    expect(parsed.ok && parsed.value.versionString).toBe('1.2.3.4');
  });
});

describe('byte layout: MCUboot struct image_header and the TLV area', () => {
  const image = buildMcubootImage({ version: v(1, 2, 0x0304, 0x05060708), body: body(300), loadAddress: 0x0a0b0c0d, flags: 0x11223344, headerSize: 0x200 });
  const hex = (start: number, end: number) => bytesToHex(image.subarray(start, end));

  it.each([
    ['ih_magic 0x96f3b83d', 0, 4, '3db8f396'],
    ['ih_load_addr', 4, 8, '0d0c0b0a'],
    ['ih_hdr_size 0x200', 8, 10, '0002'],
    ['ih_protect_tlv_size 0', 10, 12, '0000'],
    ['ih_img_size 300', 12, 16, '2c010000'],
    ['ih_flags', 16, 20, '44332211'],
    ['iv_major, iv_minor', 20, 22, '0102'],
    ['iv_revision (u16)', 22, 24, '0403'],
    ['iv_build_num (u32)', 24, 28, '08070605'],
    ['_pad1', 28, 32, '00000000'],
  ] as const)('%s at bytes %i..%i, little-endian', (_name, start, end, expected) => {
    expect(hex(start, end)).toBe(expected);
  });

  it('pads the header with zeroes up to ih_hdr_size, then the body', () => {
    expect(image.subarray(32, 0x200).every((byte) => byte === 0)).toBe(true);
    expect(hex(0x200, 0x200 + 300)).toBe(bytesToHex(body(300)));
  });

  it('ends with the TLV area: info magic 0x6907, it_tlv_tot 40, then the SHA-256 TLV (type 0x10, len 32)', () => {
    const tlvStart = 0x200 + 300;
    expect(image.length).toBe(tlvStart + 40);
    expect(hex(tlvStart, tlvStart + 4)).toBe('07692800');
    expect(hex(tlvStart + 4, tlvStart + 8)).toBe('10002000');
  });
});

describe('refusals, each with its typed code', () => {
  const good = buildMcubootImage({ version: v(1, 2, 3, 4), body: body(500) });
  const tlvStart = 0x200 + 500;

  it('an empty file and a file shorter than the 32-byte header: image-too-short', () => {
    expect(expectRefused(new Uint8Array(), 'image-too-short')).toMatch(/0 bytes/);
    expectRefused(good.subarray(0, 31), 'image-too-short');
  });

  it.each([
    ['an ELF file', [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]],
    ['a zip archive', [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00]],
    ['an Intel HEX file', [...':10000000'].map((char) => char.charCodeAt(0))],
    ['erased flash', new Array<number>(8).fill(0xff)],
    ['the legacy magic 0x96f3b83c', [0x3c, 0xb8, 0xf3, 0x96]],
  ])('%s: image-bad-magic, naming the bytes found', (_name, start) => {
    const file = new Uint8Array(4096);
    file.set(start);
    const found = new DataView(file.buffer).getUint32(0, true).toString(16).padStart(8, '0');
    expect(expectRefused(file, 'image-bad-magic')).toContain(`0x${found}`);
  });

  it('a header size under 32: image-bad-header', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint16(8, 16, true);
    expect(expectRefused(bad, 'image-bad-header')).toMatch(/16/);
  });

  it('a body cut short: image-too-short', () => {
    expectRefused(good.subarray(0, 0x200 + 100), 'image-too-short');
    expectRefused(good.subarray(0, 0x200), 'image-too-short');
  });

  it('a file that ends with the body (no TLV area) or a byte or three after it: image-bad-tlv', () => {
    for (const extra of [0, 1, 3]) expect(expectRefused(good.subarray(0, tlvStart + extra), 'image-bad-tlv')).toMatch(/TLV area/);
  });

  it('a garbled TLV info magic: image-bad-tlv', () => {
    const bad = good.slice();
    bad[tlvStart] = 0x08; // 0x6908: a protected area where the header announced none
    expect(expectRefused(bad, 'image-bad-tlv')).toMatch(/0x6907/);
  });

  it('a TLV area whose it_tlv_tot runs past the end of the file: image-bad-tlv', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint16(tlvStart + 2, 41, true);
    expectRefused(bad, 'image-bad-tlv');
    expectRefused(good.subarray(0, good.length - 1), 'image-bad-tlv');
  });

  it('it_tlv_tot under 4 (smaller than its own info): image-bad-tlv', () => {
    const bad = good.slice();
    new DataView(bad.buffer).setUint16(tlvStart + 2, 3, true);
    expectRefused(bad, 'image-bad-tlv');
  });

  it('a TLV entry that runs past its area, or a truncated entry header: image-bad-tlv', () => {
    const pastArea = assemble({ body: body(10), tlvs: (hash) => tlvArea(IMAGE_TLV_INFO_MAGIC, [{ type: IMAGE_TLV_SHA256, value: hash, length: 33 }]) });
    expectRefused(concatBytes(pastArea, new Uint8Array(8)), 'image-bad-tlv');
    const truncatedEntry = assemble({
      body: body(10),
      tlvs: (hash) => {
        const area = tlvArea(IMAGE_TLV_INFO_MAGIC, [{ type: IMAGE_TLV_SHA256, value: hash }]);
        const withTail = concatBytes(area, Uint8Array.of(0x01, 0x00));
        new DataView(withTail.buffer).setUint16(2, withTail.length, true);
        return withTail;
      },
    });
    expect(expectRefused(truncatedEntry, 'image-bad-tlv')).toMatch(/truncated/);
  });

  it('a SHA-256 TLV that is not 32 bytes long: image-bad-tlv', () => {
    const image = assemble({ body: body(10), tlvs: (hash) => tlvArea(IMAGE_TLV_INFO_MAGIC, [{ type: IMAGE_TLV_SHA256, value: concatBytes(hash, new Uint8Array(16)) }]) });
    expect(expectRefused(image, 'image-bad-tlv')).toMatch(/48 bytes/);
  });

  it('no hash TLV (only a key hash), or two of them: image-no-hash', () => {
    const noHash = assemble({ body: body(10), tlvs: () => tlvArea(IMAGE_TLV_INFO_MAGIC, [{ type: IMAGE_TLV_KEYHASH, value: new Uint8Array(32) }]) });
    expect(expectRefused(noHash, 'image-no-hash')).toMatch(/no SHA-256/);
    const empty = assemble({ body: body(10), tlvs: () => tlvArea(IMAGE_TLV_INFO_MAGIC, []) });
    expectRefused(empty, 'image-no-hash');
    const twice = assemble({ body: body(10), tlvs: (hash) => tlvArea(IMAGE_TLV_INFO_MAGIC, [{ type: IMAGE_TLV_SHA256, value: hash }, { type: IMAGE_TLV_SHA256, value: hash }]) });
    expect(expectRefused(twice, 'image-no-hash')).toMatch(/more than one/);
  });

  it('a flipped body byte, header byte or hash byte: image-hash-mismatch', () => {
    for (const offset of [0x200, 0x200 + 499, 20, 31, tlvStart + 8, tlvStart + 39]) {
      const bad = good.slice();
      flip(bad, offset);
      expect(expectRefused(bad, 'image-hash-mismatch')).toMatch(/damaged/);
    }
  });
});

describe('a protected TLV area (0x6908, signed images)', () => {
  const protectedTlvs = tlvArea(IMAGE_TLV_PROT_INFO_MAGIC, [{ type: IMAGE_TLV_SEC_CNT, value: Uint8Array.of(7, 0, 0, 0) }]);
  const image = assemble({
    body: body(200),
    protectedTlvs,
    tlvs: (hash) => tlvArea(IMAGE_TLV_INFO_MAGIC, [{ type: IMAGE_TLV_SHA256, value: hash }, { type: IMAGE_TLV_KEYHASH, value: new Uint8Array(32).fill(0xaa) }]),
  });
  const protectedStart = 0x200 + 200;

  it('is parsed, listed as protected, and covered by the hash', () => {
    const parsed = parseMcubootImage(image);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.protectedTlvSize).toBe(protectedTlvs.length);
    expect(parsed.value.tlvs).toEqual([
      { type: IMAGE_TLV_SEC_CNT, length: 4, protected: true },
      { type: IMAGE_TLV_SHA256, length: 32, protected: false },
      { type: IMAGE_TLV_KEYHASH, length: 32, protected: false },
    ]);
    expect(parsed.value.hashHex).toBe(nodeSha256(image.subarray(0, protectedStart + protectedTlvs.length)));
    expect(parsed.value.usedSize).toBe(image.length);
  });

  it('a flipped byte inside it breaks the hash', () => {
    const bad = image.slice();
    flip(bad, protectedStart + 8);
    expectRefused(bad, 'image-hash-mismatch');
  });

  it('an ih_protect_tlv_size that disagrees with the area, or a wrong area magic: image-bad-tlv', () => {
    const wrongSize = image.slice();
    new DataView(wrongSize.buffer).setUint16(10, protectedTlvs.length + 4, true);
    expect(expectRefused(wrongSize, 'image-bad-tlv')).toMatch(/protected TLV area/);
    const wrongMagic = image.slice();
    wrongMagic[protectedStart] = 0x07;
    expect(expectRefused(wrongMagic, 'image-bad-tlv')).toMatch(/0x6908/);
  });

  it('a SHA-256 TLV only in the protected area does not count: image-no-hash', () => {
    const hashInProtected = assemble({
      body: body(20),
      protectedTlvs: tlvArea(IMAGE_TLV_PROT_INFO_MAGIC, [{ type: IMAGE_TLV_SHA256, value: new Uint8Array(32) }]),
      tlvs: () => tlvArea(IMAGE_TLV_INFO_MAGIC, []),
    });
    expectRefused(hashInProtected, 'image-no-hash');
  });
});

describe('parseMcubootImage on hostile input (fast-check)', () => {
  /** Never throws; a refusal is one of the typed codes with a message; an acceptance has a hash that checks out. */
  function checkTotal(bytes: Uint8Array): void {
    let result: ReturnType<typeof parseMcubootImage>;
    try {
      result = parseMcubootImage(bytes);
    } catch (caught) {
      throw new Error(`parseMcubootImage threw on ${bytes.length} bytes (${bytesToHex(bytes.subarray(0, 48))}…): ${String(caught)}`);
    }
    if (!result.ok) {
      expect(ERROR_CODES).toContain(result.error.code);
      expect(result.error.message.length).toBeGreaterThan(0);
      return;
    }
    const { headerSize, imageSize, protectedTlvSize, hashHex, usedSize } = result.value;
    expect(nodeSha256(bytes.subarray(0, headerSize + imageSize + protectedTlvSize))).toBe(hashHex);
    expect(usedSize).toBeLessThanOrEqual(bytes.length);
  }

  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => checkTotal(bytes)), { numRuns: 2000 });
  });

  it('never throws on bytes behind a valid magic with arbitrary header fields', () => {
    const header = fc.record({
      headerSize: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constant(0x200), fc.integer({ min: 0, max: 0xffff })),
      protectedTlvSize: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 0xffff })),
      imageSize: fc.oneof(fc.integer({ min: 0, max: 256 }), fc.constant(0xffff_ffff), fc.nat()),
      rest: fc.uint8Array({ maxLength: 1024 }),
    });
    fc.assert(
      fc.property(header, ({ headerSize, protectedTlvSize, imageSize, rest }) => {
        const bytes = new Uint8Array(32 + rest.length);
        const view = new DataView(bytes.buffer);
        view.setUint32(0, IMAGE_MAGIC, true);
        view.setUint16(8, headerSize, true);
        view.setUint16(10, protectedTlvSize, true);
        view.setUint32(12, imageSize >>> 0, true);
        bytes.set(rest, 32);
        checkTotal(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on mutations of valid images (flips, cuts, insertions, overwritten fields)', () => {
    const bases = [
      buildMcubootImage({ version: v(1, 2, 3, 4), body: body(64), headerSize: 32 }),
      buildMcubootImage({ version: v(2, 0, 0, 0), body: body(300, 7) }),
      assemble({ body: body(40), headerSize: 64, protectedTlvs: tlvArea(IMAGE_TLV_PROT_INFO_MAGIC, [{ type: IMAGE_TLV_SEC_CNT, value: Uint8Array.of(1, 0, 0, 0) }]) }),
    ];
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('u16' as const), at: fc.constantFrom(8, 10), value: fc.integer({ min: 0, max: 0xffff }) }),
      fc.record({ kind: fc.constant('tlv16' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...bases.keys()), fc.array(mutation, { minLength: 1, maxLength: 4 }), (baseIndex, mutations) => {
        let bytes: Uint8Array = bases[baseIndex]!.slice();
        for (const m of mutations) {
          const at = 'at' in m ? m.at % Math.max(1, bytes.length) : 0;
          if (m.kind === 'flip' && bytes.length > 0) flip(bytes, at, m.xor);
          if (m.kind === 'cut') bytes = bytes.slice(0, at);
          if (m.kind === 'insert') bytes = concatBytes(bytes.subarray(0, at), m.bytes, bytes.subarray(at));
          const field = m.kind === 'u16' ? m.at : at;
          if ((m.kind === 'u16' || m.kind === 'tlv16') && field + 2 <= bytes.length) new DataView(bytes.buffer).setUint16(field, m.value, true);
        }
        checkTotal(bytes);
      }),
      { numRuns: 3000 },
    );
  });
});
