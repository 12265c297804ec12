/**
 * What the provisioning flow needs from an audit log, and nothing more: an `intent` before a
 * step changes something, and one `outcome` after it. The app adapts its IndexedDB log
 * (`audit-adapter.ts`); tests can use `MemoryAuditSink`. Every record passes the audit layer's
 * gates — the secret guard, with the secrets the run is holding registered, and the field checks.
 */
import { admitRecord, type AuditRecord, KnownSecrets } from '../audit';
import { type Result, ok, err } from '../smp/result';

/** The record fields a step fills (the audit record's own, `src/lib/audit/record.ts`); the sink adds sequence, time, station and build. Public material only. */
export type AuditFields = Partial<Pick<AuditRecord, 'operator' | 'boardSerial' | 'deviceId' | 'keyId' | 'keyFingerprint' | 'certSerial' | 'certFingerprint' | 'counter' | 'errorCode' | 'errorMessage' | 'details'>>;

export type AuditOutcomeResult = NonNullable<AuditRecord['result']>;

export interface AuditSinkError {
  code: string;
  message: string;
}

export interface AuditSink {
  /** Records that `action` is about to happen; returns the intent's sequence number. */
  intent(action: string, fields: AuditFields): Promise<Result<number, AuditSinkError>>;
  /** Closes intent `intentSeq` with what happened. */
  outcome(intentSeq: number, result: AuditOutcomeResult, fields: AuditFields): Promise<Result<void, AuditSinkError>>;
  /** A secret the run now holds: any record containing it (hex, base64, text) is refused until `releaseSecrets`. */
  holdSecret?(secret: Uint8Array, label: string): void;
  releaseSecrets?(): void;
}

/** What the memory sink passes to the record check in place of a station's own fields. */
const MEMORY_STATION = '0000000000000000';
const MEMORY_BUILD = 'memory';

export interface MemoryAuditRecord extends AuditFields {
  seq: number;
  action: string;
  phase: 'intent' | 'outcome';
  intentSeq?: number;
  result?: AuditOutcomeResult;
}

/**
 * An audit sink in memory, with the same secret guard as the real log.
 * @example const audit = new MemoryAuditSink(); await runProvisioning({ …, audit }); audit.records
 */
export class MemoryAuditSink implements AuditSink {
  readonly records: MemoryAuditRecord[] = [];
  readonly #secrets = new KnownSecrets();

  async intent(action: string, fields: AuditFields): Promise<Result<number, AuditSinkError>> {
    return this.#append({ ...fields, action, phase: 'intent' });
  }

  async outcome(intentSeq: number, result: AuditOutcomeResult, fields: AuditFields): Promise<Result<void, AuditSinkError>> {
    const intent = this.records[intentSeq - 1];
    if (!intent || intent.phase !== 'intent') return err({ code: 'audit-unknown-intent', message: `there is no intent with seq ${intentSeq} to close` });
    if (this.records.some((record) => record.intentSeq === intentSeq)) return err({ code: 'audit-outcome-exists', message: `intent ${intentSeq} already has an outcome` });
    const appended = await this.#append({ ...fields, action: intent.action, phase: 'outcome', intentSeq, result });
    return appended.ok ? ok(undefined) : appended;
  }

  holdSecret(secret: Uint8Array, label: string): void {
    this.#secrets.add(secret, label);
  }

  releaseSecrets(): void {
    this.#secrets.clear();
  }

  /** Intents without an outcome: what a crash would leave for reconciliation. */
  openIntents(): MemoryAuditRecord[] {
    const closed = new Set(this.records.map((record) => record.intentSeq));
    return this.records.filter((record) => record.phase === 'intent' && !closed.has(record.seq));
  }

  async #append(record: Omit<MemoryAuditRecord, 'seq'>): Promise<Result<number, AuditSinkError>> {
    const seq = this.records.length + 1;
    // The real log's gates: the secret guard, then every field's shape (with the fields a store adds).
    const admitted = admitRecord({ ...record, seq, time: new Date().toISOString(), stationId: MEMORY_STATION, appBuild: MEMORY_BUILD }, this.#secrets);
    if (!admitted.ok) return err({ code: admitted.error.code, message: admitted.error.message });
    this.records.push(structuredClone({ seq, ...record }));
    return ok(seq);
  }
}
