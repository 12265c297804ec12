/**
 * The Audit page's records table: the whole local log held in memory (read from IndexedDB in
 * chunks), filtered by serial, station, result and date, shown newest first through a virtual
 * scroller (AuditRecordsCard renders only the rows in view), and the chain status: every record's
 * entryHash recomputed, every seq in order, every stored checkpoint's Merkle root and signature
 * checked — in chunks with a yield between them, so 100,000 records never hold the main thread
 * for long (docs/ui.md "Audit page").
 */
import { bytesToHex } from '../util/bytes';
import { chainHash, GENESIS_PREV_HASH, type StoredRecord } from '../audit/chain';
import { canonicalRecordBytes } from '../audit/canonical';
import { type SignedCheckpoint, verifyCheckpointSignature } from '../audit/checkpoint';
import { EMPTY_FRONTIER, frontierAppend, frontierRoot, leafHash, type MerkleFrontier } from '../audit/merkle';
import type { AuditLog } from '../audit';
import type { AuditRecord } from '../audit/record';

export type ResultFilter = '' | 'ok' | 'failed' | 'unknown' | 'intent';

export interface AuditFilters {
  /** Substring of the board serial or device id, any case. */
  serial: string;
  /** Substring of the station id. */
  station: string;
  result: ResultFilter;
  /** `YYYY-MM-DD`, UTC, inclusive; '' for no bound. */
  from: string;
  to: string;
}

export const NO_FILTERS: AuditFilters = { serial: '', station: '', result: '', from: '', to: '' };

export type ChainStatus =
  | { state: 'idle' }
  | { state: 'checking'; checked: number; total: number }
  | { state: 'ok'; records: number; checkpoints: number; ms: number }
  | { state: 'broken'; seq: number; reason: string; records: number };

/** Records read from IndexedDB per transaction, and hashed per slice before yielding. */
export const LOAD_CHUNK = 5000;
export const VERIFY_CHUNK = 1000;

/** Gives the event loop a turn: input, paint and timers run between chunks. */
export const yieldToMain = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** The records `filters` keeps, as indexes into `records`, newest first. */
export function filterRecords(records: readonly StoredRecord[], filters: AuditFilters): number[] {
  const serial = filters.serial.trim().toLowerCase();
  const station = filters.station.trim().toLowerCase();
  const from = filters.from ? `${filters.from}T00:00:00.000Z` : '';
  const to = filters.to ? `${filters.to}T23:59:59.999Z` : '';
  const out: number[] = [];
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (serial && !(r.boardSerial?.toLowerCase().includes(serial) || r.deviceId?.toLowerCase().includes(serial))) continue;
    if (station && !r.stationId.includes(station)) continue;
    if (filters.result === 'intent' ? r.phase !== 'intent' : filters.result && r.result !== filters.result) continue;
    if (from && r.time < from) continue;
    if (to && r.time > to) continue;
    out.push(i);
  }
  return out;
}

/**
 * Checks the local log: seq 1, 2, 3 … with no gap, each entryHash the hash of the previous one and
 * the record's canonical bytes, each stored checkpoint's root that of records 1..treeSize, and its
 * signature the station's. Stops at the first bad record and says which and why.
 */
export async function checkLocalChain(
  records: readonly StoredRecord[],
  checkpoints: readonly SignedCheckpoint[],
  publicKey: CryptoKey | null,
  onProgress: (checked: number) => void = () => {},
  chunk = VERIFY_CHUNK,
): Promise<Exclude<ChainStatus, { state: 'idle' | 'checking' }>> {
  const started = performance.now();
  const bySize = new Map(checkpoints.map((checkpoint) => [checkpoint.treeSize, checkpoint]));
  let prev = GENESIS_PREV_HASH;
  let frontier: MerkleFrontier = EMPTY_FRONTIER;
  const broken = (seq: number, reason: string) => ({ state: 'broken' as const, seq, reason, records: records.length });
  for (let i = 0; i < records.length; i++) {
    const stored = records[i]!;
    if (stored.seq !== i + 1) return broken(i + 1, stored.seq > i + 1 ? `record ${i + 1} is missing (the next one is seq ${stored.seq})` : `seq ${stored.seq} is out of order`);
    const { entryHash, ...record } = stored;
    const hash = chainHash(prev, canonicalRecordBytes(record as AuditRecord));
    const hex = bytesToHex(hash);
    if (hex !== entryHash) return broken(stored.seq, 'its content does not match its entryHash (edited, or its chain link broken)');
    prev = hash;
    frontier = frontierAppend(frontier, leafHash(hash));
    const checkpoint = bySize.get(stored.seq);
    if (checkpoint) {
      if (bytesToHex(frontierRoot(frontier)) !== checkpoint.rootHash) return broken(stored.seq, `the signed checkpoint at tree size ${checkpoint.treeSize} states another root: a record up to here was changed`);
      if (publicKey && !(await verifyCheckpointSignature(checkpoint, publicKey))) return broken(stored.seq, `the checkpoint at tree size ${checkpoint.treeSize} has a bad signature`);
    }
    if ((i + 1) % chunk === 0) {
      onProgress(i + 1);
      await yieldToMain();
    }
  }
  const beyond = checkpoints.find((checkpoint) => checkpoint.treeSize > records.length);
  if (beyond) return broken(records.length + 1, `a checkpoint covers ${beyond.treeSize} records but the log holds ${records.length}: records were lost`);
  onProgress(records.length);
  return { state: 'ok', records: records.length, checkpoints: bySize.size, ms: Math.round(performance.now() - started) };
}

export class AuditTable {
  /** Every record of the local log, oldest first (seq 1 at index 0). Replaced, never mutated. */
  all = $state.raw<StoredRecord[]>([]);
  filters = $state<AuditFilters>({ ...NO_FILTERS });
  /** Indexes into `all` of the rows shown, newest first. */
  readonly rows: number[] = $derived(filterRecords(this.all, this.filters));
  loading = $state(false);
  error = $state<string | null>(null);
  chain = $state.raw<ChainStatus>({ state: 'idle' });
  /** The seq the table should scroll to and highlight (the first bad record, or a picked one). */
  focusSeq = $state<number | null>(null);
  /** How long the last full load took, ms (shown for the 100,000-record figure). */
  loadMs = $state<number | null>(null);

  readonly #log: () => Promise<AuditLog | null>;
  #generation = 0;

  constructor(log: () => Promise<AuditLog | null>) {
    this.#log = log;
  }

  get filtered(): boolean {
    const f = this.filters;
    return !!(f.serial || f.station || f.result || f.from || f.to);
  }

  /** The record a visible row shows (row 0 = newest matching). */
  row(index: number): StoredRecord | undefined {
    const at = this.rows[index];
    return at === undefined ? undefined : this.all[at];
  }

  clearFilters(): void {
    this.filters = { ...NO_FILTERS };
  }

  /** Reads records the table does not hold yet (all of them the first time), then checks the chain (unless told not to). */
  async load(check = true): Promise<void> {
    const log = await this.#log();
    if (!log) return;
    const generation = ++this.#generation;
    this.loading = true;
    this.error = null;
    const started = performance.now();
    try {
      const head = await log.head();
      if (!head.ok) throw new Error(head.error.message);
      const total = head.value.treeSize;
      const have = this.all.length;
      const next: StoredRecord[] = this.all.slice();
      for (let from = have + 1; from <= total; from += LOAD_CHUNK) {
        const read = await log.records(from, Math.min(total, from + LOAD_CHUNK - 1));
        if (!read.ok) throw new Error(read.error.message);
        if (generation !== this.#generation) return;
        for (const record of read.value) next.push(record);
      }
      if (next.length !== have) this.all = next;
      this.loadMs = Math.round(performance.now() - started);
    } catch (error) {
      this.error = `The records could not be read: ${error instanceof Error ? error.message : String(error)}`;
      return;
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
    if (check) await this.verify();
  }

  /** Re-reads everything (after an import of another database, say) and re-checks. */
  async reload(): Promise<void> {
    this.all = [];
    this.chain = { state: 'idle' };
    await this.load();
  }

  /** Checks the chain of what is loaded, in chunks; the badge follows. */
  async verify(): Promise<void> {
    const log = await this.#log();
    if (!log) return;
    const generation = this.#generation;
    const records = this.all;
    const checkpoints = await log.checkpoints();
    if (!checkpoints.ok) {
      this.chain = { state: 'broken', seq: 0, reason: `the checkpoints could not be read: ${checkpoints.error.message}`, records: records.length };
      return;
    }
    this.chain = { state: 'checking', checked: 0, total: records.length };
    const status = await checkLocalChain(records, checkpoints.value, log.station.keys.publicKey, (checked) => {
      if (generation === this.#generation) this.chain = { state: 'checking', checked, total: records.length };
    });
    if (generation === this.#generation) this.chain = status;
  }

  /** Shows `seq`: filters that hide it are cleared; the card scrolls to it. */
  focus(seq: number): void {
    const index = seq - 1;
    if (index < 0 || index >= this.all.length) return;
    if (!this.rows.includes(index)) this.clearFilters();
    this.focusSeq = seq;
  }

  /** The row (in `rows`) showing `seq`, or -1. */
  rowOf(seq: number): number {
    return this.rows.indexOf(seq - 1);
  }
}
