/**
 * Canonical bytes of records and checkpoints: deterministic CBOR, RFC 8949 §4.2.1 ("core
 * deterministic encoding"): shortest-form integers and lengths, definite lengths only, map keys
 * sorted bytewise by their encoded form. See docs/audit-format.md and
 * docs/adr/0006-audit-canonical-encoding.md.
 *
 * The values hashed here are validated first (record.ts): text-keyed maps whose values are text,
 * unsigned safe integers or one nested text→text map. For text keys, "bytewise order of the
 * encoded keys" is the same as "shorter UTF-8 first, then bytewise" (a text string's head grows
 * with its length), which is the order cborg's default encoder already uses on its fast path;
 * cborg's `rfc8949EncodeOptions` gives the same bytes about 3x slower, and the tests hold the two
 * to byte equality (including non-ASCII keys and lengths 23/24 and 255/256).
 */
import { encode } from 'cborg';
import type { AuditRecord } from './record';

/** The value domain the canonical encoding is specified for. */
export type CanonicalValue = string | number | { readonly [key: string]: CanonicalValue };

/**
 * @example bytesToHex(canonicalCbor({ b: 1, a: 'x' })) === 'a261616178616201' // {"a":"x","b":1}
 */
export function canonicalCbor(value: CanonicalValue): Uint8Array {
  return encode(value);
}

/** The bytes a record's entryHash covers: every field it has (absent fields are left out, not null). */
export function canonicalRecordBytes(record: AuditRecord): Uint8Array {
  return canonicalCbor(record as unknown as CanonicalValue);
}
