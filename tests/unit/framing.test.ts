/**
 * MCUmgr console framing: the CRC catalogue's check value and the bytes Zephyr really sent
 * (captured from the zephyr-smp peer, Zephyr's own smp_svr) first, then line splitting, then properties: any chunking
 * with console noise decodes, and any corruption is a typed error after which the next frame decodes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crc16Xmodem } from '../../src/lib/smp/framing/crc16';
import {
  encodeSerialFrames,
  SerialFrameDecoder,
  SERIAL_MAX_LINE_LENGTH,
  type FramingError,
  type FramingErrorCode,
} from '../../src/lib/smp/framing/serial';
import { type Result } from '../../src/lib/smp/result';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../../src/lib/util/bytes';
import { craftFrame, frameBody, CONSOLE_NOISE } from '../fuzz/generators';

const ECHO_REQUEST = hexToBytes('02 00 00 06 00 00 42 00 a1 61 64 62 61 61'); // {"d":"aa"}, v1, seq 0x42
const FRAMING_CODES: readonly FramingErrorCode[] = ['frame-crc', 'frame-length', 'frame-base64', 'frame-incomplete', 'frame-too-long'];

const text = (s: string) => utf8.encode(s);
const lines = (bytes: Uint8Array[]) => concatBytes(...bytes);

/** Cuts `bytes` at `sizes` (cycled), as a serial port might deliver them. */
function chunk(bytes: Uint8Array, sizes: readonly number[] = [bytes.length || 1]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]!);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Feeds every chunk to `pushResults` and returns every result in order. */
function decodeAll(decoder: SerialFrameDecoder, bytes: Uint8Array, sizes?: readonly number[]): Result<Uint8Array, FramingError>[] {
  return chunk(bytes, sizes).flatMap((part) => decoder.pushResults(part));
}

const packetsOf = (results: Result<Uint8Array, FramingError>[]) => results.flatMap((r) => (r.ok ? [bytesToHex(r.value)] : []));
const codesOf = (results: Result<Uint8Array, FramingError>[]) => results.flatMap((r) => (r.ok ? [] : [r.error.code]));

describe('crc16Xmodem', () => {
  it('gives the catalogue check value 0x31c3 for "123456789"', () => {
    expect(crc16Xmodem(text('123456789'))).toBe(0x31c3);
  });

  it('is 0 for no bytes and continues from an initial value', () => {
    expect(crc16Xmodem(new Uint8Array(0))).toBe(0);
    const whole = crc16Xmodem(text('123456789'));
    expect(crc16Xmodem(text('56789'), crc16Xmodem(text('1234')))).toBe(whole);
  });
});

describe('published vectors (Zephyr smp_svr over its pty)', () => {
  it('frames the OS echo request as exactly one line: 06 09 "ABACAAAGAABCAKFhZGJhYUvx" 0a', () => {
    const frames = encodeSerialFrames(ECHO_REQUEST);
    expect(frames).toHaveLength(1);
    expect(bytesToHex(frames[0]!)).toBe('0609' + bytesToHex(text('ABACAAAGAABCAKFhZGJhYUvx')) + '0a');
    expect(bytesToHex(frames[0]!)).toBe('0609414241434141414741414243414b46685a474a68595576780a');
  });

  it('frames the v2 echo request byte for byte as the capture shows', () => {
    const packet = hexToBytes('0a 00 00 0c 00 00 01 00 a1 61 64 68' + bytesToHex(text('hello v2')));
    expect(bytesToHex(lines(encodeSerialFrames(packet)))).toBe('06094142594b4141414d41414142414b46685a47686f5a577873627942324d6f2b4c0a');
  });

  it('decodes Zephyr’s v1 echo response to header 03 00 0007 0000 42 00 and {"r":"aa"} as an indefinite map', () => {
    const wire = hexToBytes('06 09 414245444141414841414243414c3968636d4a68596639332b673d3d0a');
    expect(utf8.decode(wire.subarray(2))).toBe('ABEDAAAHAABCAL9hcmJhYf93+g==\n');
    const packets = new SerialFrameDecoder().push(wire);
    expect(packets.map(bytesToHex)).toEqual(['0300000700004200' + 'bf6172626161ff']);
  });

  it('decodes Zephyr’s v2 echo response to header 0b 00 000d 0000 01 00 and {"r":"hello v2"}', () => {
    const wire = hexToBytes('06094142634c4141414e41414142414c3968636d686f5a577873627942324d762f6d48413d3d0a');
    const packets = new SerialFrameDecoder().push(wire);
    expect(packets.map(bytesToHex)).toEqual(['0b00000d00000100' + 'bf6172' + '68' + bytesToHex(text('hello v2')) + 'ff']);
  });

  it('finds a frame glued to the boot prompt, which has no newline after it', () => {
    const console: Uint8Array[] = [];
    const decoder = new SerialFrameDecoder({ onConsoleText: (line) => console.push(line) });
    const wire = concatBytes(text('\r\n\r\nuart:~$ '), hexToBytes('06 09'), text('ABEDAAAHAABCAL9hcmJhYf93+g==\n'));
    expect(decodeAll(decoder, wire, [1]).map((r) => r.ok)).toEqual([true]);
    expect(console.map(utf8.decode)).toEqual(['\r', '\r', 'uart:~$ ']);
  });
});

describe('encodeSerialFrames', () => {
  it('splits a long packet into 127-byte lines: 06 09 first, 04 14 after, each ending in 0a', () => {
    const packet = Uint8Array.from({ length: 1096 }, (_, i) => (i * 7) & 0xff);
    const frames = encodeSerialFrames(packet);
    expect(frames.length).toBeGreaterThan(8);
    frames.forEach((line, i) => {
      expect(line.length).toBeLessThanOrEqual(SERIAL_MAX_LINE_LENGTH);
      expect(bytesToHex(line.subarray(0, 2))).toBe(i === 0 ? '0609' : '0414');
      expect(line[line.length - 1]).toBe(0x0a);
    });
    expect(frames.slice(0, -1).every((line) => line.length === SERIAL_MAX_LINE_LENGTH)).toBe(true);
    expect(new SerialFrameDecoder().push(lines(frames)).map(bytesToHex)).toEqual([bytesToHex(packet)]);
  });

  it('matches an independent implementation of the framing (craftFrame) for any packet and line length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.integer({ min: 7, max: 400 }), (packet, maxLineLength) => {
        const frames = encodeSerialFrames(packet, { maxLineLength });
        expect(frames.map(bytesToHex)).toEqual(craftFrame(packet, { maxLineLength }).map(bytesToHex));
        for (const line of frames) expect(line.length).toBeLessThanOrEqual(maxLineLength);
      }),
    );
  });

  it('respects maxLineLength and refuses one with no room for data', () => {
    const frames = encodeSerialFrames(new Uint8Array(100), { maxLineLength: 40 });
    expect(frames.every((line) => line.length <= 40)).toBe(true);
    expect(encodeSerialFrames(new Uint8Array(3), { maxLineLength: 7 }).every((line) => line.length === 7)).toBe(true);
    expect(() => encodeSerialFrames(new Uint8Array(3), { maxLineLength: 6 })).toThrow(RangeError);
  });

  it('refuses a packet whose length does not fit the 16-bit length field', () => {
    expect(encodeSerialFrames(new Uint8Array(0xfffd))).not.toHaveLength(0);
    expect(() => encodeSerialFrames(new Uint8Array(0xfffe))).toThrow(RangeError);
  });
});

describe('SerialFrameDecoder', () => {
  it('decodes a whole frame sent as one unsplit line, as some bootloaders do', () => {
    const packet = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
    const [line, ...rest] = encodeSerialFrames(packet, { maxLineLength: 10_000 });
    expect(rest).toHaveLength(0);
    expect(line!.length).toBeGreaterThan(4000);
    expect(new SerialFrameDecoder().push(line!).map(bytesToHex)).toEqual([bytesToHex(packet)]);
  });

  it('decodes an empty packet and a CR before the newline', () => {
    const frame = lines(encodeSerialFrames(new Uint8Array(0)));
    const withCr = concatBytes(frame.subarray(0, -1), text('\r\n'));
    expect(new SerialFrameDecoder().push(concatBytes(frame, withCr)).map((p) => p.length)).toEqual([0, 0]);
  });

  it('reports console lines through onConsoleText and nothing else for them', () => {
    const seen: string[] = [];
    const errors: FramingError[] = [];
    const decoder = new SerialFrameDecoder({ onConsoleText: (l) => seen.push(utf8.decode(l)), onError: (e) => errors.push(e) });
    const packets = decoder.push(concatBytes(text('[00:00:01.000,000] <inf> x: y\r\nhello\n'), ...encodeSerialFrames(ECHO_REQUEST)));
    expect(packets).toHaveLength(1);
    expect(seen).toEqual(['[00:00:01.000,000] <inf> x: y\r', 'hello']);
    expect(errors).toEqual([]);
  });

  it('turns an orphan continuation line into frame-incomplete, not an exception', () => {
    const results = decodeAll(new SerialFrameDecoder(), concatBytes(hexToBytes('04 14'), text('QUJD\n'), ...encodeSerialFrames(ECHO_REQUEST)));
    expect(codesOf(results)).toEqual(['frame-incomplete']);
    expect(packetsOf(results)).toEqual([bytesToHex(ECHO_REQUEST)]);
  });

  it('drops a line over maxLineBytes as frame-too-long and decodes the next frame', () => {
    const decoder = new SerialFrameDecoder({ maxLineBytes: 200 });
    const long = encodeSerialFrames(new Uint8Array(300), { maxLineLength: 1000 });
    const results = decodeAll(decoder, concatBytes(...long, ...encodeSerialFrames(ECHO_REQUEST)), [7]);
    expect(codesOf(results)).toEqual(['frame-too-long']);
    expect(packetsOf(results)).toEqual([bytesToHex(ECHO_REQUEST)]);
    const noise = decodeAll(decoder, concatBytes(new Uint8Array(500).fill(0x41), text('\n'), ...encodeSerialFrames(ECHO_REQUEST)));
    expect(codesOf(noise)).toEqual(['frame-too-long']);
    expect(packetsOf(noise)).toHaveLength(1);
  });

  it('reports a frame cut off mid-way as frame-incomplete, then decodes the frame that interrupted it', () => {
    const long = encodeSerialFrames(new Uint8Array(500).fill(7));
    // Cut after whole lines, and cut inside a line (the next start glues onto it).
    for (const cut of [lines(long.slice(0, 2)), lines(long).subarray(0, 200), long[0]!.subarray(0, 50)]) {
      const errors: FramingError[] = [];
      const decoder = new SerialFrameDecoder({ onError: (e) => errors.push(e) });
      const packets = decoder.push(concatBytes(cut, ...encodeSerialFrames(ECHO_REQUEST)));
      expect(errors.map((e) => e.code)).toEqual(['frame-incomplete']);
      expect(packets.map(bytesToHex)).toEqual([bytesToHex(ECHO_REQUEST)]);
    }
  });

  it('returns errors from pushResults in order with the packets', () => {
    const long = encodeSerialFrames(new Uint8Array(500).fill(7));
    const stream = concatBytes(long[0]!, ...encodeSerialFrames(ECHO_REQUEST), text('\x04\x14AAAA\n'), ...encodeSerialFrames(ECHO_REQUEST));
    const results = new SerialFrameDecoder().pushResults(stream);
    expect(results.map((r) => (r.ok ? 'packet' : r.error.code))).toEqual(['frame-incomplete', 'packet', 'frame-incomplete', 'packet']);
  });

  it('turns a frame with a bad CRC, length or base64 into a typed error', () => {
    const cases: [Uint8Array[], FramingErrorCode][] = [
      [craftFrame(ECHO_REQUEST, { crc: 0x1234 }), 'frame-crc'],
      [craftFrame(ECHO_REQUEST, { length: 3 }), 'frame-length'],
      [craftFrame(ECHO_REQUEST, { length: 0 }), 'frame-length'],
      [craftFrame(ECHO_REQUEST, { length: 200 }), 'frame-incomplete'],
      [[text('\x06\x09AB!D\n')], 'frame-base64'],
      [[concatBytes(text('\x06\x09'), text('ABACAAAGAABCAKFhZGJhYUvx'), text('AA\n'))], 'frame-length'],
    ];
    for (const [frame, code] of cases) {
      const results = decodeAll(new SerialFrameDecoder(), concatBytes(...frame, ...encodeSerialFrames(ECHO_REQUEST)));
      expect(codesOf(results), code).toEqual([code]);
      expect(packetsOf(results)).toEqual([bytesToHex(ECHO_REQUEST)]);
    }
  });
});

// ---- properties --------------------------------------------------------------------------

const noiseLine = fc.oneof(
  fc.constantFrom(...CONSOLE_NOISE),
  fc.string({ unit: 'grapheme-ascii', maxLength: 100 }).map((s) => s + '\r\n'),
);
/** Noise before a frame; `glued` noise has no newline, like the `uart:~$ ` prompt. */
const noiseBefore = fc.array(fc.oneof(noiseLine, fc.constantFrom('uart:~$ ', '\r\n\r\nuart:~$ ')), { maxLength: 3 });
const packetArb = fc.oneof(fc.uint8Array({ maxLength: 3000, size: 'max' }), fc.uint8Array({ maxLength: 40 }));
const chunkSizes = fc.array(fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 30 });
const lineLength = fc.oneof(fc.constant(SERIAL_MAX_LINE_LENGTH), fc.integer({ min: 7, max: 300 }), fc.constant(100_000));

function consoleStream(items: { noise: string[]; packet: Uint8Array }[], maxLineLength: number): Uint8Array {
  return concatBytes(...items.flatMap(({ noise, packet }) => [...noise.map(text), ...encodeSerialFrames(packet, { maxLineLength })]));
}

describe('properties', () => {
  it('any packet survives any chunking of its frames', () => {
    fc.assert(
      fc.property(packetArb, lineLength, chunkSizes, (packet, maxLineLength, sizes) => {
        const results = decodeAll(new SerialFrameDecoder(), lines(encodeSerialFrames(packet, { maxLineLength })), sizes);
        expect(codesOf(results)).toEqual([]);
        expect(packetsOf(results)).toEqual([bytesToHex(packet)]);
      }),
    );
  });

  it('any sequence of packets with console noise between frames survives any chunking', () => {
    const item = fc.record({ noise: noiseBefore, packet: packetArb });
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 5 }), lineLength, chunkSizes, (items, maxLineLength, sizes) => {
        const console: Uint8Array[] = [];
        const decoder = new SerialFrameDecoder({ onConsoleText: (line) => console.push(line) });
        const results = decodeAll(decoder, consoleStream(items, maxLineLength), sizes);
        expect(codesOf(results)).toEqual([]);
        expect(packetsOf(results)).toEqual(items.map((i) => bytesToHex(i.packet)));
        for (const line of console) expect(line.includes(0x06) || line.includes(0x04)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  /**
   * After any corruption: typed errors only, and the next good frame decodes. The only packets allowed
   * before it are the original, or a prefix of it when a shortened length lands on bytes that happen to
   * be a valid CRC of that prefix (certain for all-zero data: CRC-16/XMODEM of zeros is 0).
   */
  function expectResync(results: Result<Uint8Array, FramingError>[], original: Uint8Array, expected: readonly FramingErrorCode[] = FRAMING_CODES) {
    const last = results[results.length - 1];
    expect(last?.ok && bytesToHex(last.value)).toBe(bytesToHex(ECHO_REQUEST));
    const before = results.slice(0, -1);
    for (const code of codesOf(before)) expect(expected).toContain(code);
    for (const packet of packetsOf(before)) expect(bytesToHex(original).startsWith(packet)).toBe(true);
    expect(before.length).toBeGreaterThan(0);
  }

  /** Whether a frame whose length field says `length` would end on a CRC that matches (see above). */
  function shortLengthHasValidCrc(packet: Uint8Array, length: number): boolean {
    const body = frameBody(packet);
    if (length < 2 || length + 2 > body.length) return false;
    return crc16Xmodem(body.subarray(2, length)) === ((body[length]! << 8) | body[length + 1]!);
  }

  it('flipping any base64 character gives a typed error (or, for unused padding bits, the same packet), then resyncs', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=!~ -';
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600, size: 'max' }),
        lineLength,
        fc.nat(),
        fc.constantFrom(...alphabet),
        chunkSizes,
        (packet, maxLineLength, where, replacement, sizes) => {
          const frame = encodeSerialFrames(packet, { maxLineLength }).map((line) => line.slice());
          const positions = frame.flatMap((line, l) => Array.from({ length: line.length - 3 }, (_, i) => [l, i + 2] as const));
          const [l, i] = positions[where % positions.length]!;
          fc.pre(frame[l]![i] !== replacement.charCodeAt(0));
          frame[l]![i] = replacement.charCodeAt(0);
          const results = decodeAll(new SerialFrameDecoder(), concatBytes(...frame, ...encodeSerialFrames(ECHO_REQUEST)), sizes);
          expectResync(results, packet);
        },
      ),
    );
  });

  it('a wrong CRC is always frame-crc', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600, size: 'max' }), fc.integer({ min: 1, max: 0xffff }), lineLength, (packet, delta, maxLineLength) => {
        const frame = craftFrame(packet, { crc: crc16Xmodem(packet) ^ delta, maxLineLength });
        const results = decodeAll(new SerialFrameDecoder(), concatBytes(...frame, ...encodeSerialFrames(ECHO_REQUEST)));
        expect(codesOf(results)).toEqual(['frame-crc']);
        expectResync(results, packet, ['frame-crc']);
      }),
    );
  });

  it('a wrong length is frame-length or frame-crc (too short) or frame-incomplete (too long), never a packet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600, size: 'max' }), fc.oneof(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 0, max: 0xffff })), lineLength, chunkSizes, (packet, length, maxLineLength, sizes) => {
        fc.pre(length !== packet.length + 2 && !shortLengthHasValidCrc(packet, length));
        const frame = craftFrame(packet, { length, maxLineLength });
        const results = decodeAll(new SerialFrameDecoder(), concatBytes(...frame, ...encodeSerialFrames(ECHO_REQUEST)), sizes);
        // Too short is caught on the line where the data overruns it (or, if it ends exactly on a line,
        // by the CRC); the frame's later lines are then orphans. Too long waits for data until the next frame.
        const [first, ...rest] = codesOf(results);
        expect(length < packet.length + 2 ? ['frame-length', 'frame-crc'] : ['frame-incomplete']).toContain(first);
        for (const code of rest) expect(code).toBe('frame-incomplete');
        expectResync(results, packet, ['frame-length', 'frame-crc', 'frame-incomplete']);
      }),
    );
  });

  it('a frame cut anywhere (mid-line or between lines), then a new frame, gives frame-incomplete and the new packet', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 1000, size: 'max' }), fc.nat(), chunkSizes, (packet, where, sizes) => {
        const whole = lines(encodeSerialFrames(packet));
        const cut = whole.subarray(0, 2 + (where % (whole.length - 2)));
        const errors: FramingError[] = [];
        const decoder = new SerialFrameDecoder({ onError: (e) => errors.push(e) });
        const packets = chunk(concatBytes(cut, ...encodeSerialFrames(ECHO_REQUEST)), sizes).flatMap((part) => decoder.push(part));
        expect(errors.map((e) => e.code)).toEqual(['frame-incomplete']);
        expect(packets.map(bytesToHex)).toEqual([bytesToHex(ECHO_REQUEST)]);
      }),
    );
  });

  it('never throws on arbitrary bytes, and a newline plus a good frame always resyncs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), chunkSizes, (junk, sizes) => {
        const decoder = new SerialFrameDecoder({ maxLineBytes: 1024 });
        const results = decodeAll(decoder, concatBytes(junk, text('\n'), ...encodeSerialFrames(ECHO_REQUEST)), sizes);
        for (const code of codesOf(results)) expect(FRAMING_CODES).toContain(code);
        const last = results[results.length - 1];
        expect(last?.ok && bytesToHex(last.value)).toBe(bytesToHex(ECHO_REQUEST));
      }),
    );
  });
});
