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
    return ok(decode(bytes, DECODE_OPTIONS) as CborValue);
  } catch (caught) {
    const text = caught instanceof Error ? caught.message : String(caught);
    if (/duplicate|repeat map key/i.test(text)) return err({ code: 'cbor-duplicate-key', message: `CBOR map has a duplicate key (${text})` });
    if (/too many terminals/i.test(text)) return err({ code: 'cbor-trailing', message: 'CBOR payload has bytes after its end' });
    return err({ code: 'cbor-malformed', message: `malformed CBOR: ${text}` });
  }
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
