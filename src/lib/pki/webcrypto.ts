/**
 * Small seams over WebCrypto shared by `pki/`: typed-array views as `BufferSource` (TypeScript's
 * DOM types take only ArrayBuffer-backed views), SHA-256 and random bytes.
 */
import { bytesToHex } from '../util/bytes';

/** The same bytes as an ArrayBuffer-backed view (copied only when they sit in a SharedArrayBuffer). */
export function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bufferSource(bytes)));
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return bytesToHex(await sha256(bytes));
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(length));
}
