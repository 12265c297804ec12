/**
 * Canonical bytes of records and checkpoints: deterministic CBOR, RFC 8949 §4.2.1 ("core
 * deterministic encoding"): shortest-form integers and lengths, definite lengths only, map keys
 * sorted bytewise by their encoded form. See docs/audit-format.md and
 * docs/adr/0006-audit-canonical-encoding.md.
 *
 * The values hashed here are validated first (record.ts): text-keyed maps whose values are text,
 * unsigned safe integers or one nested text→text map. That domain is small enough for a direct
 * encoder into one reused buffer, which is what lets a 100,000-record export verify in well
 * under two seconds (cborg's general encoder builds a token list per value and was a sixth of
 * the verify time). Anything outside the domain (negative or fractional numbers, arrays, …) goes
 * to cborg's RFC 8949 mode, so the function stays total; the tests hold both paths to byte
 * equality with cborg on generated values.
 */
import { encode, rfc8949EncodeOptions } from 'cborg';
import type { AuditRecord } from './record';

/** The value domain the canonical encoding is specified for. */
export type CanonicalValue = string | number | { readonly [key: string]: CanonicalValue };

const MAJOR_UINT = 0x00;
const MAJOR_TEXT = 0x60;
const MAJOR_MAP = 0xa0;

/** A map key with its encoded form; the sort compares these bytes (RFC 8949 §4.2.1). */
interface EncodedKey {
  key: string;
  bytes: Uint8Array;
}

const utf8 = new TextEncoder();
/** Records repeat the same few keys: their encoded forms are made once (bounded, keys are short). */
const keyCache = new Map<string, EncodedKey>();
const KEY_CACHE_SIZE = 1024;

/** Thrown inside the fast encoder only, to hand the whole value to cborg. */
class OutsideDomain {}
const OUTSIDE_DOMAIN = new OutsideDomain();

let buffer = new Uint8Array(4096);
let length = 0;

/**
 * @example bytesToHex(canonicalCbor({ b: 1, a: 'x' })) === 'a261616178616201' // {"a":"x","b":1}
 */
export function canonicalCbor(value: CanonicalValue): Uint8Array {
  length = 0;
  try {
    writeValue(value);
  } catch (error) {
    if (error === OUTSIDE_DOMAIN) return encode(value, rfc8949EncodeOptions);
    throw error;
  }
  return buffer.slice(0, length);
}

/** The bytes a record's entryHash covers: every field it has (absent fields are left out, not null). */
export function canonicalRecordBytes(record: AuditRecord): Uint8Array {
  return canonicalCbor(record as unknown as CanonicalValue);
}

function writeValue(value: CanonicalValue): void {
  if (typeof value === 'string') writeText(value);
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw OUTSIDE_DOMAIN;
    writeHead(MAJOR_UINT, value);
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) writeMap(value);
  else throw OUTSIDE_DOMAIN;
}

function writeMap(map: { readonly [key: string]: CanonicalValue }): void {
  const keys = sortedKeys(Object.keys(map));
  writeHead(MAJOR_MAP, keys.length);
  for (const { key, bytes } of keys) {
    const item = map[key];
    // cborg writes undefined members; records never hold them, but the result must not differ.
    if (item === undefined) throw OUTSIDE_DOMAIN;
    reserve(bytes.length);
    buffer.set(bytes, length);
    length += bytes.length;
    writeValue(item);
  }
}

/**
 * Records come in a few shapes (an intent, an outcome, with or without a certificate …), so the
 * sorted order of the last few key lists is kept and reused when the same list comes again.
 */
const recentShapes: Array<{ keys: string[]; sorted: EncodedKey[] }> = [];
const RECENT_SHAPES = 16;

function sortedKeys(keys: string[]): EncodedKey[] {
  for (const shape of recentShapes) if (sameKeys(shape.keys, keys)) return shape.sorted;
  const sorted = keys.map(encodedKey).sort(compareEncodedKeys);
  if (recentShapes.length >= RECENT_SHAPES) recentShapes.pop();
  recentShapes.unshift({ keys, sorted });
  return sorted;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function encodedKey(key: string): EncodedKey {
  let cached = keyCache.get(key);
  if (cached) return cached;
  const start = length;
  writeText(key);
  cached = { key, bytes: buffer.slice(start, length) };
  length = start;
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
  keyCache.set(key, cached);
  return cached;
}

function compareEncodedKeys(a: EncodedKey, b: EncodedKey): number {
  const x = a.bytes;
  const y = b.bytes;
  const common = Math.min(x.length, y.length);
  for (let i = 0; i < common; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function writeText(text: string): void {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    writeHead(MAJOR_TEXT, text.length);
    reserve(text.length);
    for (let i = 0; i < text.length; i++) buffer[length + i] = text.charCodeAt(i);
    length += text.length;
    return;
  }
  // Lone surrogates would become U+FFFD here; record validation refuses them before hashing.
  const bytes = utf8.encode(text);
  writeHead(MAJOR_TEXT, bytes.length);
  reserve(bytes.length);
  buffer.set(bytes, length);
  length += bytes.length;
}

/** The shortest head for the argument (RFC 8949 §4.2.1's preferred serialization). */
function writeHead(major: number, argument: number): void {
  reserve(9);
  if (argument < 24) {
    buffer[length++] = major | argument;
  } else if (argument < 0x100) {
    buffer[length++] = major | 24;
    buffer[length++] = argument;
  } else if (argument < 0x10000) {
    buffer[length++] = major | 25;
    buffer[length++] = argument >>> 8;
    buffer[length++] = argument & 0xff;
  } else if (argument < 0x100000000) {
    buffer[length++] = major | 26;
    writeUint32(argument);
  } else {
    buffer[length++] = major | 27;
    writeUint32(Math.floor(argument / 0x100000000));
    writeUint32(argument >>> 0);
  }
}

function writeUint32(value: number): void {
  buffer[length++] = value >>> 24;
  buffer[length++] = (value >>> 16) & 0xff;
  buffer[length++] = (value >>> 8) & 0xff;
  buffer[length++] = value & 0xff;
}

function reserve(bytes: number): void {
  if (length + bytes <= buffer.length) return;
  const grown = new Uint8Array(Math.max(buffer.length * 2, length + bytes));
  grown.set(buffer.subarray(0, length));
  buffer = grown;
}
