/**
 * Anti-replay per device: a sliding window of 64 counters over the telemetry counter, as DTLS
 * (RFC 9147 §4.5.1) and IPsec (RFC 4303 §3.4.3, RFC 6479) keep one. The highest counter seen is
 * `top`; bit i of `bitmap` says counter top−i was seen. A counter above `top` slides the window;
 * one inside it is accepted once (a late but unseen message); one below it is too old.
 *
 * The window lives in IndexedDB, and a message counts as accepted only once the transaction that
 * moved its window has committed with `{ durability: 'strict' }`: a reload, a crash or a second
 * tab (IndexedDB serialises readwrite transactions on the store) can never reopen it. To keep
 * throughput, commits are grouped: messages that arrive while a transaction is in flight go
 * together into the next one (`ReplayCommitter`), read-check-write in one transaction.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { type Result, ok, err } from '../smp/result';

export const REPLAY_WINDOW_SIZE = 64;
const WINDOW_MASK = (1n << BigInt(REPLAY_WINDOW_SIZE)) - 1n;
export const CONSOLE_DB_NAME = 'imprint-console';
const CONSOLE_DB_VERSION = 1;
const STRICT: IDBTransactionOptions = { durability: 'strict' };
/** Messages per transaction at most: a burst is cut into transactions of this size. */
export const DEFAULT_MAX_BATCH = 512;

export interface ReplayWindow {
  /** Highest counter accepted; -1 before the first. */
  top: bigint;
  /** Bit i: counter top − i was accepted. */
  bitmap: bigint;
}

export const EMPTY_WINDOW: Readonly<ReplayWindow> = { top: -1n, bitmap: 0n };

export type ReplayVerdict = 'fresh' | 'replay' | 'too-old';

/**
 * @example checkCounter({ top: 100n, bitmap: 1n }, 99n) === 'fresh'; checkCounter(w, 100n) === 'replay'; checkCounter(w, 36n) === 'too-old'
 */
export function checkCounter(window: ReplayWindow, counter: bigint): ReplayVerdict {
  if (counter > window.top) return 'fresh';
  const behind = window.top - counter;
  if (behind >= BigInt(REPLAY_WINDOW_SIZE)) return 'too-old';
  return (window.bitmap >> behind) & 1n ? 'replay' : 'fresh';
}

/** The window after accepting `counter` (which `checkCounter` found fresh). */
export function acceptCounter(window: ReplayWindow, counter: bigint): ReplayWindow {
  if (counter > window.top) {
    const shift = counter - window.top;
    const bitmap = shift >= BigInt(REPLAY_WINDOW_SIZE) ? 1n : ((window.bitmap << shift) | 1n) & WINDOW_MASK;
    return { top: counter, bitmap };
  }
  return { top: window.top, bitmap: window.bitmap | (1n << (window.top - counter)) };
}

/** As stored: decimal and hex text, so any IndexedDB (and any export) keeps 64-bit values exactly. */
interface StoredWindow {
  deviceId: string;
  top: string;
  bitmap: string;
  updatedAt: string;
}

interface ConsoleSchema extends DBSchema {
  windows: { key: string; value: StoredWindow };
}

export interface ReplayError {
  code: 'replay-storage';
  message: string;
}

export interface CounterClaim {
  deviceId: string;
  counter: bigint;
}

/** The windows in IndexedDB. */
export class ReplayStore {
  readonly #db: IDBPDatabase<ConsoleSchema>;
  readonly #now: () => Date;

  private constructor(db: IDBPDatabase<ConsoleSchema>, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  static async open(name: string = CONSOLE_DB_NAME, now: () => Date = () => new Date()): Promise<Result<ReplayStore, ReplayError>> {
    try {
      const db = await openDB<ConsoleSchema>(name, CONSOLE_DB_VERSION, {
        upgrade(upgrading) {
          upgrading.createObjectStore('windows', { keyPath: 'deviceId' });
        },
      });
      return ok(new ReplayStore(db, now));
    } catch (caught) {
      return err({ code: 'replay-storage', message: `could not open the console database: ${describe(caught)}` });
    }
  }

  /**
   * Checks `claims` in order against their devices' windows and moves the windows, all in one
   * strict transaction; the verdicts hold only once it committed, which is when this resolves.
   * A failed transaction accepts nothing: every claim of the batch gets the error.
   */
  async commit(claims: readonly CounterClaim[]): Promise<Result<ReplayVerdict[], ReplayError>> {
    if (claims.length === 0) return ok([]);
    try {
      const tx = this.#db.transaction('windows', 'readwrite', STRICT);
      const devices = [...new Set(claims.map((claim) => claim.deviceId))];
      const stored = await Promise.all(devices.map((deviceId) => tx.store.get(deviceId)));
      const windows = new Map(devices.map((deviceId, i) => [deviceId, fromStored(stored[i])]));
      const changed = new Set<string>();
      const verdicts = claims.map(({ deviceId, counter }) => {
        const window = windows.get(deviceId)!;
        const verdict = checkCounter(window, counter);
        if (verdict === 'fresh') {
          windows.set(deviceId, acceptCounter(window, counter));
          changed.add(deviceId);
        }
        return verdict;
      });
      const updatedAt = this.#now().toISOString();
      await Promise.all([...[...changed].map((deviceId) => tx.store.put(toStored(deviceId, windows.get(deviceId)!, updatedAt))), tx.done]);
      return ok(verdicts);
    } catch (caught) {
      return err({ code: 'replay-storage', message: `the replay window could not be stored, so nothing in this batch was accepted: ${describe(caught)}` });
    }
  }

  async window(deviceId: string): Promise<Result<ReplayWindow, ReplayError>> {
    try {
      return ok(fromStored(await this.#db.get('windows', deviceId)));
    } catch (caught) {
      return err({ code: 'replay-storage', message: `could not read the window of ${deviceId}: ${describe(caught)}` });
    }
  }

  close(): void {
    this.#db.close();
  }
}

function fromStored(stored: StoredWindow | undefined): ReplayWindow {
  return stored ? { top: BigInt(stored.top), bitmap: BigInt(`0x${stored.bitmap}`) } : EMPTY_WINDOW;
}

function toStored(deviceId: string, window: ReplayWindow, updatedAt: string): StoredWindow {
  return { deviceId, top: window.top.toString(), bitmap: window.bitmap.toString(16), updatedAt };
}

function describe(caught: unknown): string {
  return caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
}

interface Pending {
  claim: CounterClaim;
  resolve: (verdict: Result<ReplayVerdict, ReplayError>) => void;
}

/**
 * Group commit: `submit` queues a claim; whatever is queued when the store is free goes into one
 * transaction (up to `maxBatch`), in submission order. Resolves per claim after the commit.
 */
export class ReplayCommitter {
  readonly #store: Pick<ReplayStore, 'commit'>;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #running = false;
  /** Transactions committed, and claims in them: for the benchmark and the status line. */
  transactions = 0;
  claims = 0;

  constructor(store: Pick<ReplayStore, 'commit'>, maxBatch = DEFAULT_MAX_BATCH) {
    this.#store = store;
    this.#maxBatch = maxBatch;
  }

  submit(claim: CounterClaim): Promise<Result<ReplayVerdict, ReplayError>> {
    return new Promise((resolve) => {
      this.#queue.push({ claim, resolve });
      if (!this.#running) {
        this.#running = true;
        // Let the claims that arrive in this same turn join the first transaction.
        queueMicrotask(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      const committed = await this.#store.commit(batch.map((pending) => pending.claim));
      this.transactions++;
      this.claims += batch.length;
      batch.forEach((pending, i) => pending.resolve(committed.ok ? ok(committed.value[i]!) : committed));
    }
    this.#running = false;
  }
}
