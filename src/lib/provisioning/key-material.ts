/**
 * Key values made or read on the host side of a run: a fresh scalar made in the browser, or the
 * operator's known value (PKCS#8 or the raw 32-byte scalar), with the public key it must give on
 * the board. Scalars live in `Uint8Array`s the run zeroes as soon as they are sealed or written.
 *
 * WebCrypto cannot turn a bare scalar into a public key, so the point of an operator's value is
 * computed with @noble/curves (its first use builds tables: about 40 ms once per page load, which
 * `prepareProvisioningCrypto` moves out of the first run).
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { encodePem, PRIVATE_SCALAR_LENGTH, readPrivateScalar, spkiFromP256Point, spkiFromX25519 } from '../pki';
import { type Result, ok } from '../smp/result';
import { utf8 } from '../util/bytes';
import { fail, type ProvisioningError } from './errors';
import type { ProfileKeyAlg } from './profile';

/** A value the operator gives at run time: a private key (PKCS#8 PEM/DER, raw 32 bytes, 64 hex) or, for settings, secret bytes (text is taken as UTF-8). */
export type KnownValueInput = Uint8Array | string;

export interface KeyMaterial {
  /** The private scalar: zero it when done. */
  scalar: Uint8Array;
  /** SEC1 uncompressed (P-256, 65 bytes) or raw (X25519, 32 bytes). */
  publicKey: Uint8Array;
}

/**
 * A fresh key made in the browser: WebCrypto generates it (extractable, the only way to get its
 * value out for sealing) and hands it over as PKCS#8 bytes, which are read and zeroed. Where
 * WebCrypto lacks the algorithm (X25519 in older browsers), the scalar comes from
 * `crypto.getRandomValues` (FIPS 186-5 A.4.2 rejection sampling for P-256) and @noble computes the point.
 */
export async function makeBrowserKey(alg: ProfileKeyAlg): Promise<KeyMaterial> {
  const made = await generateWithWebCrypto(alg);
  if (made) return made;
  const scalar = new Uint8Array(PRIVATE_SCALAR_LENGTH);
  do crypto.getRandomValues(scalar);
  while (alg === 'p256' && !p256.utils.isValidSecretKey(scalar));
  return { scalar, publicKey: publicKeyOf(alg, scalar) };
}

async function generateWithWebCrypto(alg: ProfileKeyAlg): Promise<KeyMaterial | null> {
  const algorithm = alg === 'p256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'X25519' };
  let pkcs8: Uint8Array | null = null;
  try {
    const pair = (await crypto.subtle.generateKey(algorithm, true, alg === 'p256' ? ['sign'] : ['deriveBits'])) as CryptoKeyPair;
    pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
    const scalar = readPrivateScalar(pkcs8, alg === 'p256' ? 'P-256' : 'X25519');
    if (!scalar.ok) return null;
    return { scalar: scalar.value, publicKey: new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)) };
  } catch {
    return null;
  } finally {
    pkcs8?.fill(0);
  }
}

/** The operator's known value for key `label`, checked and with its public key. */
export function readOperatorKey(input: KnownValueInput | undefined, alg: ProfileKeyAlg, label: string): Result<KeyMaterial, ProvisioningError> {
  if (input === undefined) return fail('known-value-missing', `key "${label}" needs its known value from the operator (a PKCS#8 key or a 32-byte ${alg} scalar)`, { key: label });
  const scalar = readPrivateScalar(input, alg === 'p256' ? 'P-256' : 'X25519');
  if (!scalar.ok) return fail('known-value-invalid', `key "${label}": ${scalar.error.message}`, { key: label, cause: { code: scalar.error.code, message: scalar.error.message } });
  return ok({ scalar: scalar.value, publicKey: publicKeyOf(alg, scalar.value) });
}

/** The operator's secret bytes for a settings value; text is taken as UTF-8. */
export function readOperatorSecret(input: KnownValueInput | undefined, label: string): Result<Uint8Array, ProvisioningError> {
  if (input === undefined || input.length === 0) return fail('known-value-missing', `the setting value "${label}" must be given by the operator`, { key: label });
  return ok(typeof input === 'string' ? utf8.encode(input) : input.slice());
}

/**
 * Builds @noble's P-256 multiplication tables now (about 40–50 ms, once per page load) instead of
 * inside the first run that reads an operator's P-256 key. Call it when the Provision page opens.
 * @example onMount(() => setTimeout(prepareProvisioningCrypto));
 */
export function prepareProvisioningCrypto(): void {
  p256.Point.BASE.multiply(1n);
}

export function publicKeyOf(alg: ProfileKeyAlg, scalar: Uint8Array): Uint8Array {
  return alg === 'p256' ? p256.getPublicKey(scalar, false) : x25519.getPublicKey(scalar);
}

/** SubjectPublicKeyInfo DER of a public key as the board reports it. */
export function spkiOf(alg: string, publicKey: Uint8Array): Uint8Array {
  return alg === 'x25519' ? spkiFromX25519(publicKey) : spkiFromP256Point(publicKey);
}

export function publicKeyPem(alg: string, publicKey: Uint8Array): string {
  return encodePem('PUBLIC KEY', spkiOf(alg, publicKey));
}
