/**
 * Errors of a provisioning run: a `code` (what the audit log stores and tests match), a message
 * that names the step and says what to do, and where it happened. The cause from the layer below
 * (a keys-group refusal, a chain check, a wrap) is kept as its code and reason.
 */
import type { KeysError } from '../device/keys-model';
import type { SettingsError } from '../device/settings';
import type { SmpError } from '../smp/errors';
import { type Result, err } from '../smp/result';

export type ProvisioningErrorCode =
  | 'profile-invalid'
  | 'ca-missing'
  | 'ca-mismatch'
  | 'subject-invalid'
  | 'board-unreachable'
  | 'board-unsupported'
  | 'board-locked'
  | 'slots-insufficient'
  | 'already-provisioned'
  | 'key-id-conflict'
  | 'known-value-missing'
  | 'known-value-invalid'
  | 'transport-key-unsupported'
  | 'wrap-failed'
  | 'key-create-failed'
  | 'key-mismatch'
  | 'csr-failed'
  | 'csr-invalid'
  | 'csr-key-mismatch'
  | 'csr-subject-mismatch'
  | 'proof-of-possession-failed'
  | 'issue-failed'
  | 'cert-store-failed'
  | 'cert-read-failed'
  | 'readback-mismatch'
  | 'chain-invalid'
  | 'signature-invalid'
  | 'counter-failed'
  | 'lock-failed'
  | 'settings-failed'
  | 'audit-failed'
  | 'aborted';

export interface ProvisioningError {
  code: ProvisioningErrorCode;
  /** For a person: names the step and what to do. */
  message: string;
  /** Label of the key the step was about. */
  key?: string;
  /** What the layer below said: its code, and the keys/settings group reason when the board refused. */
  cause?: { code: string; reason?: string; message: string };
}

export function provisioningError(code: ProvisioningErrorCode, message: string, extra: Omit<ProvisioningError, 'code' | 'message'> = {}): ProvisioningError {
  return { code, message, ...extra };
}

export function fail(code: ProvisioningErrorCode, message: string, extra: Omit<ProvisioningError, 'code' | 'message'> = {}): Result<never, ProvisioningError> {
  return err(provisioningError(code, message, extra));
}

/** The cause of a board error, for `ProvisioningError.cause`. */
export function boardCause(error: SmpError | KeysError | SettingsError): NonNullable<ProvisioningError['cause']> {
  const reason = 'reason' in error ? error.reason : undefined;
  return { code: error.code, ...(reason ? { reason } : {}), message: error.message };
}

/** The error for a board call that failed: `aborted` stays `aborted`, a lost link says so, anything else gets `code`. */
export function fromBoardError(code: ProvisioningErrorCode, what: string, error: SmpError | KeysError | SettingsError, key?: string): ProvisioningError {
  const extra = { cause: boardCause(error), ...(key ? { key } : {}) };
  if (error.code === 'aborted') return provisioningError('aborted', `${what}: cancelled`, extra);
  if (error.code === 'disconnected' || error.code === 'not-connected') {
    return provisioningError('board-unreachable', `${what}: the link to the board is gone (${error.message}); reconnect and retry`, extra);
  }
  return provisioningError(code, `${what}: ${error.message}`, extra);
}
