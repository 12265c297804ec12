/**
 * COSE_Sign1 verification (RFC 9052 §4.4) with ECDSA (RFC 9053 §2.1): the algorithm comes from
 * the message's header and must be the one the key is for — a P-256 key verifies ES256 only, a
 * P-384 key ES384, a P-521 key ES512 — so a message cannot pick a weaker or different algorithm
 * than the key was registered for. WebCrypto verifies; @noble/curves when WebCrypto is missing
 * or refuses the key, and on request (`backend: 'noble'`) for cross-checks.
 */
import { type Result, ok } from '../smp/result';
import { arrayBufferView as viewOf } from '../util/bytes';
import { type CborLimits, DEFAULT_CBOR_LIMITS } from './cbor';
import { type CoseError, coseFail } from './errors';
import { COSE_HEADER, type EcdsaAlgorithm, ecdsaAlgorithmById, ecdsaAlgorithmForCurve } from './ids';
import type { CoseVerifyKey } from './key';
import { bodyProtected, type CoseSign1, decodeCoseSign1, headerParameter, sigStructure } from './sign1';

export type CoseBackend = 'webcrypto' | 'noble';

export interface VerifySign1Options {
  /** Externally supplied data (RFC 9052 §4.3); empty by default. */
  externalAad?: Uint8Array;
  /** The payload, when the message carries nil (detached content). */
  detachedPayload?: Uint8Array;
  /** Refuse an `alg` that is only in the unprotected header (the telemetry profile requires it protected). */
  requireProtectedAlg?: boolean;
  /** `auto` (default): WebCrypto, then noble where WebCrypto cannot. */
  backend?: 'auto' | CoseBackend;
  limits?: CborLimits;
}

export interface VerifiedSign1 {
  message: CoseSign1;
  payload: Uint8Array;
  algorithm: EcdsaAlgorithm;
  backend: CoseBackend;
}

const EMPTY = new Uint8Array(0);

/**
 * @example const verified = await verifyCoseSign1(bytes, key);
 *   if (!verified.ok) refuse(verified.error.code); // cose-bad-signature, cose-algorithm-mismatch, …
 */
export async function verifyCoseSign1(input: Uint8Array | CoseSign1, key: CoseVerifyKey, options: VerifySign1Options = {}): Promise<Result<VerifiedSign1, CoseError>> {
  let message: CoseSign1;
  if (input instanceof Uint8Array) {
    const decoded = decodeCoseSign1(input, options.limits ?? DEFAULT_CBOR_LIMITS);
    if (!decoded.ok) return decoded;
    message = decoded.value;
  } else message = input;

  const algorithm = messageAlgorithm(message, options.requireProtectedAlg === true);
  if (!algorithm.ok) return algorithm;
  const expected = ecdsaAlgorithmForCurve(key.curve);
  if (algorithm.value.id !== expected.id) {
    return coseFail('cose-algorithm-mismatch', `the message is signed ${algorithm.value.name}, but the key is a ${key.curve} key: only ${expected.name} is accepted with it`);
  }
  const payload = message.payload ?? options.detachedPayload;
  if (!payload) return coseFail('cose-detached-payload', 'the payload is detached (nil) and none was supplied');
  if (message.signature.length !== 2 * expected.fieldBytes) {
    return coseFail('cose-bad-signature', `an ${expected.name} signature is ${2 * expected.fieldBytes} bytes (r ‖ s); this one is ${message.signature.length}`);
  }
  const toBeSigned = sigStructure(bodyProtected(message), options.externalAad ?? EMPTY, payload);
  const verified = await ecdsaVerify(key, expected, message.signature, toBeSigned, options.backend ?? 'auto');
  if (!verified.ok) return verified;
  return ok({ message, payload, algorithm: expected, backend: verified.value });
}

/** The message's `alg` as one of the ECDSA algorithms, or why not. */
export function messageAlgorithm(message: CoseSign1, requireProtected: boolean): Result<EcdsaAlgorithm, CoseError> {
  const alg = headerParameter(message, COSE_HEADER.ALG);
  if (alg === undefined) return coseFail('cose-unsupported-algorithm', 'the message names no algorithm (header parameter 1)');
  if (requireProtected && !message.protectedHeader.has(COSE_HEADER.ALG)) return coseFail('cose-bad-header', 'the algorithm must be in the protected header');
  if (typeof alg !== 'number' || !Number.isInteger(alg)) return coseFail('cose-unsupported-algorithm', `algorithm ${JSON.stringify(typeof alg === 'bigint' ? alg.toString() : alg)} is not an integer id this verifier knows`);
  const known = ecdsaAlgorithmById(alg);
  if (!known) return coseFail('cose-unsupported-algorithm', `algorithm ${alg} is not ES256 (-7), ES384 (-35) or ES512 (-36)`);
  return ok(known);
}

async function ecdsaVerify(key: CoseVerifyKey, alg: EcdsaAlgorithm, signature: Uint8Array, data: Uint8Array, backend: 'auto' | CoseBackend): Promise<Result<CoseBackend, CoseError>> {
  if (backend !== 'noble') {
    const cryptoKey = await key.webcryptoKey();
    if (cryptoKey) {
      const valid = await globalThis.crypto.subtle
        .verify({ name: 'ECDSA', hash: alg.hash }, cryptoKey, viewOf(signature), viewOf(data))
        .catch(() => false);
      return valid ? ok('webcrypto') : coseFail('cose-bad-signature', 'the signature does not verify with the key');
    }
    if (backend === 'webcrypto') return coseFail('cose-bad-key', `WebCrypto is unavailable or refuses this ${key.curve} key`);
  }
  let valid = false;
  try {
    valid = key.noble.verify(signature, data, key.point, { lowS: false, prehash: true, format: 'compact' });
  } catch {
    valid = false;
  }
  return valid ? ok('noble') : coseFail('cose-bad-signature', 'the signature does not verify with the key');
}

