/**
 * The station's audit writing. Several boards are provisioned at once into ONE log: each run gets
 * its own sink (`auditLogSink`), whose secrets the log's guard refuses in every record, whichever
 * run writes it, until that run releases them (the guard counts holds, so runs sharing a known key
 * value do not release each other's).
 *
 * The station's own records go through the same gate: `station.reprovision` (the operator chose
 * to provision a serial or device again), `station.resume` (a run interrupted by a closed tab is
 * reconciled and run again) and `image.upload`.
 */
import type { AuditLog } from '../audit';
import { auditLogSink, type AuditFields, type AuditOutcomeResult, type AuditSink, type AuditSinkError } from '../provisioning';
import { type Result, ok } from '../smp/result';

export const STATION_ACTIONS = {
  reprovision: 'station.reprovision',
  resume: 'station.resume',
  upload: 'image.upload',
} as const;

export class StationAudit {
  readonly #log: AuditLog;
  readonly #base: AuditSink;

  constructor(log: AuditLog) {
    this.#log = log;
    this.#base = auditLogSink(log);
  }

  get log(): AuditLog {
    return this.#log;
  }

  /**
   * A sink for one provisioning run: its secrets are guarded for every run's records until it releases them.
   * @example const sink = audit.runSink(); await runProvisioning({ …, audit: sink });
   */
  runSink(): AuditSink {
    return auditLogSink(this.#log);
  }

  intent(action: string, fields: AuditFields): Promise<Result<number, AuditSinkError>> {
    return this.#base.intent(action, fields);
  }

  outcome(intentSeq: number, result: AuditOutcomeResult, fields: AuditFields): Promise<Result<void, AuditSinkError>> {
    return this.#base.outcome(intentSeq, result, fields);
  }

  /** An intent and its outcome at once: a decision the station records (nothing is sent to a board in between). */
  async decision(action: string, fields: AuditFields, result: AuditOutcomeResult = 'ok'): Promise<Result<number, AuditSinkError>> {
    const intent = await this.intent(action, fields);
    if (!intent.ok) return intent;
    const outcome = await this.outcome(intent.value, result, {});
    return outcome.ok ? ok(intent.value) : outcome;
  }
}
