/**
 * A private key the operator hands over for a board that needs a known value (it is sealed to
 * the board's transport key at once and never stored): a PKCS#8 `PrivateKeyInfo` (PEM
 * `PRIVATE KEY` or DER) of a P-256 or X25519 key, or the bare 32-byte scalar (bytes or 64 hex
 * characters). Only the scalar comes out, as a fresh buffer the caller zeroes when done.
 *
 * The DER is walked with our strict reader rather than imported through WebCrypto: a WebCrypto
 * import would hand the scalar back only as a base64url string in a JWK, which cannot be zeroed.
 * Messages never quote the input.
 */
import { p256 } from '@noble/curves/nist.js';
import { type Result, ok } from '../smp/result';
import { contentBytes, decodeOid, DER_TAG, readChildren, readOnly, type Tlv } from './der';
import { fail, type PkiError } from './errors';
import { OID_EC_PUBLIC_KEY, OID_P256 } from './oids';
import { toDer } from './pem';

/** RFC 8410 §3: id-X25519. */
const OID_X25519 = '1.3.101.110';
/** Every scalar this module reads is 32 bytes (P-256 d, RFC 7748 X25519 k). */
export const PRIVATE_SCALAR_LENGTH = 32;

export type PrivateScalarCurve = 'P-256' | 'X25519';
export type PrivateKeyErrorCode = 'private-key-malformed' | 'private-key-wrong-curve' | 'private-key-invalid-scalar';
export type PrivateKeyError = PkiError<PrivateKeyErrorCode>;

/**
 * @example const scalar = readPrivateScalar(pkcs8Pem, 'P-256'); if (scalar.ok) { use(scalar.value); scalar.value.fill(0); }
 */
export function readPrivateScalar(input: Uint8Array | string, curve: PrivateScalarCurve): Result<Uint8Array, PrivateKeyError> {
  let scalar: Result<Uint8Array, PrivateKeyError>;
  if (typeof input === 'string' && /^\s*[0-9a-fA-F]{64}\s*$/.test(input)) {
    scalar = ok(hexScalar(input.trim()));
  } else if (input instanceof Uint8Array && input.length === PRIVATE_SCALAR_LENGTH) {
    scalar = ok(input.slice());
  } else {
    const der = toDer(input, 'PRIVATE KEY');
    if (!der.ok) return fail('private-key-malformed', `private key: not PKCS#8 (PEM "PRIVATE KEY" or DER) nor a 32-byte scalar (${der.error.message})`);
    scalar = scalarFromPkcs8(der.value, curve);
    if (typeof input === 'string') der.value.fill(0);
  }
  if (!scalar.ok) return scalar;
  if (curve === 'P-256' && !p256.utils.isValidSecretKey(scalar.value)) {
    scalar.value.fill(0);
    return fail('private-key-invalid-scalar', 'private key: not a P-256 scalar (it must be 1 ≤ d < n)');
  }
  return scalar;
}

function hexScalar(hex: string): Uint8Array {
  const out = new Uint8Array(PRIVATE_SCALAR_LENGTH);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** PrivateKeyInfo (RFC 5208 §5 / RFC 5958 §2): version, AlgorithmIdentifier, OCTET STRING privateKey, … */
function scalarFromPkcs8(der: Uint8Array, curve: PrivateScalarCurve): Result<Uint8Array, PrivateKeyError> {
  const outer = readOnly(der, DER_TAG.SEQUENCE, 'PrivateKeyInfo');
  if (!outer.ok) return fail('private-key-malformed', `private key: ${outer.error.message}`);
  const fields = readChildren(der, outer.value);
  if (!fields.ok) return fail('private-key-malformed', `private key: ${fields.error.message}`);
  const [version, algorithm, privateKey] = fields.value;
  if (version?.tag !== DER_TAG.INTEGER || algorithm?.tag !== DER_TAG.SEQUENCE || privateKey?.tag !== DER_TAG.OCTET_STRING) {
    return fail('private-key-malformed', 'private key: expected PrivateKeyInfo { version, algorithm, privateKey }');
  }
  const oids = readAlgorithm(der, algorithm);
  const found = oids[0] === OID_X25519 ? 'X25519' : oids[0] === OID_EC_PUBLIC_KEY && oids[1] === OID_P256 ? 'P-256' : `algorithm ${oids.join(' / ') || 'unreadable'}`;
  if (found !== curve) return fail('private-key-wrong-curve', `private key: a ${curve} key is needed, this one is ${found}`);
  const inner = contentBytes(der, privateKey);
  return curve === 'X25519' ? x25519Scalar(inner) : ecPrivateKeyScalar(inner);
}

function readAlgorithm(der: Uint8Array, algorithm: Tlv): string[] {
  const parts = readChildren(der, algorithm);
  if (!parts.ok) return [];
  return parts.value.filter((part) => part.tag === DER_TAG.OID).map((part) => decodeOid(contentBytes(der, part)) ?? '?');
}

/** RFC 8410 §7: CurvePrivateKey ::= OCTET STRING (32 bytes). */
function x25519Scalar(inner: Uint8Array): Result<Uint8Array, PrivateKeyError> {
  const octets = readOnly(inner, DER_TAG.OCTET_STRING, 'CurvePrivateKey');
  if (!octets.ok) return fail('private-key-malformed', `private key: ${octets.error.message}`);
  const scalar = contentBytes(inner, octets.value);
  if (scalar.length !== PRIVATE_SCALAR_LENGTH) return fail('private-key-malformed', `private key: an X25519 key has ${PRIVATE_SCALAR_LENGTH} bytes, this one ${scalar.length}`);
  return ok(scalar.slice());
}

/** RFC 5915 §3: ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] parameters?, [1] publicKey? }. */
function ecPrivateKeyScalar(inner: Uint8Array): Result<Uint8Array, PrivateKeyError> {
  const sequence = readOnly(inner, DER_TAG.SEQUENCE, 'ECPrivateKey');
  if (!sequence.ok) return fail('private-key-malformed', `private key: ${sequence.error.message}`);
  const fields = readChildren(inner, sequence.value);
  const octets = fields.ok ? fields.value[1] : undefined;
  if (!fields.ok || fields.value[0]?.tag !== DER_TAG.INTEGER || octets?.tag !== DER_TAG.OCTET_STRING) {
    return fail('private-key-malformed', 'private key: expected ECPrivateKey { version, privateKey, … }');
  }
  const scalar = contentBytes(inner, octets);
  if (scalar.length !== PRIVATE_SCALAR_LENGTH) return fail('private-key-malformed', `private key: a P-256 key has ${PRIVATE_SCALAR_LENGTH} bytes, this one ${scalar.length}`);
  return ok(scalar.slice());
}
