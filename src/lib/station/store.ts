/**
 * The station's queue and setup in IndexedDB (idb 8, typed by `StationSchema`), so a closed tab
 * or a crash mid-queue loses nothing: every job change is one `{ durability: 'strict' }`
 * transaction, written before the station goes on. Live progress is not stored (it is stale the
 * moment the tab closes); the image the operator chose is, so a reload needs no new file.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { StationJob } from './job';

export const STATION_DB_NAME = 'imprint-station';
const STATION_DB_VERSION = 1;
const STRICT: IDBTransactionOptions = { durability: 'strict' };

/** What the operator chose for the shift; the CA is the active CA (the CA page), known values are never stored. */
export interface StoredSetup {
  profileId: string;
  /** `fresh`: operator-valued keys get a new value per board, made in the browser; `given`: the operator's values, held in the tab only. */
  keyValues: 'fresh' | 'given';
  operator: string;
  image: { name: string; bytes: Uint8Array } | null;
}

export type StoredJob = Omit<StationJob, 'progress'>;

interface StationSchema extends DBSchema {
  jobs: { key: string; value: StoredJob };
  setup: { key: 'setup'; value: StoredSetup };
}

export interface StationStore {
  loadJobs(): Promise<StationJob[]>;
  saveJob(job: StationJob): Promise<void>;
  deleteJobs(ids: readonly string[]): Promise<void>;
  loadSetup(): Promise<StoredSetup | null>;
  saveSetup(setup: StoredSetup): Promise<void>;
}

/**
 * The IndexedDB store; one that remembers in memory only where IndexedDB is missing.
 * @example const store = openStationStore(); const jobs = await store.loadJobs();
 */
export function openStationStore(name = STATION_DB_NAME): StationStore {
  if (typeof indexedDB === 'undefined') return memoryStationStore();
  let db: Promise<IDBPDatabase<StationSchema>> | null = null;
  const open = () =>
    (db ??= openDB<StationSchema>(name, STATION_DB_VERSION, {
      upgrade(database) {
        database.createObjectStore('jobs', { keyPath: 'id' });
        database.createObjectStore('setup');
      },
    }));
  return {
    async loadJobs() {
      const jobs = await (await open()).getAll('jobs');
      return jobs.map((job) => ({ ...job, progress: null })).sort((a, b) => a.order - b.order);
    },
    async saveJob(job) {
      const tx = (await open()).transaction('jobs', 'readwrite', STRICT);
      await Promise.all([tx.store.put(stored(job)), tx.done]);
    },
    async deleteJobs(ids) {
      const tx = (await open()).transaction('jobs', 'readwrite', STRICT);
      await Promise.all([...ids.map((id) => tx.store.delete(id)), tx.done]);
    },
    async loadSetup() {
      return (await (await open()).get('setup', 'setup')) ?? null;
    },
    async saveSetup(setup) {
      const tx = (await open()).transaction('setup', 'readwrite', STRICT);
      await Promise.all([tx.store.put(setup, 'setup'), tx.done]);
    },
  };
}

export function memoryStationStore(): StationStore {
  const jobs = new Map<string, StoredJob>();
  let setup: StoredSetup | null = null;
  return {
    loadJobs: async () => [...jobs.values()].map((job) => ({ ...structuredClone(job), progress: null })).sort((a, b) => a.order - b.order),
    saveJob: async (job) => void jobs.set(job.id, structuredClone(stored(job))),
    deleteJobs: async (ids) => ids.forEach((id) => jobs.delete(id)),
    loadSetup: async () => (setup ? structuredClone(setup) : null),
    saveSetup: async (value) => void (setup = structuredClone(value)),
  };
}

function stored(job: StationJob): StoredJob {
  const { progress: _progress, ...rest } = job;
  return rest;
}
