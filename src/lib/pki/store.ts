/**
 * Persistence of CAs, their revocation entries and CRL numbers in IndexedDB through idb 8, typed
 * by one `DBSchema`. A CA record holds its certificates and its non-extractable `CryptoKey`s as
 * they are: IndexedDB stores CryptoKeys by structured clone without exposing key bytes (Node's
 * structuredClone does too, so the tests run the real code under fake-indexeddb, no seam).
 * Every write transaction asks for `{ durability: 'strict' }` (Chrome defaults to relaxed since
 * 121): a CA the operator was told exists must survive a crash.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { type Result, ok } from '../smp/result';
import { type CertificateAuthority } from './authority';
import { type Revocation } from './crl';
import { fail, type PkiError } from './errors';

export const PKI_DB_NAME = 'imprint-pki';
const PKI_DB_VERSION = 1;
const STRICT = { durability: 'strict' } as const;

interface StoredRevocation extends Revocation {
  caId: string;
}

export interface PkiDbSchema extends DBSchema {
  cas: { key: string; value: CertificateAuthority; indexes: { 'by-created': Date } };
  revocations: { key: [string, string]; value: StoredRevocation; indexes: { 'by-ca': string } };
  'crl-numbers': { key: string; value: { caId: string; last: number } };
}

export type CaStoreErrorCode = 'store-unknown-ca' | 'store-already-revoked';
export type CaStoreError = PkiError<CaStoreErrorCode>;

export interface CaStore {
  /** Adds or replaces (same id) a CA. */
  saveCa(ca: CertificateAuthority): Promise<void>;
  /** Oldest first. */
  listCas(): Promise<CertificateAuthority[]>;
  loadCa(id: string): Promise<CertificateAuthority | undefined>;
  /** Deletes the CA, its revocations and its CRL counter in one transaction; false when there was none. */
  deleteCa(id: string): Promise<boolean>;
  addRevocation(caId: string, revocation: Revocation): Promise<Result<void, CaStoreError>>;
  listRevocations(caId: string): Promise<Revocation[]>;
  /** The next CRL number for this CA (1, 2, …), taken atomically. */
  nextCrlNumber(caId: string): Promise<Result<number, CaStoreError>>;
  close(): void;
}

/**
 * @example const store = await openCaStore(); await store.saveCa(created.ca); const cas = await store.listCas();
 */
export async function openCaStore(name = PKI_DB_NAME): Promise<CaStore> {
  const db = await openDB<PkiDbSchema>(name, PKI_DB_VERSION, {
    upgrade(database) {
      const cas = database.createObjectStore('cas', { keyPath: 'id' });
      cas.createIndex('by-created', 'createdAt');
      const revocations = database.createObjectStore('revocations', { keyPath: ['caId', 'serialNumber'] });
      revocations.createIndex('by-ca', 'caId');
      database.createObjectStore('crl-numbers', { keyPath: 'caId' });
    },
  });
  return new IdbCaStore(db);
}

class IdbCaStore implements CaStore {
  constructor(private readonly db: IDBPDatabase<PkiDbSchema>) {}

  async saveCa(ca: CertificateAuthority): Promise<void> {
    const tx = this.db.transaction('cas', 'readwrite', STRICT);
    await Promise.all([tx.store.put(ca), tx.done]);
  }

  listCas(): Promise<CertificateAuthority[]> {
    return this.db.getAllFromIndex('cas', 'by-created');
  }

  loadCa(id: string): Promise<CertificateAuthority | undefined> {
    return this.db.get('cas', id);
  }

  async deleteCa(id: string): Promise<boolean> {
    const tx = this.db.transaction(['cas', 'revocations', 'crl-numbers'], 'readwrite', STRICT);
    const existed = (await tx.objectStore('cas').getKey(id)) !== undefined;
    if (existed) {
      await tx.objectStore('cas').delete(id);
      const revocations = tx.objectStore('revocations');
      for (const key of await revocations.index('by-ca').getAllKeys(id)) await revocations.delete(key);
      await tx.objectStore('crl-numbers').delete(id);
    }
    await tx.done;
    return existed;
  }

  async addRevocation(caId: string, revocation: Revocation): Promise<Result<void, CaStoreError>> {
    const tx = this.db.transaction(['cas', 'revocations'], 'readwrite', STRICT);
    if ((await tx.objectStore('cas').getKey(caId)) === undefined) return abort(tx, 'store-unknown-ca', `no CA with id ${caId}`);
    const revocations = tx.objectStore('revocations');
    if ((await revocations.getKey([caId, revocation.serialNumber])) !== undefined) {
      return abort(tx, 'store-already-revoked', `serial ${revocation.serialNumber} is already revoked`);
    }
    await revocations.add({ ...revocation, caId });
    await tx.done;
    return ok(undefined);
  }

  async listRevocations(caId: string): Promise<Revocation[]> {
    const stored = await this.db.getAllFromIndex('revocations', 'by-ca', caId);
    return stored.map(({ caId: _, ...revocation }) => revocation);
  }

  async nextCrlNumber(caId: string): Promise<Result<number, CaStoreError>> {
    const tx = this.db.transaction(['cas', 'crl-numbers'], 'readwrite', STRICT);
    if ((await tx.objectStore('cas').getKey(caId)) === undefined) return abort(tx, 'store-unknown-ca', `no CA with id ${caId}`);
    const counters = tx.objectStore('crl-numbers');
    const next = ((await counters.get(caId))?.last ?? 0) + 1;
    await counters.put({ caId, last: next });
    await tx.done;
    return ok(next);
  }

  close(): void {
    this.db.close();
  }
}

/** Aborts a write transaction (so nothing of it lands) and returns the typed refusal. */
async function abort(tx: { abort(): void; done: Promise<void> }, code: CaStoreErrorCode, message: string): Promise<{ ok: false; error: CaStoreError }> {
  tx.abort();
  await tx.done.catch(() => undefined);
  return fail(code, message);
}
