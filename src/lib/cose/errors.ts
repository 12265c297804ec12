/**
 * COSE errors as values: a `code` the console, the audit log and the command line branch on, and
 * a `message` for a person. Nothing in `cose/` throws at its callers.
 */
import { err } from '../smp/result';

export type CoseErrorCode =
  /** The bytes are not one well-formed CBOR item (or are empty, or have bytes after the item). */
  | 'cose-not-cbor'
  /** More bytes, deeper nesting or more items than the limits allow. */
  | 'cose-too-large'
  /** CBOR, but not a COSE_Sign1: another tag, not a 4-element array, or elements of the wrong types. */
  | 'cose-not-sign1'
  /** A header bucket that is not a map, a label in both buckets, a malformed `crit` or `alg`. */
  | 'cose-bad-header'
  /** `crit` names a header parameter this verifier does not understand (RFC 9052 §3.1). */
  | 'cose-unknown-critical'
  /** No algorithm, or one this verifier does not implement. */
  | 'cose-unsupported-algorithm'
  /** The message's algorithm is not the one the key is for (a P-256 key verifies ES256 only). */
  | 'cose-algorithm-mismatch'
  /** The signature does not verify (or has the wrong length for the algorithm). */
  | 'cose-bad-signature'
  /** The payload is detached (nil) and none was supplied. */
  | 'cose-detached-payload'
  /** The verification key is not usable (not a point on its curve, a JWK or PEM we cannot read). */
  | 'cose-bad-key';

export interface CoseError {
  code: CoseErrorCode;
  message: string;
}

export function coseFail(code: CoseErrorCode, message: string): { ok: false; error: CoseError } {
  return err({ code, message });
}

/** Errors that mean "this is not a COSE_Sign1 at all", as opposed to "a COSE_Sign1 that does not verify". */
export const NOT_SIGN1_CODES: ReadonlySet<CoseErrorCode> = new Set(['cose-not-cbor', 'cose-too-large', 'cose-not-sign1']);
