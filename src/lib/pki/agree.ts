/**
 * Key agreement: ECDH on P-256 and X25519 (RFC 7748), WebCrypto first and @noble/curves when
 * WebCrypto is missing or refuses a key, both reachable for cross-checks. Used where the browser
 * agrees a key with a board (the keys group's transport key is X25519); Wycheproof runs through
 * both paths. Peer public keys are SEC1 uncompressed (65 bytes) for P-256 and 32 raw bytes for
 * X25519; compressed P-256 points are refused. An all-zero X25519 output (a low-order peer key)
 * is refused in both paths, as RFC 7748 §6.1 recommends and WebCrypto specifies (on P-256 an
 * all-zero x-coordinate is a real point and is accepted).
 */
import { p256 } from '@noble/curves/nist.js';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { concatBytes, hexToBytes } from '../util/bytes';
import { type Result, ok } from '../smp/result';
import { P256_POINT_LENGTH, P256_SCALAR_LENGTH } from './ecdsa';
import { describeCaught, fail, type PkiError } from './errors';
import { bufferSource } from './webcrypto';

export const X25519_KEY_LENGTH = 32;

export type AgreeBackend = 'webcrypto' | 'noble';
export interface AgreeOptions {
  /** `auto` (default): WebCrypto, then noble if WebCrypto is unavailable or refuses a key. */
  backend?: 'auto' | AgreeBackend;
}
export type AgreeErrorCode = 'agree-bad-public-key' | 'agree-bad-private-key' | 'agree-zero-secret' | 'agree-failed';
export type AgreeError = PkiError<AgreeErrorCode>;
export type Agreed = Result<{ secret: Uint8Array; backend: AgreeBackend }, AgreeError>;

/** PKCS#8 wrappers for a bare private scalar (RFC 5915 ECPrivateKey without the optional public key; RFC 8410). */
const P256_PKCS8_PREFIX = hexToBytes('3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420');
const X25519_PKCS8_PREFIX = hexToBytes('302e020100300506032b656e04220420');

interface Curve {
  name: string;
  webcrypto: EcKeyImportParams | Algorithm;
  pkcs8Prefix: Uint8Array;
  checkPublic(bytes: Uint8Array): string | undefined;
  checkPrivate(bytes: Uint8Array): string | undefined;
  noble(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
}

const P256: Curve = {
  name: 'P-256',
  webcrypto: { name: 'ECDH', namedCurve: 'P-256' },
  pkcs8Prefix: P256_PKCS8_PREFIX,
  checkPublic: (bytes) => (bytes.length === P256_POINT_LENGTH && bytes[0] === 0x04 ? undefined : `expected a ${P256_POINT_LENGTH}-byte uncompressed SEC1 point, got ${bytes.length} bytes${bytes.length === 33 ? ' (compressed points are not accepted)' : ''}`),
  checkPrivate: (bytes) => (bytes.length === P256_SCALAR_LENGTH && p256.utils.isValidSecretKey(bytes) ? undefined : `expected a ${P256_SCALAR_LENGTH}-byte scalar in [1, n-1]`),
  noble: (privateKey, publicKey) => p256.getSharedSecret(privateKey, publicKey, true).subarray(1),
};

const X25519: Curve = {
  name: 'X25519',
  webcrypto: { name: 'X25519' },
  pkcs8Prefix: X25519_PKCS8_PREFIX,
  checkPublic: (bytes) => (bytes.length === X25519_KEY_LENGTH ? undefined : `expected ${X25519_KEY_LENGTH} bytes, got ${bytes.length}`),
  checkPrivate: (bytes) => (bytes.length === X25519_KEY_LENGTH ? undefined : `expected ${X25519_KEY_LENGTH} bytes, got ${bytes.length}`),
  noble: (privateKey, publicKey) => nobleX25519.getSharedSecret(privateKey, publicKey),
};

/**
 * ECDH on P-256: the 32-byte x-coordinate of the shared point.
 * @example const agreed = await ecdhP256(myKeyPair.privateKey, boardPublicKey);
 */
export function ecdhP256(privateKey: CryptoKey | Uint8Array, peerPublic: Uint8Array, options: AgreeOptions = {}): Promise<Agreed> {
  return agree(P256, privateKey, peerPublic, options);
}

/**
 * X25519 (RFC 7748): the 32-byte shared secret.
 * @example const agreed = await x25519(ephemeral.privateKey, transportKey);
 */
export function x25519(privateKey: CryptoKey | Uint8Array, peerPublic: Uint8Array, options: AgreeOptions = {}): Promise<Agreed> {
  return agree(X25519, privateKey, peerPublic, options);
}

async function agree(curve: Curve, privateKey: CryptoKey | Uint8Array, peerPublic: Uint8Array, options: AgreeOptions): Promise<Agreed> {
  const publicProblem = curve.checkPublic(peerPublic);
  if (publicProblem) return fail('agree-bad-public-key', `${curve.name} peer public key: ${publicProblem}`);
  const backend = options.backend ?? 'auto';
  if (!(privateKey instanceof Uint8Array)) {
    if (backend === 'noble') return fail('agree-bad-private-key', `${curve.name} private key: a CryptoKey can only be used through WebCrypto`);
    return agreeWebCrypto(curve, privateKey, peerPublic);
  }
  const privateProblem = curve.checkPrivate(privateKey);
  if (privateProblem) return fail('agree-bad-private-key', `${curve.name} private key: ${privateProblem}`);
  if (backend !== 'noble') {
    const attempt = await agreeWebCrypto(curve, privateKey, peerPublic);
    if (attempt.ok || backend === 'webcrypto') return attempt;
  }
  let secret: Uint8Array;
  try {
    secret = curve.noble(privateKey, peerPublic);
  } catch (caught) {
    const text = describeCaught(caught);
    // noble refuses a low-order X25519 peer (all-zero output) with this message.
    if (curve === X25519 && /invalid private or public key/.test(text)) return zeroSecret(curve);
    return fail('agree-bad-public-key', `${curve.name} peer public key: ${text}`);
  }
  if (curve === X25519 && isAllZero(secret)) return zeroSecret(curve);
  return ok({ secret: new Uint8Array(secret), backend: 'noble' });
}

async function agreeWebCrypto(curve: Curve, privateKey: CryptoKey | Uint8Array, peerPublic: Uint8Array): Promise<Agreed> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return fail('agree-failed', 'WebCrypto is not available here (an insecure context?)');
  let peer: CryptoKey;
  try {
    peer = await subtle.importKey('raw', bufferSource(peerPublic), curve.webcrypto, false, []);
  } catch (caught) {
    return fail('agree-bad-public-key', `${curve.name} peer public key: WebCrypto refused it (${describeCaught(caught)})`);
  }
  let own: CryptoKey;
  if (privateKey instanceof Uint8Array) {
    try {
      own = await subtle.importKey('pkcs8', bufferSource(concatBytes(curve.pkcs8Prefix, privateKey)), curve.webcrypto, false, ['deriveBits']);
    } catch (caught) {
      return fail('agree-bad-private-key', `${curve.name} private key: WebCrypto refused it (${describeCaught(caught)})`);
    }
  } else {
    own = privateKey;
  }
  let bits: ArrayBuffer;
  try {
    bits = await subtle.deriveBits({ name: curve.webcrypto.name, public: peer } as EcdhKeyDeriveParams, own, 256);
  } catch (caught) {
    // WebCrypto specifies OperationError for an all-zero X25519 result (a low-order peer key).
    const zero = curve === X25519 && caught instanceof Error && caught.name === 'OperationError';
    return fail(zero ? 'agree-zero-secret' : 'agree-failed', `${curve.name}: WebCrypto refused the agreement (${describeCaught(caught)})`);
  }
  const secret = new Uint8Array(bits);
  if (curve === X25519 && isAllZero(secret)) return zeroSecret(curve);
  return ok({ secret, backend: 'webcrypto' });
}

function zeroSecret(curve: Curve): { ok: false; error: AgreeError } {
  return fail('agree-zero-secret', `${curve.name}: the peer key gives an all-zero shared secret (a low-order point)`);
}

/** Only meaningful for X25519: on P-256 an x-coordinate of 0 is a legitimate point (Wycheproof has one). */
function isAllZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}
