/**
 * Byte helpers used by every layer. Bytes are always `Uint8Array`; these live once, here.
 */

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** @example bytesToHex(new Uint8Array([0x06, 0x09])) === '0609' */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

const HEX_VALUES = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) table[48 + i] = i;
  for (let i = 0; i < 6; i++) table[65 + i] = table[97 + i] = 10 + i;
  return table;
})();

/** Accepts spaces between bytes, as vectors are usually written in specs. */
export function hexToBytes(hex: string): Uint8Array {
  const clean = /\s/.test(hex) ? hex.replace(/\s+/g, '') : hex;
  const out = new Uint8Array(clean.length >> 1);
  let bad = clean.length % 2 !== 0;
  for (let i = 0; i < out.length && !bad; i++) {
    const high = HEX_VALUES[clean.charCodeAt(i * 2) & 0xff]!;
    const low = HEX_VALUES[clean.charCodeAt(i * 2 + 1) & 0xff]!;
    if (high < 0 || low < 0 || clean.charCodeAt(i * 2) > 0xff || clean.charCodeAt(i * 2 + 1) > 0xff) bad = true;
    out[i] = (high << 4) | low;
  }
  if (bad) throw new TypeError(`hexToBytes: not an even-length hex string: "${hex.slice(0, 40)}"`);
  return out;
}

export const utf8 = {
  encode: (text: string): Uint8Array => new TextEncoder().encode(text),
  decode: (bytes: Uint8Array): string => new TextDecoder().decode(bytes),
};

/** Base64 without relying on Node's Buffer, so the same code runs in the browser. */
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_LOOKUP = (() => {
  const table = new Int16Array(256).fill(-1);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) table[BASE64_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += BASE64_ALPHABET[(n >> 18) & 63]! + BASE64_ALPHABET[(n >> 12) & 63]! + BASE64_ALPHABET[(n >> 6) & 63]! + BASE64_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += BASE64_ALPHABET[(n >> 18) & 63]! + BASE64_ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += BASE64_ALPHABET[(n >> 18) & 63]! + BASE64_ALPHABET[(n >> 12) & 63]! + BASE64_ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/** Returns null on any character outside the alphabet or bad padding: callers turn that into their own typed error. */
export function base64ToBytes(text: Uint8Array | string): Uint8Array | null {
  const codes = typeof text === 'string' ? utf8.encode(text) : text;
  if (codes.length % 4 !== 0) return null;
  let padding = 0;
  if (codes.length > 0 && codes[codes.length - 1] === 0x3d) padding++;
  if (codes.length > 1 && codes[codes.length - 2] === 0x3d) padding++;
  const out = new Uint8Array((codes.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < codes.length; i += 4) {
    const isLast = i + 4 === codes.length;
    const a = BASE64_LOOKUP[codes[i]!]!;
    const b = BASE64_LOOKUP[codes[i + 1]!]!;
    const cPad = isLast && padding === 2;
    const dPad = isLast && padding >= 1;
    const c = cPad ? 0 : BASE64_LOOKUP[codes[i + 2]!]!;
    const d = dPad ? 0 : BASE64_LOOKUP[codes[i + 3]!]!;
    if (a < 0 || b < 0 || c < 0 || d < 0) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = (n >> 16) & 0xff;
    if (!cPad) out[o++] = (n >> 8) & 0xff;
    if (!dPad) out[o++] = n & 0xff;
  }
  return out;
}

/**
 * Equality in time that depends only on the length, not on where the first difference is: for
 * comparing MACs, where an early exit tells an attacker how many leading bytes were right.
 * @example constantTimeEqual(expectedMac, receivedMac)
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** The same bytes as an ArrayBuffer-backed view, as TypeScript's WebCrypto types want (copied only from a SharedArrayBuffer). */
export function arrayBufferView(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
