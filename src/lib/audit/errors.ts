/**
 * Typed audit errors: a `code` the UI and callers branch on, and a human `message` that says which
 * field or record is at fault. Like the SMP layer, nothing in `audit/` throws at its callers.
 */

export type AuditErrorCode =
  /** A record would have carried secret material (a secret-looking field name, a private key, a registered secret). */
  | 'audit-secret-refused'
  /** A record field is missing, of the wrong type, too long or not in its allowed form. */
  | 'audit-invalid-record'
  /** An outcome names an `intentSeq` that is not an intent in this log. */
  | 'audit-unknown-intent'
  /** An outcome for this intent is already recorded: a run is closed exactly once. */
  | 'audit-outcome-exists'
  /** IndexedDB refused or failed (quota, closed database, blocked upgrade). */
  | 'audit-storage'
  /** The station key could not be created, loaded, imported or used. */
  | 'audit-station-key';

export interface AuditError {
  code: AuditErrorCode;
  message: string;
  /** The record field at fault, for `audit-invalid-record` and `audit-secret-refused`. */
  field?: string;
}

export function auditError(code: AuditErrorCode, message: string, field?: string): AuditError {
  return field === undefined ? { code, message } : { code, message, field };
}

/** Turns a caught exception (IndexedDB, WebCrypto) into a typed error. */
export function caughtError(code: AuditErrorCode, what: string, caught: unknown): AuditError {
  const text = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
  return auditError(code, `${what}: ${text}`);
}
