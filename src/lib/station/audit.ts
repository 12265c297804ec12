/**
 * The station's audit writing. Several boards are provisioned at once into ONE log, so each run
 * gets its own sink with its own secret guard: the app's adapter (`auditLogSink`) registers a
 * run's secrets in the log's single `KnownSecrets` and clears all of them when that run ends,
 * which with runs in parallel would drop the guard of the runs still going. Here every record,
 * whichever run writes it, is checked against the secrets of every run in flight, and a run's
 * `releaseSecrets` forgets only its own.
 *
 * The station's own records go through the same gate: `station.reprovision` (the operator chose
 * to provision a serial or device again), `station.resume` (a run interrupted by a closed tab is
 * reconciled and run again) and `image.upload`.
 */
import { type AuditLog, KnownSecrets, refuseSecrets } from '../audit';
import { auditLogSink, type AuditFields, type AuditOutcomeResult, type AuditSink, type AuditSinkError } from '../provisioning';
import { type Result, ok, err } from '../smp/result';

export const STATION_ACTIONS = {
  reprovision: 'station.reprovision',
  resume: 'station.resume',
  upload: 'image.upload',
} as const;

export class StationAudit {
  readonly #log: AuditLog;
  readonly #base: AuditSink;
  readonly #guards = new Set<KnownSecrets>();

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
    const own = new KnownSecrets();
    return {
      intent: (action, fields) => this.intent(action, fields),
      outcome: (seq, result, fields) => this.outcome(seq, result, fields),
      holdSecret: (secret, label) => {
        own.add(secret, label);
        this.#guards.add(own);
      },
      releaseSecrets: () => {
        own.clear();
        this.#guards.delete(own);
      },
    };
  }

  intent(action: string, fields: AuditFields): Promise<Result<number, AuditSinkError>> {
    const refused = this.#refused({ action, ...fields });
    return refused ? Promise.resolve(err(refused)) : this.#base.intent(action, fields);
  }

  outcome(intentSeq: number, result: AuditOutcomeResult, fields: AuditFields): Promise<Result<void, AuditSinkError>> {
    const refused = this.#refused(fields);
    return refused ? Promise.resolve(err(refused)) : this.#base.outcome(intentSeq, result, fields);
  }

  /** An intent and its outcome at once: a decision the station records (nothing is sent to a board in between). */
  async decision(action: string, fields: AuditFields, result: AuditOutcomeResult = 'ok'): Promise<Result<number, AuditSinkError>> {
    const intent = await this.intent(action, fields);
    if (!intent.ok) return intent;
    const outcome = await this.outcome(intent.value, result, {});
    return outcome.ok ? ok(intent.value) : outcome;
  }

  #refused(fields: object): AuditSinkError | null {
    for (const guard of this.#guards) {
      const checked = refuseSecrets(fields, guard);
      if (!checked.ok) return { code: checked.error.code, message: checked.error.message };
    }
    return null;
  }
}
