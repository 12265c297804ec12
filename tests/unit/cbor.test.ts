/**
 * CBOR for SMP payloads: RFC 8949 Appendix A first (cborg ships the cbor/test-vectors copy of it;
 * a built-in subset runs when it is absent), then the zcbor shapes Zephyr emits, then every typed
 * refusal, then `readShape`'s messages.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeCbor, decodeCborMap, encodeCbor, isCborMap, type CborErrorCode, type CborValue } from '../../src/lib/smp/cbor';
import { readShape } from '../../src/lib/smp/schema';
import { hexToBytes } from '../../src/lib/util/bytes';

interface Vector {
  hex: string;
  decoded?: unknown;
  diagnostic?: unknown;
  error?: RegExp;
  noTagDecodeError?: RegExp;
}

/** A subset of RFC 8949 Appendix A, used when cborg's copy of the vectors is not installed. */
const BUILT_IN: Vector[] = [
  { hex: '00', decoded: 0 },
  { hex: '17', decoded: 23 },
  { hex: '1818', decoded: 24 },
  { hex: '1903e8', decoded: 1000 },
  { hex: '1a000f4240', decoded: 1000000 },
  { hex: '1b000000e8d4a51000', decoded: 1000000000000 },
  { hex: '1bffffffffffffffff', decoded: 18446744073709551615n },
  { hex: '3bffffffffffffffff', decoded: -18446744073709551616n },
  { hex: '20', decoded: -1 },
  { hex: '3903e7', decoded: -1000 },
  { hex: 'f93e00', decoded: 1.5 },
  { hex: 'fb3ff199999999999a', decoded: 1.1 },
  { hex: 'f4', decoded: false },
  { hex: 'f6', decoded: null },
  { hex: 'f7', diagnostic: undefined },
  { hex: '4401020304', diagnostic: "h'01020304'" },
  { hex: '6449455446', decoded: 'IETF' },
  { hex: '63e6b0b4', decoded: '水' },
  { hex: '8301820203820405', decoded: [1, [2, 3], [4, 5]] },
  { hex: 'a26161016162820203', decoded: { a: 1, b: [2, 3] } },
  { hex: 'a201020304', diagnostic: '{1: 2, 3: 4}', error: /non-string keys/ },
  { hex: 'c11a514b67b0', diagnostic: '1(1363896240)' },
  { hex: '7f657374726561646d696e67ff', decoded: 'streaming', error: /indefinite length/ },
  { hex: 'bf61610161629f0203ffff', decoded: { a: 1, b: [2, 3] } },
  { hex: 'bf6346756ef563416d7421ff', decoded: { Fun: true, Amt: -2 } },
];

/** cborg's copy of github.com/cbor/test-vectors (Appendix A), if installed with the package. */
async function loadCborgVectors(): Promise<Vector[] | null> {
  try {
    const url = new URL('../../node_modules/cborg/test/appendix_a.js', import.meta.url);
    if (!existsSync(fileURLToPath(url))) return null;
    const module = (await import(/* @vite-ignore */ url.href)) as { fixtures?: Vector[] };
    return Array.isArray(module.fixtures) && module.fixtures.length > 0 ? module.fixtures : null;
  } catch {
    return null;
  }
}

const cborgVectors = await loadCborgVectors();
const SOURCES: [string, Vector[]][] = [['built-in subset', BUILT_IN], ...(cborgVectors ? [['cborg/test/appendix_a.js', cborgVectors] as [string, Vector[]]] : [])];

/** The value a vector stands for, if SMP's CBOR profile can represent it (no tags, undefined, simple values, non-string keys). */
function representable(vector: Vector): { value: unknown } | null {
  if (vector.error || vector.noTagDecodeError) return null;
  if (vector.decoded !== undefined) return { value: vector.decoded };
  const diagnostic = vector.diagnostic;
  if (typeof diagnostic === 'number') return { value: diagnostic }; // NaN, ±Infinity
  if (typeof diagnostic === 'string' && /^h'[0-9a-f]*'$/.test(diagnostic)) return { value: hexToBytes(diagnostic.slice(2, -1)) };
  return null;
}

describe.each(SOURCES)('RFC 8949 Appendix A (%s)', (_source, vectors) => {
  const usable = vectors.map((vector) => ({ vector, expected: representable(vector) }));

  it('has enough vectors of both kinds to mean something', () => {
    expect(usable.filter((u) => u.expected).length).toBeGreaterThanOrEqual(15);
    expect(usable.filter((u) => !u.expected).length).toBeGreaterThanOrEqual(3);
  });

  for (const { vector, expected } of usable) {
    if (expected) {
      it(`decodes ${vector.hex}`, () => {
        expect(decodeCbor(hexToBytes(vector.hex))).toEqual({ ok: true, value: expected.value });
      });
    } else {
      // Tags, undefined, simple values, non-string keys, indefinite strings: outside SMP's profile.
      it(`refuses ${vector.hex} as cbor-malformed`, () => {
        expect(decodeCbor(hexToBytes(vector.hex))).toMatchObject({ ok: false, error: { code: 'cbor-malformed' } });
      });
    }
  }
});

describe('decodeCbor / decodeCborMap on what Zephyr sends', () => {
  it('decodes zcbor’s indefinite-length maps: bf 61 72 62 61 61 ff = {"r":"aa"}', () => {
    expect(decodeCborMap(hexToBytes('bf 61 72 62 61 61 ff'))).toEqual({ ok: true, value: { r: 'aa' } });
  });

  it('decodes nested indefinite maps and arrays (image state)', () => {
    // {"images": [_ {"slot": 1, "bootable": true} ], "splitStatus": 0}, all indefinite, as zcbor writes it.
    const bytes = hexToBytes('bf 66 696d61676573 9f bf 64 736c6f74 01 68 626f6f7461626c65 f5 ff ff 6b 73706c6974537461747573 00 ff');
    expect(decodeCborMap(bytes)).toEqual({ ok: true, value: { images: [{ slot: 1, bootable: true }], splitStatus: 0 } });
  });

  it('decodes an empty indefinite map and the v2 error form', () => {
    expect(decodeCborMap(hexToBytes('bf ff'))).toEqual({ ok: true, value: {} });
    const v2 = hexToBytes('bf 63 657272 bf 65 67726f7570 01 62 7263 09 ff ff');
    expect(decodeCborMap(v2)).toEqual({ ok: true, value: { err: { group: 1, rc: 9 } } });
  });

  it('keeps byte strings as Uint8Array and big unsigned integers as bigint', () => {
    const result = decodeCborMap(hexToBytes('a2 64 68617368 43 010203 63 6f6666 1b ffffffffffffffff'));
    expect(result).toEqual({ ok: true, value: { hash: Uint8Array.of(1, 2, 3), off: 0xffffffffffffffffn } });
  });

  it('round-trips anything encodeCbor writes', () => {
    const value: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.uint8Array({ maxLength: 20 }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value, { maxKeys: 6 }), (map) => {
        expect(decodeCborMap(encodeCbor(map))).toEqual({ ok: true, value: map });
      }),
    );
  });
});

describe('typed refusals', () => {
  const cases: [string, string, CborErrorCode][] = [
    ['duplicate key, definite map', 'a2 61 61 01 61 61 02', 'cbor-duplicate-key'],
    ['duplicate key, indefinite map', 'bf 61 61 01 61 61 02 ff', 'cbor-duplicate-key'],
    ['duplicate key in a nested map', 'a1 61 61 bf 61 62 01 61 62 02 ff', 'cbor-duplicate-key'],
    ['a byte after the map', 'a0 00', 'cbor-trailing'],
    ['a second map', 'bf ff a0', 'cbor-trailing'],
    ['a stray break', 'a0 ff', 'cbor-trailing'],
    ['truncated definite map', 'a1 61 61', 'cbor-malformed'],
    ['truncated indefinite map (no break)', 'bf 61 72 62 61 61', 'cbor-malformed'],
    ['truncated string', 'a1 61 72 62 61', 'cbor-malformed'],
    ['length beyond the data', 'a1 61 72 5b 00 00 00 00 ff ff ff ff', 'cbor-malformed'],
    ['a break with nothing open', 'ff', 'cbor-malformed'],
    // cborg 6.1 alone returns these as {a: Symbol(BREAK)}; found by the fuzzer.
    ['a break as a map value', 'a1 61 61 ff', 'cbor-malformed'],
    ['a break as a value in an indefinite map', 'bf 61 61 ff ff', 'cbor-malformed'],
    ['a break as a value, more entries after it', 'a2 61 61 ff 61 62 01', 'cbor-malformed'],
    ['a break as a value in a nested map', 'a1 61 61 a1 61 62 ff', 'cbor-malformed'],
    ['reserved additional info', '1c', 'cbor-malformed'],
    ['undefined', 'a1 61 61 f7', 'cbor-malformed'],
    ['a tag', 'a1 61 61 c1 00', 'cbor-malformed'],
    ['an integer key', 'a1 01 02', 'cbor-malformed'],
    ['an array', '83 01 02 03', 'cbor-not-map'],
    ['a string', '62 68 69', 'cbor-not-map'],
    ['a byte string', '42 01 02', 'cbor-not-map'],
    ['null', 'f6', 'cbor-not-map'],
    ['nothing', '', 'cbor-empty'],
  ];
  for (const [what, hex, code] of cases) {
    it(`${what} → ${code}`, () => {
      const result = decodeCborMap(hexToBytes(hex));
      expect(result).toMatchObject({ ok: false, error: { code } });
      if (!result.ok) expect(result.error.message.length).toBeGreaterThan(0);
    });
  }

  it('decodeCbor accepts a top-level non-map, decodeCborMap does not', () => {
    expect(decodeCbor(hexToBytes('83 01 02 03'))).toEqual({ ok: true, value: [1, 2, 3] });
  });

  it('survives nesting deep enough to exhaust the stack', () => {
    const result = decodeCborMap(new Uint8Array(200_000).fill(0x81));
    expect(result).toMatchObject({ ok: false, error: { code: 'cbor-malformed' } });
  });

  it('keeps "__proto__" as a plain key, never as the prototype', () => {
    const result = decodeCborMap(hexToBytes('a1 69 5f5f70726f746f5f5f a1 62 7263 00'));
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(Object.getPrototypeOf(result.value)).toBe(Object.prototype);
      expect(Object.keys(result.value)).toEqual(['__proto__']);
      expect((result.value as { rc?: unknown }).rc).toBeUndefined();
    }
  });

  it('never throws, and every result is a map or a typed error', () => {
    const codes: CborErrorCode[] = ['cbor-malformed', 'cbor-duplicate-key', 'cbor-trailing', 'cbor-not-map', 'cbor-empty'];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const result = decodeCborMap(bytes);
        if (result.ok) expect(isCborMap(result.value)).toBe(true);
        else expect(codes).toContain(result.error.code);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('readShape', () => {
  const shape = { r: 'string', off: 'integer?', images: 'array', hash: 'bytes?', ok: 'boolean?', err: 'map?', any: 'any?' } as const;

  it('accepts a response with the right types and types it', () => {
    const result = readShape({ r: 'aa', off: 5, images: [], hash: Uint8Array.of(1), ok: true, err: {}, any: null }, shape, 'os/echo');
    expect(result.ok).toBe(true);
    if (result.ok) {
      const r: string = result.value.r;
      const off: number | undefined = result.value.off;
      expect([r, off]).toEqual(['aa', 5]);
    }
  });

  it('lets optional fields be missing and ignores extra fields', () => {
    expect(readShape({ r: 'aa', images: [1], extra: 'x' }, shape, 'os/echo').ok).toBe(true);
  });

  it('accepts bigint for integer fields', () => {
    expect(readShape({ r: 'a', images: [], off: 2n ** 60n }, shape, 'img/upload').ok).toBe(true);
  });

  it('names a missing required field', () => {
    const result = readShape({ images: [] }, shape, 'os/echo');
    expect(result).toEqual({ ok: false, error: { code: 'bad-response', command: 'os/echo', message: 'os/echo: the board\'s response has no "r" field' } });
  });

  it('names a field of the wrong type, required or optional, with the kind it should be', () => {
    const wrong: [Record<string, CborValue>, string][] = [
      [{ r: 5, images: [] }, '"r" in the board\'s response is not a string'],
      [{ r: 'a', images: {} }, '"images" in the board\'s response is not an array'],
      [{ r: 'a', images: [], off: 1.5 }, '"off" in the board\'s response is not an integer'],
      [{ r: 'a', images: [], off: '5' }, '"off" in the board\'s response is not an integer'],
      [{ r: 'a', images: [], hash: 'ab' }, '"hash" in the board\'s response is not a bytes'],
      [{ r: 'a', images: [], ok: 1 }, '"ok" in the board\'s response is not a boolean'],
      [{ r: 'a', images: [], err: [] }, '"err" in the board\'s response is not a map'],
      [{ r: 'a', images: [], err: Uint8Array.of(1) }, '"err" in the board\'s response is not a map'],
      [{ r: null, images: [] }, '"r" in the board\'s response is not a string'],
    ];
    for (const [value, message] of wrong) {
      const result = readShape(value, shape, 'img/state');
      expect(result).toMatchObject({ ok: false, error: { code: 'bad-response', command: 'img/state' } });
      if (!result.ok) expect(result.error.message).toBe(`img/state: ${message}`);
    }
  });
});
