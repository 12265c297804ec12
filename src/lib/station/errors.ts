/**
 * Why the station refused a scan or why a board failed, as values: a `code` the summary groups
 * failures by (and the audit log stores), and a `message` the PASS/FAIL panel shows. A board that
 * failed in the provisioning flow keeps the flow's own code (`slots-insufficient`, `csr-invalid`…).
 */
import type { ProvisioningErrorCode } from '../provisioning';

export type StationErrorCode =
  /** Refusals at the scan. */
  | 'serial-invalid'
  | 'serial-in-queue'
  | 'serial-provisioned'
  /** The board on the port was provisioned before (its device id is in the audit log). */
  | 'device-provisioned'
  /** Before a job can start. */
  | 'setup-incomplete'
  | 'audit-unavailable'
  /** On the way to the board. */
  | 'link-failed'
  | 'upload-failed'
  | 'reconcile-failed'
  | 'cancelled'
  | 'station-error';

export type JobFailureCode = StationErrorCode | ProvisioningErrorCode;

export interface StationError {
  code: StationErrorCode;
  message: string;
}

export function stationError(code: StationErrorCode, message: string): StationError {
  return { code, message };
}

/** An exception's message, for the few places where a platform API throws (port open). */
export function messageOf(caught: unknown): string {
  return caught instanceof Error ? caught.message : String(caught);
}
