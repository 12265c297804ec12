/**
 * The machinery one run shares between its steps: what the caller gave (`RunInput`), the clock
 * that splits each step's time into board, browser-crypto and audit time, the recovery that
 * waits out a board reboot, the audit wrapper (intent before, outcome after), the secrets the
 * run holds, and the event stream. The flows (`keys-flow.ts`, `settings-flow.ts`) hold the
 * product logic; this file holds none.
 */
import type { Board, CallOptions } from '../device';
import type { CertificateAuthority } from '../pki';
import type { SmpError } from '../smp/errors';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex } from '../util/bytes';
import type { AuditFields, AuditOutcomeResult, AuditSink } from './audit';
import { provisioningError, type ProvisioningError } from './errors';
import type { KnownValueInput } from './key-material';
import type { Plan, PlanStep } from './plan';
import type { CleanupReport, ProvisionedKey, ProvisioningEvent, StepTiming } from './result';

export interface RunInput {
  /** A connected board (`connectBoard`). */
  board: Board;
  plan: Plan;
  /** The CA that issues; required when `plan.needsCa`. */
  ca?: CertificateAuthority | null;
  /** The serial the operator scanned or typed: the audit's key to the board, `{boardSerial}` in subjects. */
  boardSerial: string;
  operator?: string;
  /** The operator's values by label (`plan.operatorValues`): known keys, settings secrets. Never stored. */
  knownValues?: Readonly<Record<string, KnownValueInput>>;
  /** Extra `{placeholder}` values for subject templates (`deviceId` here names a settings board). */
  subjectValues?: Readonly<Record<string, string>>;
  audit: AuditSink;
  onEvent?: (event: ProvisioningEvent) => void;
  signal?: AbortSignal;
  now?: () => Date;
  /** How long to wait for a board that stopped answering (a reboot) before the step fails, ms. Default 5000. */
  recoveryMs?: number;
}

/** A step's good ending: what it did, or why it had nothing to do. */
export type StepDone = { detail: string } | { skipped: string };

/** Every flow implements this; `run.ts` walks the plan through it. */
export interface Flow {
  step(step: PlanStep): Promise<Result<StepDone, ProvisioningError>>;
  /** After a failure: remove what this run made, report what could not be removed. */
  cleanup(): Promise<CleanupReport[]>;
  /** What the board holds now, as far as this run knows: for the result. */
  summary(): FlowSummary;
  /** Zeroes any secret the flow still holds; called when the run ends, however it ends. */
  dispose(): void;
}

export interface FlowSummary {
  keys: ProvisionedKey[];
  /** The session counter after the run; null when the profile leaves it alone. */
  counter: number | null;
  /** Settings names written (settings flows). */
  settings: string[];
}

export const DEFAULT_RECOVERY_MS = 5000;
/** How long each "are you back?" echo waits while the board reboots. */
const RECOVERY_POLL_MS = 250;
/** Identifies a run in its audit records and events. */
const RUN_ID_BYTES = 8;

type Bucket = 'boardMs' | 'cryptoMs' | 'auditMs';

export class RunContext {
  readonly runId = bytesToHex(crypto.getRandomValues(new Uint8Array(RUN_ID_BYTES)));
  readonly steps: StepTiming[] = [];
  /** Filled by the identity step. */
  deviceId: string | null = null;
  firmware: string | null = null;
  /** The clock between steps: the run's own audit records. */
  readonly #between: StepTiming = emptyTiming('run');
  #timing: StepTiming = this.#between;
  #step: { step: PlanStep; index: number } | null = null;
  #stepStarted = 0;
  #runIntent: number | null = null;
  #cleaning = false;

  constructor(readonly input: RunInput) {}

  get plan(): Plan {
    return this.input.plan;
  }

  get board(): Board {
    return this.input.board;
  }

  now(): Date {
    return this.input.now?.() ?? new Date();
  }

  emit(event: ProvisioningEvent): void {
    try {
      this.input.onEvent?.(event);
    } catch {
      // A view that throws must not break the run.
    }
  }

  begin(step: PlanStep, index: number): void {
    this.#step = { step, index };
    this.#timing = emptyTiming(step.id);
    this.#stepStarted = performance.now();
    this.emit({ type: 'step-started', step, index });
  }

  /** Closes the current step's clock and keeps its timing. */
  end(): StepTiming {
    this.#timing.ms = round(performance.now() - this.#stepStarted);
    for (const bucket of ['boardMs', 'cryptoMs', 'auditMs'] as const) this.#timing[bucket] = round(this.#timing[bucket]);
    this.steps.push(this.#timing);
    const ended = this.#timing;
    this.#timing = this.#between;
    return ended;
  }

  /** Every step's timing, and the time spent between steps (the run's own audit records) as `run`. */
  timings(): StepTiming[] {
    const between = { ...this.#between };
    for (const bucket of ['boardMs', 'cryptoMs', 'auditMs'] as const) between[bucket] = round(between[bucket]);
    return [...this.steps, between];
  }

  /** Starts an unplanned phase (cleanup) on the clock. Cleanup runs even after a cancel: its requests carry no abort signal. */
  beginPhase(name: string): void {
    this.#cleaning = true;
    this.#step = null;
    this.#timing = emptyTiming(name);
    this.#stepStarted = performance.now();
  }

  progress(sent: number, total: number): void {
    if (this.#step) this.emit({ type: 'step-progress', ...this.#step, sent, total });
  }

  /** Board requests carry the run's abort signal. */
  get callOptions(): CallOptions {
    return this.input.signal && !this.#cleaning ? { signal: this.input.signal } : {};
  }

  /**
   * A board call on the board clock. With `retry`, a timeout (the board rebooting, an answer
   * lost) is waited out and the call made once more: only for calls that are safe to repeat.
   */
  async onBoard<T, E extends SmpError>(call: (options: CallOptions) => Promise<Result<T, E>>, retry = true): Promise<Result<T, E>> {
    const first = await this.timed('boardMs', () => call(this.callOptions));
    if (first.ok || !retry || first.error.code !== 'timeout') return first;
    if (!(await this.recover(first.error.message))) return first;
    return this.timed('boardMs', () => call(this.callOptions));
  }

  /** Waits until the board answers again (an OS echo), up to `recoveryMs`. False when it does not come back. */
  async recover(reason: string): Promise<boolean> {
    this.#timing.recovered = true;
    if (this.#step) this.emit({ type: 'step-recovering', ...this.#step, reason });
    const deadline = performance.now() + (this.input.recoveryMs ?? DEFAULT_RECOVERY_MS);
    while (performance.now() < deadline && !(this.input.signal?.aborted && !this.#cleaning)) {
      const echo = await this.timed('boardMs', () => this.board.os.echo('imprint', { timeoutMs: RECOVERY_POLL_MS, ...this.callOptions }));
      if (echo.ok) return true;
      if (echo.error.code !== 'timeout') return echo.error.code === 'mgmt' || echo.error.code === 'group';
    }
    return false;
  }

  /** Browser-side cryptography on the crypto clock. */
  crypto<T>(work: () => T | Promise<T>): Promise<T> {
    return this.timed('cryptoMs', async () => work());
  }

  /** Registers a secret the run now holds with the audit guard. */
  holdSecret(secret: Uint8Array, label: string): void {
    this.input.audit.holdSecret?.(secret, label);
  }

  releaseSecrets(): void {
    this.input.audit.releaseSecrets?.();
  }

  /** Fields every record of this run carries. */
  auditBase(extra: Record<string, string> = {}): AuditFields {
    return {
      ...(this.input.operator ? { operator: this.input.operator } : {}),
      boardSerial: this.input.boardSerial,
      ...(this.deviceId ? { deviceId: this.deviceId } : {}),
      details: { profile: this.plan.profile.id, run: this.runId, ...extra },
    };
  }

  async intent(action: string, fields: AuditFields): Promise<Result<number, ProvisioningError>> {
    const written = await this.timed('auditMs', () => this.input.audit.intent(action, fields));
    return written.ok ? written : err(auditFailed(action, written.error));
  }

  async outcome(intentSeq: number, result: AuditOutcomeResult, fields: AuditFields): Promise<Result<void, ProvisioningError>> {
    const written = await this.timed('auditMs', () => this.input.audit.outcome(intentSeq, result, fields));
    return written.ok ? written : err(auditFailed(`closing record ${intentSeq}`, written.error));
  }

  /**
   * Runs `body` between an audit intent and its outcome. Nothing happens when the intent cannot be
   * written. A failure whose effect on the board is unknown (timeout, lost link) is `unknown`.
   */
  async audited<T>(action: string, fields: AuditFields, body: () => Promise<Result<T, ProvisioningError>>, after: (value: T) => AuditFields = () => ({})): Promise<Result<T, ProvisioningError>> {
    const intent = await this.intent(action, fields);
    if (!intent.ok) return intent;
    const done = await body();
    const closing = done.ok
      ? await this.outcome(intent.value, 'ok', merge(fields, after(done.value)))
      : await this.outcome(intent.value, outcomeOf(done.error), merge(fields, errorFields(done.error)));
    return done.ok && !closing.ok ? closing : done;
  }

  /** The run's own intent, written before the board is touched; closed by `closeRun`. */
  async openRun(fields: AuditFields): Promise<Result<void, ProvisioningError>> {
    const intent = await this.intent('provision.run', fields);
    if (!intent.ok) return intent;
    this.#runIntent = intent.value;
    return ok(undefined);
  }

  async closeRun(result: AuditOutcomeResult, fields: AuditFields): Promise<Result<void, ProvisioningError>> {
    if (this.#runIntent === null) return ok(undefined);
    const seq = this.#runIntent;
    this.#runIntent = null;
    return this.outcome(seq, result, fields);
  }

  private async timed<T>(bucket: Bucket, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.#timing[bucket] += performance.now() - started;
    }
  }
}

/** Audit fields that say why a step failed. */
export function errorFields(error: ProvisioningError): AuditFields {
  return { errorCode: error.code, errorMessage: error.message, ...(error.cause?.reason ? { details: { reason: error.cause.reason } } : {}) };
}

/** A failure whose effect on the board is unknown: the request may or may not have been carried out. */
function outcomeOf(error: ProvisioningError): AuditOutcomeResult {
  const cause = error.cause?.code;
  return cause === 'timeout' || cause === 'disconnected' || cause === 'not-connected' ? 'unknown' : 'failed';
}

function merge(base: AuditFields, more: AuditFields): AuditFields {
  return { ...base, ...more, details: { ...base.details, ...more.details } };
}

function auditFailed(what: string, error: { code: string; message: string }): ProvisioningError {
  return provisioningError('audit-failed', `the audit log refused the record (${what}): ${error.message}`, { cause: { code: error.code, message: error.message } });
}

function emptyTiming(step: string): StepTiming {
  return { step, ms: 0, boardMs: 0, cryptoMs: 0, auditMs: 0, recovered: false };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
