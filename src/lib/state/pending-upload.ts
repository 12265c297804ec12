/**
 * The image being uploaded, kept in IndexedDB until the board has all of it, so a closed tab or
 * a reload can offer to resume: the board keeps its offset for the same SHA-256, and we need the
 * same bytes to continue. Written with strict durability: a crash right after must not lose it.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export interface PendingUpload {
  name: string;
  bytes: Uint8Array;
  /** SHA-256 of the file, hex: what the board matches a resume by. */
  sha: string;
  /** The offset the board had last acknowledged, for the resume prompt. */
  acknowledged: number;
  savedAt: string;
}

interface UploadDb extends DBSchema {
  pending: { key: 'current'; value: PendingUpload };
}

const DB_NAME = 'imprint-uploads';

export interface PendingUploadStore {
  load(): Promise<PendingUpload | null>;
  save(upload: PendingUpload): Promise<void>;
  clear(): Promise<void>;
}

/** The IndexedDB store; a store that does nothing where IndexedDB is missing (Node without a polyfill). */
export function createPendingUploadStore(): PendingUploadStore {
  if (typeof indexedDB === 'undefined') return { load: async () => null, save: async () => {}, clear: async () => {} };
  let db: Promise<IDBPDatabase<UploadDb>> | null = null;
  const open = () => (db ??= openDB<UploadDb>(DB_NAME, 1, { upgrade: (database) => database.createObjectStore('pending') }));
  return {
    async load() {
      return (await (await open()).get('pending', 'current')) ?? null;
    },
    async save(upload) {
      const tx = (await open()).transaction('pending', 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.put(upload, 'current'), tx.done]);
    },
    async clear() {
      const tx = (await open()).transaction('pending', 'readwrite', { durability: 'strict' });
      await Promise.all([tx.store.delete('current'), tx.done]);
    },
  };
}
