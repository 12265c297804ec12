/**
 * SMP header: the published echo vector first, then round-trips over every field's range,
 * then the typed decode errors and the RangeErrors encodeHeader throws for our own bugs.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeHeader, encodeHeader, SMP_HEADER_SIZE, type SmpHeader } from '../../src/lib/smp/header';
import { MGMT_OP, SMP_VERSION, type MgmtOp, type SmpVersion } from '../../src/lib/smp/ids';
import { bytesToHex, hexToBytes } from '../../src/lib/util/bytes';

const header = fc.record({
  version: fc.constantFrom<SmpVersion>(SMP_VERSION.V1, SMP_VERSION.V2),
  op: fc.constantFrom<MgmtOp>(MGMT_OP.READ, MGMT_OP.READ_RSP, MGMT_OP.WRITE, MGMT_OP.WRITE_RSP),
  flags: fc.integer({ min: 0, max: 0xff }),
  length: fc.integer({ min: 0, max: 0xffff }),
  group: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.integer({ min: 0, max: 0xff }),
  command: fc.integer({ min: 0, max: 0xff }),
});

const echo: SmpHeader = { version: 0, op: 2, flags: 0, length: 6, group: 0, seq: 0x42, command: 0 };

describe('published vectors', () => {
  it('encodes the OS echo request header from the Zephyr capture', () => {
    expect(bytesToHex(encodeHeader(echo))).toBe('0200000600004200');
  });

  it('decodes the OS echo request header', () => {
    expect(decodeHeader(hexToBytes('02 00 00 06 00 00 42 00'))).toEqual({ ok: true, value: echo });
  });

  it('decodes Zephyr’s v1 and v2 echo responses', () => {
    expect(decodeHeader(hexToBytes('03 00 00 07 00 00 42 00'))).toEqual({
      ok: true,
      value: { version: 0, op: 3, flags: 0, length: 7, group: 0, seq: 0x42, command: 0 },
    });
    expect(decodeHeader(hexToBytes('0b 00 00 0d 00 00 01 00'))).toEqual({
      ok: true,
      value: { version: 1, op: 3, flags: 0, length: 13, group: 0, seq: 1, command: 0 },
    });
  });

  it('puts v2 in bits 4..3 of byte 0: 0x0a for a write, 0x0b for its response', () => {
    expect(encodeHeader({ ...echo, version: 1 })[0]).toBe(0x0a);
    expect(encodeHeader({ ...echo, version: 1, op: 3 })[0]).toBe(0x0b);
    expect(encodeHeader({ ...echo, version: 1, op: 1 })[0]).toBe(0x09); // MCUmgr params response
  });

  it('uses big-endian length and group', () => {
    const bytes = encodeHeader({ ...echo, length: 0x1234, group: 0xabcd });
    expect(bytesToHex(bytes.subarray(2, 6))).toBe('1234abcd');
  });
});

describe('round-trips', () => {
  it('decode(encode(h)) === h for every field in range', () => {
    fc.assert(
      fc.property(header, (h) => {
        const bytes = encodeHeader(h);
        expect(bytes.length).toBe(SMP_HEADER_SIZE);
        expect(decodeHeader(bytes)).toEqual({ ok: true, value: h });
      }),
    );
  });

  it('encode(decode(b)) === b for any 8 bytes with a valid op and version and zero reserved bits', () => {
    const bytes = fc
      .tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 7, maxLength: 7 }))
      .map(([version, op, rest]) => Uint8Array.of((version << 3) | op, ...rest));
    fc.assert(
      fc.property(bytes, (b) => {
        const decoded = decodeHeader(b);
        expect(decoded.ok).toBe(true);
        if (decoded.ok) expect(bytesToHex(encodeHeader(decoded.value))).toBe(bytesToHex(b));
      }),
    );
  });

  it('reads only the first 8 bytes of a longer packet', () => {
    const packet = hexToBytes('0200000600004200a16164626161');
    expect(decodeHeader(packet)).toEqual({ ok: true, value: echo });
  });
});

describe('decode errors are values', () => {
  it('short input → header-short', () => {
    for (let n = 0; n < SMP_HEADER_SIZE; n++) {
      const result = decodeHeader(new Uint8Array(n));
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe('header-short');
        expect(result.error.message).toContain(String(n));
      }
    }
  });

  it('op 4..7 → header-op', () => {
    for (let op = 4; op <= 7; op++) {
      const result = decodeHeader(Uint8Array.of(op, 0, 0, 0, 0, 0, 0, 0));
      expect(result).toMatchObject({ ok: false, error: { code: 'header-op' } });
    }
  });

  it('version 2 or 3 → header-version', () => {
    for (const version of [2, 3]) {
      const result = decodeHeader(Uint8Array.of(version << 3, 0, 0, 0, 0, 0, 0, 0));
      expect(result).toMatchObject({ ok: false, error: { code: 'header-version' } });
    }
  });

  it('never throws on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (b) => {
        const result = decodeHeader(b);
        if (!result.ok) expect(['header-short', 'header-op', 'header-version']).toContain(result.error.code);
      }),
    );
  });
});

describe('encodeHeader refuses out-of-range fields', () => {
  const cases: [keyof SmpHeader, number][] = [
    ['flags', 0x100],
    ['length', 0x10000],
    ['group', 0x10000],
    ['seq', 256],
    ['seq', -1],
    ['command', 0x100],
    ['version', 4],
    ['op', 8],
    ['length', 1.5],
    ['group', Number.NaN],
  ];
  for (const [field, value] of cases) {
    it(`${field} = ${value} → RangeError naming ${field}`, () => {
      const bad = { ...echo, [field]: value } as SmpHeader;
      expect(() => encodeHeader(bad)).toThrow(RangeError);
      expect(() => encodeHeader(bad)).toThrow(field);
    });
  }
});
