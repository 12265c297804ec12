/**
 * The pending external-CA batch, kept in IndexedDB so a reload between sending CSRs to the CA and
 * getting certificates back loses nothing. Public material only: CSRs, device ids, fingerprints.
 * Written with strict durability, like the other stores of the app.
 */
import { openDB, type DBSchema, type IDBPDatabase, type IDBPObjectStore } from 'idb';

export interface PendingCsr {
  deviceId: string;
  /** PEM `CERTIFICATE REQUEST`, as verified when collected. */
  csr: string;
  subject: string;
  /** The board's key the CSR is for. */
  keyId: number;
  /** SHA-256 of the key's SubjectPublicKeyInfo, hex. */
  keyFingerprint: string;
  boardSerial?: string;
  collectedAt: string;
  /** Set once the certificate is stored on the board, read back and verified. */
  storedCertFingerprint?: string;
}

interface CsrBatchDb extends DBSchema {
  requests: { key: string; value: PendingCsr };
}

export interface CsrBatchStore {
  load(): Promise<PendingCsr[]>;
  save(request: PendingCsr): Promise<void>;
  remove(deviceId: string): Promise<void>;
  clear(): Promise<void>;
}

/** The IndexedDB store (keyed by device id); a store that keeps nothing where IndexedDB is missing. */
export function createCsrBatchStore(dbName = 'imprint-external-ca'): CsrBatchStore {
  if (typeof indexedDB === 'undefined') return { load: async () => [], save: async () => {}, remove: async () => {}, clear: async () => {} };
  let db: Promise<IDBPDatabase<CsrBatchDb>> | null = null;
  const open = () => (db ??= openDB<CsrBatchDb>(dbName, 1, { upgrade: (database) => database.createObjectStore('requests', { keyPath: 'deviceId' }) }));
  const write = async (change: (store: IDBPObjectStore<CsrBatchDb, ['requests'], 'requests', 'readwrite'>) => Promise<unknown>) => {
    const tx = (await open()).transaction('requests', 'readwrite', { durability: 'strict' });
    await Promise.all([change(tx.store), tx.done]);
  };
  return {
    async load() {
      const all = await (await open()).getAll('requests');
      return all.sort((a, b) => a.collectedAt.localeCompare(b.collectedAt));
    },
    save: (request) => write((store) => store.put(request)),
    remove: (deviceId) => write((store) => store.delete(deviceId)),
    clear: () => write((store) => store.clear()),
  };
}
