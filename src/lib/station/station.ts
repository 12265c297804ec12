/**
 * The station: a queue of boards (serials scanned or typed), the ports boards appear on, and the
 * scheduling between them. A port that appears while a serial waits is opened, its board
 * identified (`keys/info` device id), and the run starts by itself; several ports run several
 * boards at once, each in its own job with its own link, abort signal and audit sink, so one
 * board's failure never touches another's. A finished board keeps its port ("spent") until it is
 * unplugged: the next board needs a new plug.
 *
 * The queue is persisted (store.ts) on every change of state, and the audit log is the ledger of
 * what was provisioned (ledger.ts): a serial or device already provisioned is refused unless the
 * operator chooses re-provisioning, which is audited. After a reload, a job that was running is
 * waiting again, marked `resume`: when its board is found, its open audit intents are reconciled
 * with what the board holds, and it is provisioned again (replacing what the interrupted run made).
 *
 * Nothing here touches the DOM or a browser API: ports are `StationPort`s (a WebSerial port, a
 * simulated board), so the station runs in Node for tests and the benchmark.
 */
import type { AuditLog } from '../audit';
import type { Board } from '../device';
import { type DeviceRegistry, openDeviceRegistry, type RegistryError } from '../registry';
import type { Result } from '../smp/result';
import type { Transport } from '../transport/types';
import { STATION_ACTIONS, StationAudit } from './audit';
import { messageOf, type StationError, stationError } from './errors';
import { isActive, isFinished, type JobProgress, type JobState, newJob, normalizeSerial, serialKey, type StationJob } from './job';
import { describeEntry, type ProvisionedEntry, ProvisionedLedger } from './ledger';
import { type ReconcileIntents, runStationJob } from './runner';
import { defaultConnect, type PortEntry, type PortView, readDeviceId, type StationPort } from './port';
import { keysGroupOf, type StationSetup } from './setup';
import type { StationStore } from './store';
import { summarize, type ShiftSummary } from './summary';

/** A scan the station refused, with what it knows: the earlier provisioning, or the job in the queue. */
export interface AddRefusal extends StationError {
  previous?: ProvisionedEntry;
  jobId?: string;
}

export interface StationOptions {
  store: StationStore;
  /** The tab's audit log; null when it cannot be opened (the station then refuses to run). */
  openAudit(): Promise<AuditLog | null>;
  /** The shift's setup as it is now; an error (no CA, a missing value) keeps boards waiting. */
  setup(): Promise<Result<StationSetup, StationError>>;
  reconcile?: ReconcileIntents;
  /** The device registry PASS boards with a certificate are added to; the app's by default. */
  openRegistry?(): Promise<Result<DeviceRegistry, RegistryError>>;
  /** `connectBoard` by default. */
  connect?(transport: Transport, options: { keysGroup?: number; timeoutMs?: number }): Promise<Board>;
  /** SMP request timeout; default the client's (2 s). */
  timeoutMs?: number;
  now?(): Date;
}

export class Station {
  jobs: readonly StationJob[] = [];
  ports: readonly PortView[] = [];
  /** Why waiting boards do not start (no CA, no audit log), or null. */
  blocked: string | null = null;

  readonly #options: StationOptions;
  readonly #ports = new Map<string, PortEntry>();
  readonly #controllers = new Map<string, AbortController>();
  readonly #work = new Set<Promise<void>>();
  readonly #listeners = new Set<() => void>();
  #ready: Promise<void> | null = null;
  #audit: StationAudit | null = null;
  #ledger = new ProvisionedLedger();
  #order = 0;
  #writes: Promise<void> = Promise.resolve();

  constructor(options: StationOptions) {
    this.#options = options;
  }

  /** Calls `listener` after every change of jobs, ports or `blocked`; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Loads the persisted queue and the audit ledger; a job that was running when the tab closed
   * is PASS if the log shows its run completed, else waiting again to be reconciled and resumed.
   * Called once; every other method waits for it.
   */
  restore(): Promise<void> {
    this.#ready ??= this.#restore();
    return this.#ready;
  }

  get summary(): ShiftSummary {
    return summarize(this.jobs);
  }

  get running(): number {
    return this.jobs.filter(isActive).length;
  }

  /**
   * Adds a scanned serial to the queue, or refuses it: not a serial, already in the queue, or
   * provisioned before (unless `reprovision`, the operator's explicit choice, which is audited).
   * @example const added = await station.add('SN-0042\r'); if (!added.ok) show(added.error.message);
   */
  async add(text: string, options: { reprovision?: boolean } = {}): Promise<Result<StationJob, AddRefusal>> {
    const serial = normalizeSerial(text);
    if (!serial.ok) return serial;
    await this.restore();
    const key = serialKey(serial.value);
    const existing = this.jobs.find((job) => serialKey(job.serial) === key);
    if (existing && existing.state !== 'pass') {
      const where = existing.state === 'fail' ? 'failed: press Retry on its row' : existing.state === 'waiting' ? 'is waiting for its board' : 'is being provisioned';
      return refuse({ code: 'serial-in-queue', message: `${existing.serial} is already in the queue and ${where}.`, jobId: existing.id });
    }
    const previous = this.#ledger.bySerial(serial.value);
    if ((previous || existing) && !options.reprovision) {
      const when = previous ? describeEntry(previous) : `${existing!.serial} in this queue`;
      return refuse({ code: 'serial-provisioned', message: `Already provisioned: ${when}. Refused. Choose Re-provision to give that board a new identity.`, ...(previous ? { previous } : {}), ...(existing ? { jobId: existing.id } : {}) });
    }
    if (options.reprovision && (previous || existing)) {
      const recorded = await this.#recordReprovision(serial.value, previous?.deviceId ?? existing?.result?.deviceId ?? null, 'serial-provisioned', previous?.seq ?? null);
      if (!recorded.ok) return refuse(recorded.error);
    }
    if (existing) {
      // The PASS row becomes the re-provisioning job: one row per board, its history in the audit log.
      this.#requeue(existing, { reprovision: true });
      return { ok: true, value: this.#job(existing.id)! };
    }
    const job = newJob(serial.value, ++this.#order, this.#now(), !!options.reprovision);
    this.jobs = [...this.jobs, job];
    this.#persist(job);
    this.#changed();
    this.kick();
    return { ok: true, value: job };
  }

  /**
   * Runs a FAIL job again: on the board still plugged into its port, or on the next port that
   * appears. With `reprovision` (audited) the board's existing keys or settings are replaced.
   */
  async retry(jobId: string, options: { reprovision?: boolean } = {}): Promise<Result<StationJob, StationError>> {
    await this.restore();
    const job = this.#job(jobId);
    if (!job || job.state !== 'fail') return { ok: false, error: stationError('serial-in-queue', 'Only a failed board can be retried.') };
    if (options.reprovision && !job.reprovision) {
      const recorded = await this.#recordReprovision(job.serial, job.deviceId, job.failure?.code ?? 'operator', null);
      if (!recorded.ok) return recorded;
    }
    this.#requeue(job, { reprovision: job.reprovision || !!options.reprovision });
    return { ok: true, value: this.#job(jobId)! };
  }

  /** Stops a running job before its next request (the flow cleans up what it made). */
  cancel(jobId: string): void {
    this.#controllers.get(jobId)?.abort();
  }

  /** Takes a job that is not running off the queue. */
  async remove(jobId: string): Promise<boolean> {
    const job = this.#job(jobId);
    if (!job || isActive(job)) return false;
    this.jobs = this.jobs.filter((other) => other.id !== jobId);
    this.#dropPortsOf([jobId]);
    await this.#write(() => this.#options.store.deleteJobs([jobId]));
    this.#changed();
    return true;
  }

  /** Starts a new shift: PASS and FAIL boards leave the queue (export the summary first; the audit log keeps everything). */
  async clearFinished(): Promise<number> {
    const finished = this.jobs.filter(isFinished).map((job) => job.id);
    this.jobs = this.jobs.filter((job) => !isFinished(job));
    this.#dropPortsOf(finished);
    await this.#write(() => this.#options.store.deleteJobs(finished));
    this.#changed();
    return finished.length;
  }

  /** A port appeared (plugged in, granted, or a simulated board made): its board starts if a serial waits. */
  portAppeared(port: StationPort): void {
    if (this.#ports.has(port.id)) return;
    this.#ports.set(port.id, {
      port,
      reservedFor: port.forJob ?? null,
      view: { id: port.id, label: port.label, status: 'idle', jobId: port.forJob ?? null, deviceId: null, message: null },
    });
    this.#changed();
    this.kick();
  }

  /** A port went away (unplugged). A job running on it fails through its link; a spent port is forgotten. */
  portGone(portId: string): void {
    if (!this.#ports.delete(portId)) return;
    this.#changed();
  }

  /** Lets an errored port be tried again. */
  retryPort(portId: string): void {
    const entry = this.#ports.get(portId);
    if (!entry || entry.view.status !== 'error') return;
    this.#setPort(entry, { status: 'idle', message: null });
    this.kick();
  }

  /** Looks for work: every idle port is offered to the waiting boards. Call after the setup changed. */
  kick(): void {
    for (const entry of this.#ports.values()) if (entry.view.status === 'idle') this.#track(this.#probe(entry));
  }

  /** Resolves once no port is being probed and no job runs (tests, the benchmark, shutdown). */
  async idle(): Promise<void> {
    while (this.#work.size > 0) await Promise.allSettled([...this.#work]);
    await this.#writes;
  }

  async #restore(): Promise<void> {
    const log = await this.#options.openAudit();
    if (log) {
      this.#audit = new StationAudit(log);
      const records = await log.records();
      if (records.ok) this.#ledger = ProvisionedLedger.fromRecords(records.value);
    }
    const jobs = await this.#options.store.loadJobs();
    const restored: StationJob[] = [];
    for (const job of jobs) {
      if (!isActive(job)) {
        restored.push(job);
        continue;
      }
      const done = this.#ledger.bySerial(job.serial);
      const fixed: StationJob =
        done && job.startedAt && done.time >= job.startedAt
          ? { ...job, state: 'pass', endedAt: done.time, durationMs: Date.parse(done.time) - Date.parse(job.startedAt), deviceId: done.deviceId, result: { deviceId: done.deviceId ?? job.serial, certFingerprint: done.certFingerprint, certSerial: done.certSerial, subject: null, imageSha: null, runId: null }, note: 'The tab closed as this board finished; the audit log shows its run completed.' }
          : { ...job, state: 'waiting', resume: true, progress: null, note: `Interrupted while ${job.state} (the tab closed). When its board is found, the open audit records are reconciled with it and it is provisioned again.` };
      restored.push(fixed);
      this.#persist(fixed);
    }
    this.jobs = restored;
    this.#order = Math.max(0, ...restored.map((job) => job.order));
    this.#changed();
  }

  /** Opens an idle port if a board waits, identifies the board, and starts the job it belongs to. */
  async #probe(entry: PortEntry): Promise<void> {
    await this.restore();
    if (entry.view.status !== 'idle' || !this.#ports.has(entry.port.id) || !this.#waitingFor(entry).length) return;
    this.#setPort(entry, { status: 'probing', message: null });
    const setup = await this.#options.setup();
    const audit = this.#audit;
    if (!setup.ok || !audit) {
      this.#setBlocked(setup.ok ? 'The audit log could not be opened, so no board is provisioned: every step must be recorded.' : setup.error.message);
      this.#setPort(entry, { status: 'idle' });
      return;
    }
    this.#setBlocked(null);
    let board: Board;
    try {
      const transport = await entry.port.open();
      board = await (this.#options.connect ?? defaultConnect)(transport, { keysGroup: keysGroupOf(setup.value.profile), timeoutMs: this.#options.timeoutMs });
    } catch (caught) {
      this.#setPort(entry, { status: 'error', message: `Could not open ${entry.port.label}: ${messageOf(caught)}` });
      return;
    }
    const deviceId = setup.value.profile.kind === 'keys-group' ? await readDeviceId(board) : null;
    if (!this.#ports.has(entry.port.id)) return void (await board.close());
    const holder = deviceId ? this.jobs.find((job) => job.deviceId === deviceId && job.state !== 'waiting') : undefined;
    const job = holder ? undefined : this.#pick(entry, deviceId);
    if (!job) {
      await board.close();
      this.#setPort(entry, holder ? { status: 'spent', jobId: holder.id, deviceId, message: `${holder.serial}'s board (${holder.state.toUpperCase()}): unplug it for the next board.` } : { status: 'idle', deviceId });
      return;
    }
    await this.#run(entry, job, board, deviceId, setup.value, audit);
  }

  /** The waiting jobs this port may serve, in queue order. */
  #waitingFor(entry: PortEntry): StationJob[] {
    const waiting = this.jobs.filter((job) => job.state === 'waiting');
    if (entry.reservedFor) return waiting.filter((job) => job.id === entry.reservedFor);
    const reserved = new Set([...this.#ports.values()].map((other) => other.reservedFor).filter((id) => id !== null));
    return waiting.filter((job) => !reserved.has(job.id));
  }

  /** Which job takes the board `deviceId` found on this port: its own resumed job first, else the first in the queue with no other board. */
  #pick(entry: PortEntry, deviceId: string | null): StationJob | undefined {
    const waiting = this.#waitingFor(entry);
    return (deviceId ? waiting.find((job) => job.deviceId === deviceId) : undefined) ?? waiting.find((job) => job.deviceId === null || job.deviceId === deviceId);
  }

  async #run(entry: PortEntry, job: StationJob, board: Board, deviceId: string | null, setup: StationSetup, audit: StationAudit): Promise<void> {
    const controller = new AbortController();
    this.#controllers.set(job.id, controller);
    entry.reservedFor = null;
    const started = this.#now();
    const startedAt = performance.now();
    this.#update(job.id, { state: 'connecting', startedAt: started.toISOString(), endedAt: null, durationMs: null, attempts: job.attempts + 1, deviceId: deviceId ?? job.deviceId, port: entry.port.label, failure: null, result: null, progress: { phase: 'connect', done: 0, total: 1, text: `Board on ${entry.port.label}` } });
    this.#setPort(entry, { status: 'busy', jobId: job.id, deviceId, message: null });
    const outcome = await runStationJob({
      job: this.#job(job.id)!,
      board,
      deviceId,
      setup,
      audit,
      ledger: this.#ledger,
      reconcile: this.#options.reconcile,
      openRegistry: () => (this.#options.openRegistry ? this.#options.openRegistry() : openDeviceRegistry()),
      signal: controller.signal,
      onProgress: (state: JobState, progress: JobProgress) => this.#update(job.id, { state, progress }, this.#job(job.id)?.state !== state),
    });
    this.#controllers.delete(job.id);
    await board.close().catch(() => undefined);
    const ended = { endedAt: this.#now().toISOString(), durationMs: Math.round(performance.now() - startedAt), progress: null };
    if (outcome.state === 'pass') this.#update(job.id, { ...ended, state: 'pass', result: outcome.result, deviceId: outcome.result.deviceId, resume: false, note: null });
    else this.#update(job.id, { ...ended, state: 'fail', failure: outcome.failure, ...(outcome.failure.code === 'cancelled' ? {} : { resume: false }) });
    if (this.#ports.has(entry.port.id)) this.#setPort(entry, { status: 'spent', message: `${job.serial} ${outcome.state.toUpperCase()}: unplug the board for the next one.` });
    this.kick();
  }

  /** Jobs left the queue: the ports made for them (simulated boards) go too, and reservations for them end. */
  #dropPortsOf(jobIds: readonly string[]): void {
    for (const [id, entry] of this.#ports) {
      if (entry.port.forJob && jobIds.includes(entry.port.forJob)) this.#ports.delete(id);
      else if (entry.reservedFor && jobIds.includes(entry.reservedFor)) entry.reservedFor = null;
    }
  }

  #requeue(job: StationJob, changes: { reprovision: boolean }): void {
    const port = [...this.#ports.values()].find((entry) => entry.view.jobId === job.id && entry.view.status === 'spent');
    if (port) {
      port.reservedFor = job.id;
      this.#setPort(port, { status: 'idle', message: null });
    }
    // A board no longer plugged in may be replaced by another one for the same serial.
    this.#update(job.id, { state: 'waiting', reprovision: changes.reprovision, failure: null, note: null, progress: null, ...(port || job.resume ? {} : { deviceId: null }) });
    this.kick();
  }

  async #recordReprovision(serial: string, deviceId: string | null, reason: string, previousSeq: number | null): Promise<Result<number, StationError>> {
    await this.restore();
    const setup = await this.#options.setup();
    const operator = setup.ok ? setup.value.operator : '';
    if (!this.#audit) return { ok: false, error: stationError('audit-unavailable', 'The audit log could not be opened, so re-provisioning cannot be recorded and is refused.') };
    const recorded = await this.#audit.decision(STATION_ACTIONS.reprovision, {
      boardSerial: serial,
      ...(deviceId ? { deviceId } : {}),
      ...(operator ? { operator } : {}),
      details: { reason, chosenBy: 'operator', ...(previousSeq !== null ? { previousSeq: String(previousSeq) } : {}) },
    });
    return recorded.ok ? recorded : { ok: false, error: stationError('audit-unavailable', `The audit log refused the re-provisioning record, so it is refused: ${recorded.error.message}`) };
  }

  #job(id: string): StationJob | undefined {
    return this.jobs.find((job) => job.id === id);
  }

  #update(id: string, changes: Partial<StationJob>, persist = true): void {
    const current = this.#job(id);
    if (!current) return;
    const next = { ...current, ...changes };
    this.jobs = this.jobs.map((job) => (job.id === id ? next : job));
    if (persist) this.#persist(next);
    this.#changed();
  }

  #setPort(entry: PortEntry, changes: Partial<PortView>): void {
    entry.view = { ...entry.view, ...changes };
    this.#changed();
  }

  #setBlocked(message: string | null): void {
    if (this.blocked === message) return;
    this.blocked = message;
    this.#changed();
  }

  #persist(job: StationJob): void {
    void this.#write(() => this.#options.store.saveJob(job));
  }

  /** Store writes go one after another, in the order the changes happened. */
  #write(write: () => Promise<void>): Promise<void> {
    this.#writes = this.#writes.then(write).catch(() => undefined);
    return this.#writes;
  }

  #track(work: Promise<void>): void {
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work));
  }

  #changed(): void {
    this.ports = [...this.#ports.values()].map((entry) => entry.view);
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A view that throws must not stop the station.
      }
    }
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }
}

function refuse(error: AddRefusal): { ok: false; error: AddRefusal } {
  return { ok: false, error };
}
