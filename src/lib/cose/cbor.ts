/**
 * Strict CBOR for COSE (RFC 9052) and the telemetry payload: integer map keys (COSE header
 * labels are integers), outside bytes that must never make us throw or recurse without bound.
 *
 * Two passes. `scanCbor` walks the item heads iteratively (RFC 8949 Appendix C) and checks
 * well-formedness, size, nesting depth and item count before anything is built, so a 1 MB
 * message or 10,000 nested arrays are refused with a reason in linear time. Then cborg decodes
 * with `useMaps` (keys keep their type), duplicate keys refused, no tags, no `undefined`.
 * The one tag COSE_Sign1 uses (18) is read by `sign1.ts` from the head, not by cborg.
 */
import { decode } from 'cborg';
import { type Result, ok, err } from '../smp/result';

export type CoseCborValue = null | boolean | number | bigint | string | Uint8Array | CoseCborValue[] | CoseCborMap;
export type CoseCborMap = Map<CoseCborValue, CoseCborValue>;

export type CborLimitCode = 'cbor-empty' | 'cbor-malformed' | 'cbor-trailing' | 'cbor-too-large' | 'cbor-too-deep' | 'cbor-too-many-items' | 'cbor-duplicate-key';
export interface CborLimitError {
  code: CborLimitCode;
  message: string;
}

export interface CborLimits {
  /** Largest input, bytes. */
  maxBytes: number;
  /** Deepest nesting of arrays, maps and tags (the top item is depth 1). */
  maxDepth: number;
  /** Most data items in all (a map entry counts two). */
  maxItems: number;
}

/** Telemetry messages are small: 64 KiB, 16 levels, 8,192 items are far beyond any sensible one. */
export const DEFAULT_CBOR_LIMITS: Readonly<CborLimits> = { maxBytes: 64 * 1024, maxDepth: 16, maxItems: 8192 };

/** CBOR major types (RFC 8949 §3.1). */
const MT = { UINT: 0, NINT: 1, BSTR: 2, TSTR: 3, ARRAY: 4, MAP: 5, TAG: 6, SIMPLE: 7 } as const;
const AI_INDEFINITE = 31;
const BREAK = 0xff;

/** One open container while scanning: items still expected (-1: indefinite, until a break), and for indefinite strings the chunk type. */
interface Open {
  left: number;
  chunksOf?: number;
}

/**
 * Checks that `bytes` hold exactly one well-formed CBOR item within `limits`. Never throws.
 * @example scanCbor(hexToBytes('8181818100'), { ...DEFAULT_CBOR_LIMITS, maxDepth: 3 }) // cbor-too-deep
 */
export function scanCbor(bytes: Uint8Array, limits: CborLimits = DEFAULT_CBOR_LIMITS): Result<void, CborLimitError> {
  if (bytes.length === 0) return err({ code: 'cbor-empty', message: 'no bytes: an empty message is not CBOR' });
  if (bytes.length > limits.maxBytes) return err({ code: 'cbor-too-large', message: `${bytes.length} bytes is more than the ${limits.maxBytes} allowed` });
  const stack: Open[] = [];
  let offset = 0;
  let items = 0;
  const malformed = (why: string) => err<CborLimitError>({ code: 'cbor-malformed', message: `not well-formed CBOR at byte ${offset}: ${why}` });

  for (;;) {
    if (offset >= bytes.length) return malformed('the input ends inside an item');
    const initial = bytes[offset++]!;
    const parent = stack[stack.length - 1];
    if (initial === BREAK) {
      if (!parent || parent.left !== -1) return malformed('a break (0xff) outside an indefinite-length item');
      stack.pop();
    } else {
      if (++items > limits.maxItems) return err({ code: 'cbor-too-many-items', message: `more than ${limits.maxItems} data items` });
      const major = initial >> 5;
      const info = initial & 0x1f;
      if (parent?.chunksOf !== undefined && (major !== parent.chunksOf || info === AI_INDEFINITE)) return malformed('an indefinite-length string holds something other than definite chunks of its own type');
      let argument = 0;
      if (info < 24) argument = info;
      else if (info <= 27) {
        const size = 1 << (info - 24);
        if (offset + size > bytes.length) return malformed('the input ends inside an item head');
        // Eight-byte arguments above 2^53 cannot be a length we accept; as values they are only skipped.
        for (let i = 0; i < size; i++) argument = argument * 256 + bytes[offset + i]!;
        offset += size;
        if (major === MT.SIMPLE && info === 24 && argument < 32) return malformed('a two-byte simple value below 32');
      } else if (info !== AI_INDEFINITE) return malformed(`reserved additional information ${info}`);
      else if (major === MT.UINT || major === MT.NINT || major === MT.TAG || major === MT.SIMPLE) return malformed(`major type ${major} cannot be indefinite`);

      let opened: Open | null = null;
      if (major === MT.BSTR || major === MT.TSTR) {
        if (info === AI_INDEFINITE) opened = { left: -1, chunksOf: major };
        else {
          if (argument > bytes.length - offset) return malformed(`a string of ${argument} bytes runs past the end`);
          offset += argument;
        }
      } else if (major === MT.ARRAY || major === MT.MAP) {
        const per = major === MT.MAP ? 2 : 1;
        if (info === AI_INDEFINITE) opened = { left: -1 };
        else if (argument > 0) {
          // Every item takes at least one byte: a count beyond what is left is malformed, not a reason to allocate.
          if (argument * per > bytes.length - offset) return malformed(`a ${major === MT.MAP ? 'map' : 'array'} of ${argument} entries runs past the end`);
          opened = { left: argument * per };
        }
      } else if (major === MT.TAG) opened = { left: 1 };
      if (opened) {
        stack.push(opened);
        if (stack.length > limits.maxDepth) return err({ code: 'cbor-too-deep', message: `nested deeper than ${limits.maxDepth} levels` });
        continue;
      }
    }
    // One item is complete: count it against its container, closing containers that are now full.
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) {
        if (offset !== bytes.length) return err({ code: 'cbor-trailing', message: `${bytes.length - offset} bytes after the end of the CBOR item` });
        return ok(undefined);
      }
      if (top.left === -1) break;
      if (--top.left > 0) break;
      stack.pop();
    }
  }
}

const DECODE_OPTIONS = {
  rejectDuplicateMapKeys: true,
  allowIndefinite: true,
  allowUndefined: false,
  allowBigInt: true,
  useMaps: true,
  tags: [],
};

/**
 * Decodes one CBOR item within `limits`: maps as `Map`s with their keys' own types. Never throws.
 * @example const value = decodeCoseCbor(hexToBytes('a10126')); // ok: Map { 1 => -7 }
 */
export function decodeCoseCbor(bytes: Uint8Array, limits: CborLimits = DEFAULT_CBOR_LIMITS): Result<CoseCborValue, CborLimitError> {
  const scanned = scanCbor(bytes, limits);
  if (!scanned.ok) return scanned;
  try {
    return ok(decode(bytes, DECODE_OPTIONS) as CoseCborValue);
  } catch (caught) {
    const text = caught instanceof Error ? caught.message : String(caught);
    if (/duplicate|repeat map key/i.test(text)) return err({ code: 'cbor-duplicate-key', message: `a map has a duplicate key (${text})` });
    return err({ code: 'cbor-malformed', message: `CBOR the decoder refuses: ${text}` });
  }
}

export function isCoseMap(value: unknown): value is CoseCborMap {
  return value instanceof Map;
}

/** Length-prefixed head of a byte string (major type 2), for building Sig_structure without re-encoding. */
export function bstrHead(length: number): Uint8Array {
  return typeHead(MT.BSTR, length);
}

/** The head of a CBOR item of `major` type with `argument` (lengths, counts, small integers). */
export function typeHead(major: number, argument: number): Uint8Array {
  const top = major << 5;
  if (argument < 24) return new Uint8Array([top | argument]);
  if (argument < 0x100) return new Uint8Array([top | 24, argument]);
  if (argument < 0x10000) return new Uint8Array([top | 25, argument >> 8, argument & 0xff]);
  return new Uint8Array([top | 26, (argument >>> 24) & 0xff, (argument >> 16) & 0xff, (argument >> 8) & 0xff, argument & 0xff]);
}
