/**
 * The audit log in IndexedDB (idb 8, typed by `AuditSchema`). Every write is its own transaction
 * with `{ durability: 'strict' }` (Chrome defaults to relaxed since 121: a crash could lose a
 * record the UI already showed as written).
 *
 * `append` reads the log head and writes the next record in ONE readwrite transaction, so seq
 * and entryHash are assigned atomically even with two tabs open (IndexedDB serialises
 * overlapping readwrite transactions). The head also holds the Merkle frontier, so a checkpoint
 * never has to read the log back. Everything inside that transaction is synchronous apart from
 * IndexedDB requests (noble SHA-256, not WebCrypto), or the transaction would commit early.
 *
 * Checkpoints: signed after `append` when `checkpointEvery` records have come since the last
 * one (a failed signature is retried on the next append), and by `checkpoint()` for exports.
 */
import { type DBSchema, type IDBPDatabase, type IDBPObjectStore, openDB } from 'idb';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex, hexToBytes } from '../util/bytes';
import { entryHash, GENESIS_PREV_HASH, type StoredRecord } from './chain';
import { type SignedCheckpoint, signCheckpoint } from './checkpoint';
import { type AuditError, auditError, caughtError } from './errors';
import { KnownSecrets } from './known-secrets';
import { frontierAppend, frontierRoot, leafHash, type MerkleFrontier } from './merkle';
import { type AuditDraft, type AuditPhase, type AuditRecord, admitRecord, RECORD_FIELDS } from './record';
import { generateStationKeys, type Station, stationFromKeys } from './station';

export const AUDIT_DB_NAME = 'imprint-audit';
const AUDIT_DB_VERSION = 1;
export const DEFAULT_CHECKPOINT_EVERY = 100;
export const STRICT: IDBTransactionOptions = { durability: 'strict' };
/** Fields an outcome takes from its intent when the caller leaves them out. */
const INHERITED_FROM_INTENT = ['operator', 'boardSerial', 'deviceId', 'action', 'keyId'] as const;

interface StoredStation {
  kind: 'station';
  keys: CryptoKeyPair;
  createdAt: string;
}

/** The state `append` needs: where the chain and the tree stand. */
interface LogHead {
  kind: 'head';
  treeSize: number;
  entryHash: string;
  /** Merkle frontier (merkle.ts), hex. */
  frontier: string[];
}

export interface AuditSchema extends DBSchema {
  records: { key: number; value: StoredRecord; indexes: { phase: AuditPhase; intentSeq: number } };
  checkpoints: { key: number; value: SignedCheckpoint };
  meta: { key: 'station' | 'head'; value: StoredStation | LogHead };
}

const EMPTY_HEAD: LogHead = { kind: 'head', treeSize: 0, entryHash: bytesToHex(GENESIS_PREV_HASH), frontier: [] };

export interface AuditLogOptions {
  /** The app build hash every record carries. */
  appBuild: string;
  dbName?: string;
  checkpointEvery?: number;
  /** Clock, for tests. */
  now?: () => Date;
  /** Secrets the running flow holds; records containing one are refused. */
  knownSecrets?: KnownSecrets;
}

export type IntentDraft = Omit<AuditDraft, 'phase' | 'intentSeq' | 'result'>;
/** `action`, `operator`, `boardSerial`, `deviceId` and `keyId` default to the intent's. */
export type OutcomeDraft = Omit<AuditDraft, 'phase' | 'intentSeq' | 'action' | 'result'> & { action?: string; result: NonNullable<AuditRecord['result']> };

export interface LogHeadInfo {
  treeSize: number;
  entryHash: string;
  rootHash: string;
}

/**
 * Opens (or creates) the log and the station key.
 * @example const log = await openAuditLog({ appBuild: __APP_BUILD__ }); if (log.ok) await log.value.intent({ action: 'keys.generate', boardSerial })
 */
export async function openAuditLog(options: AuditLogOptions): Promise<Result<AuditLog, AuditError>> {
  const { appBuild } = options;
  if (typeof appBuild !== 'string' || appBuild.length === 0 || appBuild.length > RECORD_FIELDS.appBuild.maxLength) {
    return err(auditError('audit-invalid-record', `appBuild must be 1..${RECORD_FIELDS.appBuild.maxLength} characters`, 'appBuild'));
  }
  const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  if (!Number.isSafeInteger(every) || every < 1) return err(auditError('audit-invalid-record', `checkpointEvery must be a positive integer, got ${every}`));
  const now = options.now ?? (() => new Date());
  let db: IDBPDatabase<AuditSchema>;
  try {
    db = await openDB<AuditSchema>(options.dbName ?? AUDIT_DB_NAME, AUDIT_DB_VERSION, {
      upgrade(upgrading) {
        const records = upgrading.createObjectStore('records', { keyPath: 'seq' });
        records.createIndex('phase', 'phase');
        records.createIndex('intentSeq', 'intentSeq');
        upgrading.createObjectStore('checkpoints', { keyPath: 'treeSize' });
        upgrading.createObjectStore('meta');
      },
    });
  } catch (caught) {
    return err(caughtError('audit-storage', 'could not open the audit database', caught));
  }
  const keys = await loadOrCreateStationKeys(db, now);
  const station = keys.ok ? await stationFromKeys(keys.value) : keys;
  if (!station.ok) {
    db.close();
    return station;
  }
  try {
    const last = await db.transaction('checkpoints').store.openKeyCursor(null, 'prev');
    return ok(new AuditLog(db, station.value, appBuild, every, now, options.knownSecrets ?? new KnownSecrets(), last?.key ?? 0));
  } catch (caught) {
    db.close();
    return err(caughtError('audit-storage', 'could not read the audit checkpoints', caught));
  }
}

async function loadOrCreateStationKeys(db: IDBPDatabase<AuditSchema>, now: () => Date): Promise<Result<CryptoKeyPair, AuditError>> {
  try {
    const stored = await db.get('meta', 'station');
    if (stored?.kind === 'station') return ok(stored.keys);
    const fresh = await generateStationKeys();
    if (!fresh.ok) return fresh;
    // Another tab may have made one meanwhile: keep whichever got there first.
    const tx = db.transaction('meta', 'readwrite', STRICT);
    const raced = await tx.store.get('station');
    if (raced?.kind === 'station') {
      await tx.done;
      return ok(raced.keys);
    }
    await Promise.all([tx.store.add({ kind: 'station', keys: fresh.value, createdAt: now().toISOString() }, 'station'), tx.done]);
    return ok(fresh.value);
  } catch (caught) {
    return err(caughtError('audit-storage', 'could not load or store the station key', caught));
  }
}

function frontierOf(head: LogHead): MerkleFrontier {
  return { size: head.treeSize, nodes: head.frontier.map(hexToBytes) };
}

function asHead(value: StoredStation | LogHead | undefined): LogHead {
  return value?.kind === 'head' ? value : EMPTY_HEAD;
}

type RecordStore = IDBPObjectStore<AuditSchema, ['records', 'meta'], 'records', 'readwrite'>;

export class AuditLog {
  readonly #db: IDBPDatabase<AuditSchema>;
  readonly #every: number;
  readonly #now: () => Date;
  #lastCheckpointSize: number;

  constructor(
    db: IDBPDatabase<AuditSchema>,
    readonly station: Station,
    readonly appBuild: string,
    every: number,
    now: () => Date,
    /** Register secrets here while a flow holds them; cleared by the flow. */
    readonly knownSecrets: KnownSecrets,
    lastCheckpointSize: number,
  ) {
    this.#db = db;
    this.#every = every;
    this.#now = now;
    this.#lastCheckpointSize = lastCheckpointSize;
  }

  get stationId(): string {
    return this.station.stationId;
  }

  /** Writes an `intent` before a step touches the board. */
  intent(draft: IntentDraft): Promise<Result<StoredRecord, AuditError>> {
    return this.#append({ ...draft, phase: 'intent' });
  }

  /** Closes intent `intentSeq` with what really happened (exactly once). */
  outcome(intentSeq: number, draft: OutcomeDraft): Promise<Result<StoredRecord, AuditError>> {
    return this.#append({ ...draft, phase: 'outcome', intentSeq });
  }

  /**
   * Appends one record: refuses secrets and bad fields, assigns seq, time, stationId, appBuild
   * and entryHash, all in one strict transaction. (`intent` and `outcome` are the usual way in.)
   */
  append(draft: AuditDraft): Promise<Result<StoredRecord, AuditError>> {
    return this.#append(draft);
  }

  async #append(draft: Partial<AuditDraft> & Pick<AuditDraft, 'phase'>): Promise<Result<StoredRecord, AuditError>> {
    let written: { stored: StoredRecord; head: LogHead };
    try {
      const tx = this.#db.transaction(['records', 'meta'], 'readwrite', STRICT);
      const refuse = (error: AuditError) => {
        tx.done.catch(() => undefined);
        tx.abort();
        return err(error);
      };
      const head = asHead(await tx.objectStore('meta').get('head'));
      const records = tx.objectStore('records');
      let fields: Record<string, unknown> = { ...draft };
      if (draft.phase === 'outcome') {
        const intent = await openIntent(records, draft.intentSeq);
        if (!intent.ok) return refuse(intent.error);
        for (const name of INHERITED_FROM_INTENT) fields[name] ??= intent.value[name];
      }
      fields = { ...fields, seq: head.treeSize + 1, time: this.#now().toISOString(), stationId: this.stationId, appBuild: this.appBuild };
      const admitted = admitRecord(fields, this.knownSecrets);
      if (!admitted.ok) return refuse(admitted.error);
      const hash = entryHash(hexToBytes(head.entryHash), admitted.value);
      const frontier = frontierAppend(frontierOf(head), leafHash(hash));
      const stored: StoredRecord = { ...admitted.value, entryHash: bytesToHex(hash) };
      const next: LogHead = { kind: 'head', treeSize: stored.seq, entryHash: stored.entryHash, frontier: frontier.nodes.map(bytesToHex) };
      await Promise.all([records.add(stored), tx.objectStore('meta').put(next, 'head'), tx.done]);
      written = { stored, head: next };
    } catch (caught) {
      return err(caughtError('audit-storage', 'could not write the audit record', caught));
    }
    if (written.head.treeSize - this.#lastCheckpointSize >= this.#every) await this.#signAndStore(written.head);
    return ok(written.stored);
  }

  /** Intents without outcomes: runs interrupted before they were closed, for start-up reconciliation. */
  async unreconciledIntents(): Promise<Result<StoredRecord[], AuditError>> {
    try {
      const tx = this.#db.transaction('records');
      const intents = await tx.store.index('phase').getAllKeys('intent');
      const closed = new Set<number>();
      for (let cursor = await tx.store.index('intentSeq').openKeyCursor(); cursor; cursor = await cursor.continue()) closed.add(cursor.key);
      const open = await Promise.all(intents.filter((seq) => !closed.has(seq)).map((seq) => tx.store.get(seq)));
      return ok(open.filter((record): record is StoredRecord => record !== undefined));
    } catch (caught) {
      return err(caughtError('audit-storage', 'could not read the audit log', caught));
    }
  }

  async get(seq: number): Promise<Result<StoredRecord | undefined, AuditError>> {
    try {
      return ok(await this.#db.get('records', seq));
    } catch (caught) {
      return err(caughtError('audit-storage', `could not read record ${seq}`, caught));
    }
  }

  /** Records `from..to` (inclusive), in seq order. */
  async records(from = 1, to = Number.MAX_SAFE_INTEGER): Promise<Result<StoredRecord[], AuditError>> {
    try {
      return ok(await this.#db.getAll('records', IDBKeyRange.bound(from, to)));
    } catch (caught) {
      return err(caughtError('audit-storage', `could not read records ${from}..${to}`, caught));
    }
  }

  async head(): Promise<Result<LogHeadInfo, AuditError>> {
    const head = await this.#readHead();
    if (!head.ok) return head;
    return ok({ treeSize: head.value.treeSize, entryHash: head.value.entryHash, rootHash: bytesToHex(frontierRoot(frontierOf(head.value))) });
  }

  /** All stored checkpoints, by tree size. */
  async checkpoints(): Promise<Result<SignedCheckpoint[], AuditError>> {
    try {
      return ok(await this.#db.getAll('checkpoints'));
    } catch (caught) {
      return err(caughtError('audit-storage', 'could not read the checkpoints', caught));
    }
  }

  /** A signed checkpoint of the log as it is now (the stored one if the log has not grown since). */
  async checkpoint(): Promise<Result<SignedCheckpoint, AuditError>> {
    const head = await this.#readHead();
    if (!head.ok) return head;
    try {
      const existing = await this.#db.get('checkpoints', head.value.treeSize);
      if (existing) return ok(existing);
    } catch (caught) {
      return err(caughtError('audit-storage', 'could not read the checkpoints', caught));
    }
    return this.#signAndStore(head.value);
  }

  close(): void {
    this.#db.close();
  }

  async #readHead(): Promise<Result<LogHead, AuditError>> {
    try {
      return ok(asHead(await this.#db.get('meta', 'head')));
    } catch (caught) {
      return err(caughtError('audit-storage', 'could not read the log head', caught));
    }
  }

  async #signAndStore(head: LogHead): Promise<Result<SignedCheckpoint, AuditError>> {
    const rootHash = bytesToHex(frontierRoot(frontierOf(head)));
    const signed = await signCheckpoint(this.station, { stationId: this.stationId, treeSize: head.treeSize, rootHash, time: this.#now().toISOString() });
    if (!signed.ok) return signed;
    try {
      const tx = this.#db.transaction('checkpoints', 'readwrite', STRICT);
      await Promise.all([tx.store.put(signed.value), tx.done]);
    } catch (caught) {
      return err(caughtError('audit-storage', `could not store the checkpoint at tree size ${head.treeSize}`, caught));
    }
    this.#lastCheckpointSize = Math.max(this.#lastCheckpointSize, head.treeSize);
    return signed;
  }
}

/** The intent an outcome closes: it must exist, be an intent, and not be closed yet. */
async function openIntent(records: RecordStore, intentSeq: number | undefined): Promise<Result<StoredRecord, AuditError>> {
  const intent = typeof intentSeq === 'number' ? await records.get(intentSeq) : undefined;
  if (!intent || intent.phase !== 'intent') return err(auditError('audit-unknown-intent', `there is no intent with seq ${String(intentSeq)} to close`, 'intentSeq'));
  if ((await records.index('intentSeq').count(intentSeq)) > 0) return err(auditError('audit-outcome-exists', `intent ${intentSeq} already has an outcome`, 'intentSeq'));
  return ok(intent);
}

// ---------------------------------------------------------------------------------------------
// Storage persistence: ask the browser not to evict the log, and show how much room is used.

export interface PersistenceState {
  /** The browser has the Storage API at all. */
  supported: boolean;
  /** Storage is persistent: the browser will not evict it under pressure. */
  persisted: boolean;
}

/** Calls `navigator.storage.persist()` when there is one. Never throws. */
export async function requestPersistence(storage: StorageManager | undefined = globalThis.navigator?.storage): Promise<PersistenceState> {
  if (!storage || typeof storage.persist !== 'function') return { supported: false, persisted: false };
  try {
    if (typeof storage.persisted === 'function' && (await storage.persisted())) return { supported: true, persisted: true };
    return { supported: true, persisted: await storage.persist() };
  } catch {
    return { supported: true, persisted: false };
  }
}

/** Bytes used and available to this origin, or null when the browser cannot say. */
export async function storageEstimate(storage: StorageManager | undefined = globalThis.navigator?.storage): Promise<{ usage: number; quota: number } | null> {
  if (!storage || typeof storage.estimate !== 'function') return null;
  try {
    const { usage, quota } = await storage.estimate();
    return typeof usage === 'number' && typeof quota === 'number' ? { usage, quota } : null;
  } catch {
    return null;
  }
}
