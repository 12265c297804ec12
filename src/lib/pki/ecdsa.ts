/**
 * ECDSA P-256 / SHA-256 verification: WebCrypto first, @noble/curves when WebCrypto is missing
 * (an insecure context) or refuses the key, and both reachable on purpose so tests can run every
 * Wycheproof vector through each. Signatures are raw r‖s (IEEE P1363, what WebCrypto and the keys
 * group use); `ecdsaDerToRaw` converts the X.509/CSR form and refuses anything that is not strict
 * DER, since BER leniency there is a classic signature-malleability bug.
 */
import { p256 } from '@noble/curves/nist.js';
import { type Result, ok } from '../smp/result';
import { contentBytes, DER_TAG, readChildren, readOnly } from './der';
import { fail, type PkiError } from './errors';
import { bufferSource } from './webcrypto';

export const P256_POINT_LENGTH = 65;
export const P256_SCALAR_LENGTH = 32;
export const P256_SIGNATURE_LENGTH = 64;
export const ECDSA_P256_KEY: EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const ECDSA_SHA256: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export type EcdsaBackend = 'webcrypto' | 'noble';
export interface EcdsaOptions {
  /** `auto` (default): WebCrypto, then noble if WebCrypto is unavailable or refuses the key. */
  backend?: 'auto' | EcdsaBackend;
}

export type EcdsaErrorCode = 'ecdsa-bad-public-key' | 'ecdsa-bad-signature' | 'ecdsa-bad-encoding';
export type EcdsaError = PkiError<EcdsaErrorCode>;

/**
 * Verifies `signature` (64-byte r‖s) over `message` (hashed here with SHA-256) with a 65-byte
 * uncompressed SEC1 P-256 `publicKey`. High-S signatures are accepted, as WebCrypto does.
 * @example const checked = await verifyEcdsaP256(devicePublicKey, challenge, signature);
 *   if (!checked.ok) show(checked.error.message);
 */
export async function verifyEcdsaP256(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  options: EcdsaOptions = {},
): Promise<Result<{ backend: EcdsaBackend }, EcdsaError>> {
  if (publicKey.length !== P256_POINT_LENGTH || publicKey[0] !== 0x04) {
    return fail('ecdsa-bad-public-key', `publicKey: expected a ${P256_POINT_LENGTH}-byte uncompressed SEC1 P-256 point (04‖x‖y), got ${publicKey.length} bytes`);
  }
  if (signature.length !== P256_SIGNATURE_LENGTH) {
    return fail('ecdsa-bad-signature', `signature: expected ${P256_SIGNATURE_LENGTH} bytes r‖s, got ${signature.length}`);
  }
  const backend = options.backend ?? 'auto';
  if (backend !== 'noble') {
    const key = await importWebCryptoKey(publicKey);
    if (key) {
      const valid = await globalThis.crypto.subtle.verify(ECDSA_SHA256, key, bufferSource(signature), bufferSource(message)).catch(() => false);
      return valid ? ok({ backend: 'webcrypto' }) : fail('ecdsa-bad-signature', 'signature: does not verify with this public key');
    }
    if (backend === 'webcrypto') return fail('ecdsa-bad-public-key', 'publicKey: WebCrypto refused the key (not a point on P-256, or WebCrypto is unavailable)');
  }
  if (!isNoblePoint(publicKey)) return fail('ecdsa-bad-public-key', 'publicKey: not a point on P-256');
  let valid = false;
  try {
    valid = p256.verify(signature, message, publicKey, { lowS: false, prehash: true, format: 'compact' });
  } catch {
    valid = false;
  }
  return valid ? ok({ backend: 'noble' }) : fail('ecdsa-bad-signature', 'signature: does not verify with this public key');
}

/** The same check for a DER `ECDSA-Sig-Value` (X.509, CSRs, most firmware tooling). */
export async function verifyEcdsaP256Der(
  publicKey: Uint8Array,
  message: Uint8Array,
  signatureDer: Uint8Array,
  options: EcdsaOptions = {},
): Promise<Result<{ backend: EcdsaBackend }, EcdsaError>> {
  const raw = ecdsaDerToRaw(signatureDer);
  if (!raw.ok) return raw;
  return verifyEcdsaP256(publicKey, message, raw.value, options);
}

/**
 * `SEQUENCE { INTEGER r, INTEGER s }` → r‖s, 32 bytes each. Refuses BER lengths, negative or
 * non-minimal integers, values wider than the curve order and trailing bytes.
 */
export function ecdsaDerToRaw(der: Uint8Array): Result<Uint8Array, EcdsaError> {
  const sequence = readOnly(der, DER_TAG.SEQUENCE, 'ECDSA signature');
  if (!sequence.ok) return fail('ecdsa-bad-encoding', sequence.error.message);
  const children = readChildren(der, sequence.value);
  if (!children.ok) return fail('ecdsa-bad-encoding', `ECDSA signature: ${children.error.message}`);
  if (children.value.length !== 2) return fail('ecdsa-bad-encoding', `ECDSA signature: expected two INTEGERs, found ${children.value.length} values`);
  const raw = new Uint8Array(P256_SIGNATURE_LENGTH);
  for (const [index, child] of children.value.entries()) {
    const name = index === 0 ? 'r' : 's';
    if (child.tag !== DER_TAG.INTEGER) return fail('ecdsa-bad-encoding', `ECDSA signature: ${name} is not an INTEGER`);
    let content = contentBytes(der, child);
    if (content.length === 0) return fail('ecdsa-bad-encoding', `ECDSA signature: ${name} is empty`);
    if (content[0]! & 0x80) return fail('ecdsa-bad-encoding', `ECDSA signature: ${name} is negative`);
    if (content.length > 1 && content[0] === 0 && !(content[1]! & 0x80)) return fail('ecdsa-bad-encoding', `ECDSA signature: ${name} has a redundant leading zero`);
    if (content[0] === 0 && content.length > 1) content = content.subarray(1);
    if (content.length > P256_SCALAR_LENGTH) return fail('ecdsa-bad-encoding', `ECDSA signature: ${name} is wider than 256 bits`);
    raw.set(content, index * P256_SCALAR_LENGTH + P256_SCALAR_LENGTH - content.length);
  }
  return ok(raw);
}

/** Whether `point` is a 65-byte uncompressed SEC1 point on P-256 (WebCrypto's import, or noble's check). */
export async function isP256Point(point: Uint8Array): Promise<boolean> {
  if (point.length !== P256_POINT_LENGTH || point[0] !== 0x04) return false;
  return (await importWebCryptoKey(point)) !== null || isNoblePoint(point);
}

/** A public P-256 key for WebCrypto, or null when WebCrypto is unavailable or refuses the point. */
async function importWebCryptoKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  try {
    return await subtle.importKey('raw', bufferSource(publicKey), ECDSA_P256_KEY, false, ['verify']);
  } catch {
    return null;
  }
}

function isNoblePoint(publicKey: Uint8Array): boolean {
  try {
    p256.Point.fromBytes(publicKey).assertValidity();
    return true;
  } catch {
    return false;
  }
}
