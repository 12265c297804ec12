/**
 * The station's small settings in IndexedDB: which CA issues device certificates, and the
 * wrapped backup file of each CA that has one. The CA store (pki/store.ts) keeps the CA itself;
 * a backup can only be made at the moment a CA is created or imported, so the wrapped JSON
 * (PBKDF2-SHA256 ≥ 600,000 iterations + AES-256-GCM: useless without the passphrase) is kept here
 * to be downloaded again later. Writes are strict: a choice the operator saw saved stays saved.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

interface SettingsDb extends DBSchema {
  settings: { key: 'active-ca'; value: string };
  /** Wrapped CA backups (`serializeCaBackup` text), by CA id. */
  'ca-backups': { key: string; value: string };
}

export const SETTINGS_DB_NAME = 'imprint-settings';
const STRICT = { durability: 'strict' } as const;

export interface StationSettings {
  activeCaId(): Promise<string | null>;
  setActiveCaId(id: string | null): Promise<void>;
  caBackup(caId: string): Promise<string | null>;
  saveCaBackup(caId: string, text: string): Promise<void>;
}

/** The IndexedDB settings; a store that remembers only in memory where IndexedDB is missing. */
export function createStationSettings(name = SETTINGS_DB_NAME): StationSettings {
  if (typeof indexedDB === 'undefined') return memorySettings();
  let db: Promise<IDBPDatabase<SettingsDb>> | null = null;
  const open = () =>
    (db ??= openDB<SettingsDb>(name, 1, {
      upgrade(database) {
        database.createObjectStore('settings');
        database.createObjectStore('ca-backups');
      },
    }));
  return {
    async activeCaId() {
      return (await (await open()).get('settings', 'active-ca')) ?? null;
    },
    async setActiveCaId(id) {
      const tx = (await open()).transaction('settings', 'readwrite', STRICT);
      await Promise.all([id === null ? tx.store.delete('active-ca') : tx.store.put(id, 'active-ca'), tx.done]);
    },
    async caBackup(caId) {
      return (await (await open()).get('ca-backups', caId)) ?? null;
    },
    async saveCaBackup(caId, text) {
      const tx = (await open()).transaction('ca-backups', 'readwrite', STRICT);
      await Promise.all([tx.store.put(text, caId), tx.done]);
    },
  };
}

function memorySettings(): StationSettings {
  let active: string | null = null;
  const backups = new Map<string, string>();
  return {
    activeCaId: async () => active,
    setActiveCaId: async (id) => void (active = id),
    caBackup: async (caId) => backups.get(caId) ?? null,
    saveCaBackup: async (caId, text) => void backups.set(caId, text),
  };
}
