/**
 * The station's identity: one P-256 key pair per browser profile, made once with WebCrypto,
 * private half non-extractable (script can sign with it, never read it), both halves kept in
 * IndexedDB (store.ts) as CryptoKeys. The station id is derived from the public key, so an export
 * that carries the public key also proves which station id it may speak for.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex } from '../util/bytes';
import { type AuditError, auditError, caughtError } from './errors';

/** WebCrypto parameters of the station key (FIPS 186-4 ECDSA on P-256 with SHA-256). */
export const STATION_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
/** stationId = the first 8 bytes (16 hex) of SHA-256(SubjectPublicKeyInfo DER). */
export const STATION_ID_BYTES = 8;

/** The public key as it travels in exports: exactly these four members. */
export interface StationPublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

export interface Station {
  stationId: string;
  /** `privateKey` is non-extractable; it signs checkpoints. */
  keys: CryptoKeyPair;
  publicKeyJwk: StationPublicJwk;
  /** SubjectPublicKeyInfo DER, for tools that want PEM (openssl). */
  publicKeySpki: Uint8Array;
}

/** @example stationIdFromSpki(spki) === '3f9a0c1d2e4b5a69' */
export function stationIdFromSpki(spki: Uint8Array): string {
  return bytesToHex(sha256(spki).subarray(0, STATION_ID_BYTES));
}

/** A fresh key pair whose private half can never be exported. */
export async function generateStationKeys(): Promise<Result<CryptoKeyPair, AuditError>> {
  try {
    return ok(await crypto.subtle.generateKey(STATION_KEY_ALGORITHM, false, ['sign', 'verify']));
  } catch (caught) {
    return err(caughtError('audit-station-key', 'could not create the station key', caught));
  }
}

/** Derives id, JWK and SPKI from a (stored) key pair; refuses a private key that could be exported. */
export async function stationFromKeys(keys: CryptoKeyPair): Promise<Result<Station, AuditError>> {
  if (keys.privateKey.extractable) return err(auditError('audit-station-key', 'the station private key is extractable; it must not be'));
  try {
    const publicKeySpki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
    const jwk = await crypto.subtle.exportKey('jwk', keys.publicKey);
    const publicKeyJwk = publicJwk(jwk);
    if (!publicKeyJwk) return err(auditError('audit-station-key', 'the station public key is not a P-256 key'));
    return ok({ stationId: stationIdFromSpki(publicKeySpki), keys, publicKeyJwk, publicKeySpki });
  } catch (caught) {
    return err(caughtError('audit-station-key', 'could not read the station public key', caught));
  }
}

/** Imports an export's station public key and derives the station id it speaks for. */
export async function importStationPublicKey(jwk: unknown): Promise<Result<{ key: CryptoKey; stationId: string }, AuditError>> {
  const clean = publicJwk(jwk);
  if (!clean) return err(auditError('audit-station-key', 'publicKeyJwk must be a P-256 public JWK {kty: "EC", crv: "P-256", x, y} with x and y canonical base64url of 32 bytes'));
  try {
    const key = await crypto.subtle.importKey('jwk', clean, STATION_KEY_ALGORITHM, true, ['verify']);
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', key));
    return ok({ key, stationId: stationIdFromSpki(spki) });
  } catch (caught) {
    return err(caughtError('audit-station-key', 'publicKeyJwk is not a valid P-256 point', caught));
  }
}

/**
 * A coordinate as canonical base64url of 32 bytes: 43 characters, no padding, and the last
 * character's two unused low bits zero. WebCrypto ignores those bits, so without this check a
 * flipped bit in an export's header key would change the file but not the key, unnoticed.
 */
const COORDINATE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** Only the public members: a `d` never leaves through here. */
function publicJwk(value: unknown): StationPublicJwk | null {
  if (typeof value !== 'object' || value === null) return null;
  const { kty, crv, x, y } = value as Record<string, unknown>;
  if (kty !== 'EC' || crv !== 'P-256' || typeof x !== 'string' || typeof y !== 'string') return null;
  if (!COORDINATE.test(x) || !COORDINATE.test(y)) return null;
  return { kty, crv, x, y };
}
