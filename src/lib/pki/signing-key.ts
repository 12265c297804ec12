/**
 * The CA's P-256 signing keys as WebCrypto `CryptoKey`s: generated non-extractable (extractable
 * only inside the backup-at-creation flow, see docs/adr/0005-pki.md), imported from PKCS#8 as
 * non-extractable, and checked against a certificate by signing a fresh challenge.
 */
import { ECDSA_P256_KEY, ECDSA_SHA256, verifyEcdsaP256 } from './ecdsa';
import { bufferSource, randomBytes } from './webcrypto';

/** A P-256 signing pair. `extractable` is false everywhere except the backup-at-creation flow. */
export async function generateP256SigningKeys(extractable: boolean): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ECDSA_P256_KEY, extractable, ['sign', 'verify']);
}

/** Imports a PKCS#8 P-256 private key as a non-extractable signing key; throws what WebCrypto throws. */
export async function importP256SigningKey(pkcs8: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('pkcs8', bufferSource(pkcs8), ECDSA_P256_KEY, false, ['sign']);
}

export async function signP256(privateKey: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(ECDSA_SHA256, privateKey, bufferSource(message)));
}

/**
 * Whether `privateKey` belongs to `publicKey` (SEC1 point), proved by signing a fresh challenge —
 * which works for non-extractable keys, where comparing key bytes cannot.
 */
export async function privateKeyMatches(privateKey: CryptoKey, publicKey: Uint8Array): Promise<boolean> {
  const challenge = randomBytes(32);
  try {
    const signature = await signP256(privateKey, challenge);
    return (await verifyEcdsaP256(publicKey, challenge, signature)).ok;
  } catch {
    return false;
  }
}
