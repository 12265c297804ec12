/**
 * Decoded CBOR as readable text for logs: JSON layout, with byte strings written as CBOR
 * diagnostic notation `h'0a1b'` (RFC 8949 §8) so bytes never pass for text. Long byte strings
 * are cut, since a log shows what happened, not a firmware image.
 */
import type { CborValue } from '../smp/cbor';
import { bytesToHex } from '../util/bytes';

/** Byte strings longer than this are shown by their first bytes and their length. */
export const LOG_BYTES_SHOWN = 64;

/**
 * @example formatCbor({ hash: new Uint8Array([1, 2]), confirm: true }) === '{\n  "hash": h\'0102\',\n  "confirm": true\n}'
 */
export function formatCbor(value: CborValue, indent = ''): string {
  if (value instanceof Uint8Array) return formatBytes(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return String(value); // also NaN / Infinity, which JSON cannot say
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = `${indent}  `;
    return `[\n${value.map((item) => inner + formatCbor(item, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    return `{\n${entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${formatCbor(item, inner)}`).join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

function formatBytes(bytes: Uint8Array): string {
  if (bytes.length <= LOG_BYTES_SHOWN) return `h'${bytesToHex(bytes)}'`;
  return `h'${bytesToHex(bytes.subarray(0, LOG_BYTES_SHOWN))}…' (${bytes.length} bytes)`;
}
