/**
 * The import wrap of the keys group (docs/protocol/keys-group.md §import): a key made off the
 * board crosses the cable only as HPKE base mode (RFC 9180) ciphertext to the board's X25519
 * transport key, suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM. The HPKE `info`
 * binds the key id, usage and algorithm, so a wrap cannot be replayed as another key. Both ends
 * live here: the host seals, the (simulated) board opens. Why this suite: docs/adr/0004-keys-group.md.
 *
 * The X25519 KEM is @hpke/dhkem-x25519 (noble underneath), so it works where WebCrypto has no X25519.
 */
import { Aes128Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { type Result, ok, err } from '../smp/result';
import { concatBytes, utf8 } from '../util/bytes';
import { IMPORT_INFO_LABEL, KEY_ALG, type KeyAlg } from './keys-ids';

/** Plaintext sizes an import accepts per algorithm, in bytes (spec §import). */
export const IMPORT_SECRET_SIZE: Readonly<Partial<Record<KeyAlg, { min: number; max: number }>>> = {
  [KEY_ALG.P256]: { min: 32, max: 32 },
  [KEY_ALG.X25519]: { min: 32, max: 32 },
  [KEY_ALG.HMAC_SHA256]: { min: 16, max: 64 },
  [KEY_ALG.AES_128]: { min: 16, max: 16 },
};

/** HPKE `aad` of an import: empty; everything to bind is in `info`, which also feeds the key schedule. */
export const IMPORT_AAD = new Uint8Array(0);

/** AES-128-GCM's tag, which every ciphertext carries after the plaintext. */
export const IMPORT_TAG_SIZE = 16;

let suite: CipherSuite | null = null;

/** The keys group's HPKE suite, made once. */
export function keysHpkeSuite(): CipherSuite {
  suite ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });
  return suite;
}

/**
 * HPKE `info` of an import: the label, a zero byte, the key id and usage as 32-bit big-endian
 * integers (0 for a field the request leaves out), then the algorithm name.
 * @example importInfo(3, 0, 'p256') // 'imprint keys import v1' 00 00000003 00000000 'p256'
 */
export function importInfo(id: number | undefined, usage: number | undefined, alg: KeyAlg): Uint8Array {
  const numbers = new Uint8Array(8);
  const view = new DataView(numbers.buffer);
  view.setUint32(0, id ?? 0);
  view.setUint32(4, usage ?? 0);
  return concatBytes(utf8.encode(IMPORT_INFO_LABEL), new Uint8Array([0]), numbers, utf8.encode(alg));
}

export interface ImportWrapInput {
  /** The board's X25519 transport public key (`transport-key`), 32 bytes. */
  transportPublicKey: Uint8Array;
  alg: KeyAlg;
  /** The key material: a P-256 scalar (32 bytes, big-endian), an X25519 scalar, an HMAC key or an AES key. */
  secret: Uint8Array;
  /** The `id` and `usage` the import request will carry (leave out what it leaves out). */
  id?: number;
  usage?: number;
  /** Fixes the ephemeral key, for byte-exact spec examples only: a real wrap must use a fresh one. */
  exampleEphemeralSeed?: Uint8Array;
}

export interface ImportWrap {
  /** HPKE encapsulated key (the ephemeral X25519 public key), 32 bytes: the request's `enc`. */
  enc: Uint8Array;
  /** The sealed key material with its 16-byte tag: the request's `ct`. */
  ct: Uint8Array;
}

export type WrapErrorCode = 'wrap-secret-size' | 'wrap-public-key' | 'wrap-failed';
export interface WrapError {
  code: WrapErrorCode;
  message: string;
}

/**
 * Seals a key for `import` to the board's transport key.
 * @example const wrap = await wrapKeyForImport({ transportPublicKey, alg: 'p256', secret, id: 3 });
 */
export async function wrapKeyForImport(input: ImportWrapInput): Promise<Result<ImportWrap, WrapError>> {
  const size = IMPORT_SECRET_SIZE[input.alg];
  if (!size) return err({ code: 'wrap-secret-size', message: `alg: ${input.alg} keys cannot be imported` });
  if (input.secret.length < size.min || input.secret.length > size.max) {
    const want = size.min === size.max ? `${size.min}` : `${size.min}..${size.max}`;
    return err({ code: 'wrap-secret-size', message: `secret: a ${input.alg} key has ${want} bytes, got ${input.secret.length}` });
  }
  if (input.transportPublicKey.length !== 32) {
    return err({ code: 'wrap-public-key', message: `transportPublicKey: an X25519 public key has 32 bytes, got ${input.transportPublicKey.length}` });
  }
  const hpke = keysHpkeSuite();
  try {
    const recipientPublicKey = await hpke.kem.deserializePublicKey(input.transportPublicKey);
    const sealed = await hpke.seal(
      { recipientPublicKey, info: importInfo(input.id, input.usage, input.alg), ekm: input.exampleEphemeralSeed },
      input.secret,
      IMPORT_AAD,
    );
    return ok({ enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) });
  } catch (caught) {
    return err({ code: 'wrap-failed', message: `HPKE seal failed: ${caught instanceof Error ? caught.message : String(caught)}` });
  }
}

/**
 * The board's side: opens an import wrap with the transport private key. Null when `enc` is not
 * a key or the ciphertext does not authenticate under this `info` (wrong key, id, usage or alg).
 * `aad` is always `IMPORT_AAD` on the board; tests pass RFC 9180's vectors through here.
 */
export async function openImportWrap(transportSecret: Uint8Array, enc: Uint8Array, ct: Uint8Array, info: Uint8Array, aad: Uint8Array = IMPORT_AAD): Promise<Uint8Array | null> {
  const hpke = keysHpkeSuite();
  try {
    const recipientKey = await hpke.kem.importKey('raw', new Uint8Array(transportSecret).buffer, false);
    return new Uint8Array(await hpke.open({ recipientKey, enc, info }, ct, aad));
  } catch {
    return null;
  }
}
