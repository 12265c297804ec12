/**
 * CBOR for SMP payloads, through cborg (strict, well-kept; see docs/adr/0001-cbor-codec.md).
 * Decoding accepts indefinite-length maps (zcbor in Zephyr emits them) and rejects duplicate keys,
 * undefined, tags and trailing bytes with a typed error. Field-level checks live in `schema.ts`.
 */
import { encode, decode } from 'cborg';
import { type Result, ok, err } from './result';

export type CborValue = null | boolean | number | bigint | string | Uint8Array | CborValue[] | { [key: string]: CborValue };
export type CborMap = { [key: string]: CborValue };

export type CborErrorCode = 'cbor-malformed' | 'cbor-duplicate-key' | 'cbor-trailing' | 'cbor-not-map' | 'cbor-empty';
export interface CborError {
  code: CborErrorCode;
  message: string;
}

const DECODE_OPTIONS = {
  rejectDuplicateMapKeys: true,
  allowIndefinite: true,
  allowUndefined: false,
  allowBigInt: true,
  useMaps: false,
  tags: [],
};

export function encodeCbor(value: unknown): Uint8Array {
  return encode(value);
}

/** Decodes one CBOR item that must fill `bytes` exactly. */
export function decodeCbor(bytes: Uint8Array): Result<CborValue, CborError> {
  if (bytes.length === 0) return err({ code: 'cbor-empty', message: 'empty CBOR payload' });
  try {
    const value: unknown = decode(bytes, DECODE_OPTIONS);
    if (!isCborValueTree(value)) return err({ code: 'cbor-malformed', message: 'malformed CBOR: a break (0xff) where a value belongs' });
    return ok(value);
  } catch (caught) {
    const text = caught instanceof Error ? caught.message : String(caught);
    if (/duplicate|repeat map key/i.test(text)) return err({ code: 'cbor-duplicate-key', message: `CBOR map has a duplicate key (${text})` });
    if (/too many terminals/i.test(text)) return err({ code: 'cbor-trailing', message: 'CBOR payload has bytes after its end' });
    return err({ code: 'cbor-malformed', message: `malformed CBOR: ${text}` });
  }
}

/**
 * cborg 6.1 returns its internal break marker (a Symbol) as the value of a map entry whose value is a
 * stray 0xff (`a1 61 61 ff` decodes to `{a: Symbol(BREAK)}`) instead of failing; this walk refuses it.
 * Iterative, so a deeply nested payload that cborg accepted cannot overflow the stack here.
 */
function isCborValueTree(root: unknown): root is CborValue {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') continue;
    if (value instanceof Uint8Array) continue;
    if (typeof value !== 'object') return false;
    for (const item of Array.isArray(value) ? value : Object.values(value)) stack.push(item);
  }
  return true;
}

/** SMP payloads are always a map at the top level; map keys that are not strings are refused by cborg. */
export function decodeCborMap(bytes: Uint8Array): Result<CborMap, CborError> {
  const decoded = decodeCbor(bytes);
  if (!decoded.ok) return decoded;
  const value = decoded.value;
  if (!isCborMap(value)) return err({ code: 'cbor-not-map', message: 'SMP payload is not a CBOR map' });
  return ok(value);
}

export function isCborMap(value: unknown): value is CborMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
