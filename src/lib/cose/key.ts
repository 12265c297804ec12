/**
 * The public key a COSE_Sign1 is verified with: a curve and an uncompressed SEC1 point, read from
 * a point, a JWK (RFC 7517/7518), a SubjectPublicKeyInfo (DER or PEM). The WebCrypto key is
 * imported once per key and kept, since importing costs more than verifying; @noble/curves takes
 * over where WebCrypto is missing or refuses the point.
 */
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { decodePemOne, parseSpki } from '../pki';
import { type Result, ok } from '../smp/result';
import { base64ToBytes, concatBytes } from '../util/bytes';
import { type CoseError, coseFail } from './errors';
import type { EcCurve } from './ids';

const FIELD_BYTES: Readonly<Record<EcCurve, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
const NOBLE = { 'P-256': p256, 'P-384': p384, 'P-521': p521 } as const;
/** id-ecPublicKey and the namedCurve OIDs in SubjectPublicKeyInfo (RFC 5480 §2.1.1, §2.1.1.1). */
const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1';
const CURVE_OIDS: Readonly<Record<string, EcCurve>> = { '1.2.840.10045.3.1.7': 'P-256', '1.3.132.0.34': 'P-384', '1.3.132.0.35': 'P-521' };

export class CoseVerifyKey {
  readonly curve: EcCurve;
  /** 0x04 ‖ X ‖ Y. */
  readonly point: Uint8Array;
  #webcrypto: Promise<CryptoKey | null> | null = null;

  private constructor(curve: EcCurve, point: Uint8Array) {
    this.curve = curve;
    this.point = point;
  }

  /**
   * @example const key = CoseVerifyKey.fromPoint('P-256', devicePublicKey); if (key.ok) await verifyCoseSign1(bytes, key.value)
   */
  static fromPoint(curve: EcCurve, point: Uint8Array): Result<CoseVerifyKey, CoseError> {
    const size = 1 + 2 * FIELD_BYTES[curve];
    if (point.length !== size || point[0] !== 0x04) return coseFail('cose-bad-key', `a ${curve} public key is ${size} bytes, 04 ‖ X ‖ Y; got ${point.length} bytes`);
    if (!onCurve(curve, point)) return coseFail('cose-bad-key', `the public key is not a point on ${curve}`);
    return ok(new CoseVerifyKey(curve, point.slice()));
  }

  /** A public EC JWK (`kty` EC, `crv` P-256/P-384/P-521, `x`, `y`); a `d` is ignored, never kept. */
  static fromJwk(jwk: unknown): Result<CoseVerifyKey, CoseError> {
    if (typeof jwk !== 'object' || jwk === null) return coseFail('cose-bad-key', 'a JWK must be a JSON object');
    const { kty, crv, x, y } = jwk as Record<string, unknown>;
    if (kty !== 'EC') return coseFail('cose-bad-key', `JWK kty must be "EC", not ${JSON.stringify(kty)}`);
    if (crv !== 'P-256' && crv !== 'P-384' && crv !== 'P-521') return coseFail('cose-bad-key', `JWK crv must be P-256, P-384 or P-521, not ${JSON.stringify(crv)}`);
    const xs = typeof x === 'string' ? base64UrlToBytes(x) : null;
    const ys = typeof y === 'string' ? base64UrlToBytes(y) : null;
    if (!xs || !ys || xs.length !== FIELD_BYTES[crv] || ys.length !== FIELD_BYTES[crv]) return coseFail('cose-bad-key', `JWK x and y must be base64url of ${FIELD_BYTES[crv]} bytes each`);
    return CoseVerifyKey.fromPoint(crv, concatBytes(new Uint8Array([0x04]), xs, ys));
  }

  /** A SubjectPublicKeyInfo (DER) for an id-ecPublicKey on one of the three curves, uncompressed. */
  static fromSpki(der: Uint8Array): Result<CoseVerifyKey, CoseError> {
    const parsed = parseSpki(der);
    if (!parsed.ok) return coseFail('cose-bad-key', parsed.error.message);
    const { algorithmOid, parametersOid, spki } = parsed.value;
    const curve = parametersOid ? CURVE_OIDS[parametersOid] : undefined;
    if (algorithmOid !== EC_PUBLIC_KEY_OID || !curve) return coseFail('cose-bad-key', `not an EC key on P-256, P-384 or P-521 (algorithm ${algorithmOid}, curve ${parametersOid ?? 'none'})`);
    // The subjectPublicKey BIT STRING ends the (strictly parsed) structure: 00 unused bits, then the point.
    const size = 1 + 2 * FIELD_BYTES[curve];
    if (spki.length < size + 1 || spki[spki.length - size - 1] !== 0x00) return coseFail('cose-bad-key', `the ${curve} key is not an uncompressed point`);
    return CoseVerifyKey.fromPoint(curve, spki.subarray(spki.length - size));
  }

  /** A `PUBLIC KEY` PEM block, or a JWK as JSON text. */
  static fromText(text: string): Result<CoseVerifyKey, CoseError> {
    const trimmed = text.trim();
    if (trimmed.startsWith('{')) {
      try {
        return CoseVerifyKey.fromJwk(JSON.parse(trimmed));
      } catch {
        return coseFail('cose-bad-key', 'the key file starts like JSON but does not parse as JSON');
      }
    }
    const pem = decodePemOne(trimmed, 'PUBLIC KEY');
    if (!pem.ok) return coseFail('cose-bad-key', `neither a JWK nor a PUBLIC KEY PEM: ${pem.error.message}`);
    return CoseVerifyKey.fromSpki(pem.value);
  }

  /** The WebCrypto key, imported on first use; null when WebCrypto is unavailable or refuses it. */
  webcryptoKey(): Promise<CryptoKey | null> {
    this.#webcrypto ??= (async () => {
      try {
        const subtle = globalThis.crypto?.subtle;
        if (!subtle) return null;
        return await subtle.importKey('raw', new Uint8Array(this.point), { name: 'ECDSA', namedCurve: this.curve }, false, ['verify']);
      } catch {
        return null;
      }
    })();
    return this.#webcrypto;
  }

  /** @noble/curves for this key's curve (the fallback, and the cross-check in tests). */
  get noble() {
    return NOBLE[this.curve];
  }
}

function onCurve(curve: EcCurve, point: Uint8Array): boolean {
  try {
    NOBLE[curve].Point.fromBytes(point).assertValidity();
    return true;
  } catch {
    return false;
  }
}

function base64UrlToBytes(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  const standard = text.replace(/-/g, '+').replace(/_/g, '/');
  return base64ToBytes(standard + '='.repeat((4 - (standard.length % 4)) % 4));
}
