/**
 * The station's audit log as state the Audit page (and the banner on every page) renders: whether
 * the browser keeps the storage for good and how much is used, the station's identity, the latest
 * records a page at a time, exports, verification of exports from any station, and the intents
 * that never got an outcome — found at start-up and closed by re-reading the board.
 *
 * One log per tab: the provisioning flow writes through `open()`'s log, and calls `refresh()`
 * when a run ends so the page and the banner follow.
 */
import {
  exportCsv,
  exportJsonl,
  openAuditLog,
  requestPersistence,
  storageEstimate,
  type AuditLog,
  type StoredRecord,
  type VerifyReport,
} from '../audit';
import type { Board } from '../device';
import { spkiFingerprint } from '../pki';
import type { DeviceRegistry, RegistryError } from '../registry';
import type { Result } from '../smp/result';
import type { DownloadFile, PickedFile } from './authorities.svelte';
import { isRegistryIntent, readBoardSnapshot, readRegisteredCertificates, reconcileOutcome, registryOutcome, unknownOutcome } from './reconcile';
import { MAX_IMPORT_BYTES, startVerify, type VerifyJob, type VerifyProgress } from './audit-verify-job';

export type AuditScope = 'open' | 'storage' | 'records' | 'export' | 'verify' | 'reconcile';

export interface AuditTrailOptions {
  appBuild: string;
  dbName?: string;
  /** `navigator.storage` by default; tests pass their own. */
  storage?: StorageManager;
  pageSize?: number;
  /** Verify imports in a Worker (the default where there is one); tests run them inline. */
  verifyInWorker?: boolean;
  /** The device registry `registry.register` intents are reconciled against; the app's by default. */
  openRegistry?: () => Promise<Result<DeviceRegistry, RegistryError>>;
}

export interface StorageState {
  /** The browser has the Storage API. */
  supported: boolean;
  /** The browser promised not to evict this origin's data. */
  persisted: boolean;
  usage: number | null;
  quota: number | null;
}

export const DEFAULT_PAGE_SIZE = 20;

export class AuditTrail {
  status = $state<'idle' | 'opening' | 'ready' | 'failed'>('idle');
  stationId = $state('');
  /** SHA-256 of the station public key (SPKI DER), hex; the station id is its first 16 characters. */
  stationFingerprint = $state('');
  storage = $state.raw<StorageState | null>(null);
  /** Records in the log. */
  total = $state(0);
  /** 0 is the newest page. */
  page = $state(0);
  /** The current page, newest first. */
  records = $state.raw<StoredRecord[]>([]);
  /** Intents without an outcome: interrupted runs waiting to be reconciled. */
  openIntents = $state.raw<StoredRecord[]>([]);
  /** The last verification of imported exports. */
  report = $state.raw<(VerifyReport & { lines: string[]; recordCount: number; names: string[] }) | null>(null);
  errors = $state<Partial<Record<AuditScope, string>>>({});
  busy = $state<Partial<Record<AuditScope, boolean>>>({});
  notices = $state<Partial<Record<AuditScope, string>>>({});
  /** Where the running import/verification is: for the progress bar. */
  verifyProgress = $state.raw<VerifyProgress | null>(null);
  readonly pageSize: number;
  #verifyJob: VerifyJob | null = null;

  private opened: Promise<AuditLog | null> | null = null;
  private readonly options: AuditTrailOptions;

  constructor(options: AuditTrailOptions) {
    this.options = options;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  }

  get pages(): number {
    return Math.max(1, Math.ceil(this.total / this.pageSize));
  }

  /** The tab's log, opened once (and the station key made on first use). Null when IndexedDB failed. */
  open(): Promise<AuditLog | null> {
    this.opened ??= this.openLog();
    return this.opened;
  }

  /** Start-up: open the log, list interrupted runs, read the storage state. */
  async start(): Promise<void> {
    if (!(await this.open())) return;
    await Promise.all([this.refreshIntents(), this.refreshStorage()]);
  }

  /** Reads the record count, the current page and the open intents again. */
  async refresh(): Promise<void> {
    await Promise.all([this.loadPage(this.page), this.refreshIntents()]);
  }

  async refreshStorage(): Promise<void> {
    const storage = this.storageManager();
    const persisted = typeof storage?.persisted === 'function' ? await storage.persisted().catch(() => false) : false;
    const estimate = await storageEstimate(storage);
    this.storage = { supported: !!storage, persisted, usage: estimate?.usage ?? null, quota: estimate?.quota ?? null };
  }

  /** Asks the browser to keep this origin's storage (it may say no, e.g. for a site not installed or bookmarked). */
  async requestPersistence(): Promise<boolean> {
    this.busy.storage = true;
    delete this.errors.storage;
    try {
      const state = await requestPersistence(this.storageManager());
      await this.refreshStorage();
      if (!state.supported) this.errors.storage = 'This browser has no Storage API: it cannot be asked to keep the log.';
      else if (!state.persisted) this.errors.storage = 'The browser did not grant persistent storage. Install Imprint as an app or bookmark it, then ask again; meanwhile export the log often.';
      return state.persisted;
    } finally {
      this.busy.storage = false;
    }
  }

  /** Shows page `page` (0 = newest records). */
  async loadPage(page: number): Promise<void> {
    const log = await this.open();
    if (!log) return;
    const head = await log.head();
    if (!head.ok) return void (this.errors.records = head.error.message);
    this.total = head.value.treeSize;
    this.page = Math.min(Math.max(0, page), this.pages - 1);
    const newest = this.total - this.page * this.pageSize;
    if (newest < 1) return void (this.records = []);
    const read = await log.records(Math.max(1, newest - this.pageSize + 1), newest);
    if (!read.ok) return void (this.errors.records = read.error.message);
    delete this.errors.records;
    this.records = read.value.slice().reverse();
  }

  async refreshIntents(): Promise<void> {
    const log = await this.open();
    if (!log) return;
    const open = await log.unreconciledIntents();
    if (open.ok) this.openIntents = open.value;
    else this.errors.reconcile = open.error.message;
  }

  /** The whole log as JSON Lines (verifiable), closed by a fresh checkpoint. */
  async exportJsonl(): Promise<DownloadFile | null> {
    return this.exportWith('jsonl', exportJsonl);
  }

  /** The whole log as CSV, for spreadsheets (not verifiable). */
  async exportCsv(): Promise<DownloadFile | null> {
    return this.exportWith('csv', exportCsv);
  }

  /**
   * Verifies and merges exports from any number of stations; every problem is listed. The work
   * runs in a Worker with its stage reported in `verifyProgress`, so a huge or broken file never
   * freezes the tab; `cancelVerify` stops it.
   */
  async verifyFiles(files: readonly PickedFile[]): Promise<VerifyReport | null> {
    if (files.length === 0) {
      this.errors.verify = 'Choose one or more .jsonl exports to verify.';
      return null;
    }
    const tooBig = files.find((file) => file.bytes.byteLength > MAX_IMPORT_BYTES);
    if (tooBig) {
      this.errors.verify = `${tooBig.name} is ${Math.round(tooBig.bytes.byteLength / 2 ** 20)} MB: larger than any audit export this page reads (${MAX_IMPORT_BYTES / 2 ** 20} MB). Verify it with npm run audit:verify instead.`;
      return null;
    }
    this.#verifyJob?.cancel();
    this.busy.verify = true;
    delete this.errors.verify;
    const total = files.reduce((sum, file) => sum + file.bytes.byteLength, 0);
    this.verifyProgress = { stage: 'reading', done: 0, total };
    const job = startVerify(files, (progress) => (this.verifyProgress = progress), this.options.verifyInWorker);
    this.#verifyJob = job;
    try {
      const report = await job.result;
      const recordCount = report.stations.reduce((sum, station) => sum + station.records, 0);
      this.report = { ...report, recordCount, names: files.map((file) => file.name) };
      return report;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (job === this.#verifyJob) this.errors.verify = message === 'cancelled' ? 'Verification cancelled.' : `The files could not be verified: ${message}`;
      return null;
    } finally {
      if (job === this.#verifyJob) {
        this.#verifyJob = null;
        this.busy.verify = false;
        this.verifyProgress = null;
      }
    }
  }

  /** Stops the running verification (the worker is terminated at once). */
  cancelVerify(): void {
    this.#verifyJob?.cancel();
  }

  /**
   * Closes every open intent with what `board` holds now (keys list, counter), re-read afresh.
   * Intents about another device stay open when `board` is not theirs… unless nothing else can
   * ever check them: that is `closeAsUnknown`'s job, on the operator's word.
   */
  async reconcile(board: Board): Promise<number> {
    const log = await this.open();
    if (!log) return 0;
    this.busy.reconcile = true;
    delete this.errors.reconcile;
    delete this.notices.reconcile;
    try {
      const snapshot = await readBoardSnapshot(board);
      if (!snapshot.ok) {
        this.errors.reconcile = `Could not re-read the board: ${snapshot.message}`;
        return 0;
      }
      let closed = 0;
      const skipped: number[] = [];
      const registered = this.openIntents.some(isRegistryIntent) ? await readRegisteredCertificates(this.options.openRegistry) : null;
      for (const intent of this.openIntents) {
        const outcome = isRegistryIntent(intent) ? registryOutcome(intent, registered) : reconcileOutcome(intent, snapshot.value);
        if (outcome.errorCode === 'reconcile-other-device') {
          skipped.push(intent.seq);
          continue;
        }
        const written = await log.outcome(intent.seq, outcome);
        if (!written.ok) {
          this.errors.reconcile = `Intent ${intent.seq}: ${written.error.message}`;
          break;
        }
        closed++;
      }
      this.notices.reconcile =
        `Re-read device ${snapshot.value.deviceId}: ${closed} intent${closed === 1 ? '' : 's'} closed with what the board holds.` +
        (skipped.length ? ` Seq ${skipped.join(', ')} belong to another device and stay open.` : '');
      await this.refresh();
      return closed;
    } finally {
      this.busy.reconcile = false;
    }
  }

  /** Closes one intent as `unknown` when no board can answer for it (the operator says why). */
  async closeAsUnknown(seq: number, reason = 'the board is not available to re-read; closed by the operator'): Promise<boolean> {
    const log = await this.open();
    if (!log) return false;
    this.busy.reconcile = true;
    delete this.errors.reconcile;
    try {
      const written = await log.outcome(seq, unknownOutcome(reason));
      if (!written.ok) this.errors.reconcile = `Intent ${seq}: ${written.error.message}`;
      await this.refresh();
      return written.ok;
    } finally {
      this.busy.reconcile = false;
    }
  }

  dismiss(scope: AuditScope): void {
    delete this.errors[scope];
    delete this.notices[scope];
  }

  private async openLog(): Promise<AuditLog | null> {
    this.status = 'opening';
    const opened = await openAuditLog({ appBuild: this.options.appBuild, ...(this.options.dbName ? { dbName: this.options.dbName } : {}) });
    if (!opened.ok) {
      this.status = 'failed';
      this.errors.open = `The audit log could not be opened: ${opened.error.message}`;
      return null;
    }
    const log = opened.value;
    this.stationId = log.stationId;
    this.stationFingerprint = await spkiFingerprint(log.station.publicKeySpki);
    this.status = 'ready';
    return log;
  }

  private async exportWith(extension: 'jsonl' | 'csv', make: (log: AuditLog) => Promise<{ ok: true; value: string } | { ok: false; error: { message: string } }>): Promise<DownloadFile | null> {
    const log = await this.open();
    if (!log) return null;
    this.busy.export = true;
    delete this.errors.export;
    try {
      const text = await make(log);
      if (!text.ok) {
        this.errors.export = `Export failed: ${text.error.message}`;
        return null;
      }
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
      return { fileName: `imprint-audit-${log.stationId}-${stamp}.${extension}`, text: text.value };
    } finally {
      this.busy.export = false;
    }
  }

  private storageManager(): StorageManager | undefined {
    return this.options.storage ?? globalThis.navigator?.storage;
  }
}
