/**
 * The simulated board's key operations, with real crypto (@noble): making a key, its public
 * half, and signing. One table row per algorithm, so the handlers never branch on names.
 * Randomness comes from a `RandomSource`: the platform CSPRNG, or a seeded stream for the
 * byte-exact examples of the spec.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { KEY_ALG, type KeyAlg } from '../../device/keys-ids';
import { IMPORT_SECRET_SIZE } from '../../device/keys-wrap';
import { concatBytes, utf8 } from '../../util/bytes';

export type RandomSource = (length: number) => Uint8Array;

export const systemRandom: RandomSource = (length) => randomBytes(length);

/**
 * A deterministic stream, SHA-256(seed ‖ counter) block by block: for examples and tests only.
 * @example const random = seededRandom('spec examples'); random(32)
 */
export function seededRandom(seed: string): RandomSource {
  const seedBytes = utf8.encode(seed);
  let counter = 0;
  let pool: Uint8Array = new Uint8Array(0);
  return (length) => {
    while (pool.length < length) {
      const block = new Uint8Array(4);
      new DataView(block.buffer).setUint32(0, counter++);
      pool = concatBytes(pool, sha256(concatBytes(seedBytes, block)));
    }
    const out = pool.slice(0, length);
    pool = pool.slice(length);
    return out;
  };
}

interface AlgorithmOps {
  /** A new private key from the board's RNG. */
  generate(random: RandomSource): Uint8Array;
  /** Whether imported key material is a valid private key of this algorithm. */
  valid(secret: Uint8Array): boolean;
  publicKey(secret: Uint8Array): Uint8Array | null;
  /** Signature (or MAC) over `message`; null when the algorithm cannot sign. */
  sign(secret: Uint8Array, message: Uint8Array): Uint8Array | null;
}

const sized = (alg: KeyAlg) => (secret: Uint8Array) => {
  const size = IMPORT_SECRET_SIZE[alg];
  return size !== undefined && secret.length >= size.min && secret.length <= size.max;
};

const OPS: Readonly<Record<KeyAlg, AlgorithmOps>> = {
  [KEY_ALG.P256]: {
    // 48 random bytes reduced mod n (FIPS 186-5 A.2.1), as noble does: no rejection loop, no bias worth naming.
    generate: (random) => p256.utils.randomSecretKey(random(p256.lengths.seed ?? 48)),
    valid: (secret) => p256.utils.isValidSecretKey(secret),
    publicKey: (secret) => p256.getPublicKey(secret, false),
    // ECDSA over SHA-256(message), RFC 6979 nonces, raw r‖s.
    sign: (secret, message) => p256.sign(message, secret),
  },
  [KEY_ALG.X25519]: {
    generate: (random) => random(32),
    valid: sized(KEY_ALG.X25519),
    publicKey: (secret) => x25519.getPublicKey(secret),
    sign: () => null,
  },
  [KEY_ALG.ED25519]: {
    generate: (random) => random(32),
    valid: (secret) => secret.length === 32,
    publicKey: (secret) => ed25519.getPublicKey(secret),
    sign: (secret, message) => ed25519.sign(message, secret),
  },
  [KEY_ALG.HMAC_SHA256]: {
    generate: (random) => random(32),
    valid: sized(KEY_ALG.HMAC_SHA256),
    publicKey: () => null,
    sign: (secret, message) => hmac(sha256, secret, message),
  },
  [KEY_ALG.AES_128]: {
    generate: (random) => random(16),
    valid: sized(KEY_ALG.AES_128),
    publicKey: () => null,
    sign: () => null,
  },
};

export function algorithmOps(alg: KeyAlg): AlgorithmOps {
  return OPS[alg];
}
