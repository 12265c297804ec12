/**
 * The CA store over fake-indexeddb: CryptoKeys survive the round trip (Node's structuredClone
 * clones them, so no serializer seam is needed) and still sign; every write transaction asks for
 * strict durability; revocations and CRL numbers live and die with their CA.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaStore, type CertificateAuthority, createCa, issueDeviceCertificate, openCaStore, revokeCertificate } from '../../src/lib/pki';
import { deviceKeys, makeCsr } from './support/pki';

const writes: { stores: string[]; durability: string | undefined }[] = [];
const originalTransaction = IDBDatabase.prototype.transaction;
beforeAll(() => {
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, names: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) {
    if (mode === 'readwrite') writes.push({ stores: ([] as string[]).concat(names), durability: options?.durability });
    return originalTransaction.call(this, names, mode, options);
  } as typeof IDBDatabase.prototype.transaction;
});
afterAll(() => {
  IDBDatabase.prototype.transaction = originalTransaction;
});

async function newCa(label: string): Promise<CertificateAuthority> {
  const created = await createCa({ label });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.ca;
}

describe('CA store', () => {
  let store: CaStore;
  let first: CertificateAuthority;
  let second: CertificateAuthority;
  beforeAll(async () => {
    store = await openCaStore('pki-store-test');
    first = await newCa('First');
    second = await newCa('Second');
  });
  afterAll(() => store.close());

  it('saves, lists (oldest first), loads and reopens CAs with their non-extractable CryptoKeys', async () => {
    await store.saveCa(second);
    await store.saveCa({ ...first, createdAt: new Date(second.createdAt.getTime() - 1000) });
    expect((await store.listCas()).map((ca) => ca.label)).toEqual(['First', 'Second']);
    store.close();
    store = await openCaStore('pki-store-test');
    const loaded = await store.loadCa(second.id);
    expect(loaded?.intermediate.privateKey).toBeInstanceOf(CryptoKey);
    expect(loaded?.intermediate.privateKey.extractable).toBe(false);
    expect(loaded?.intermediate.certificate).toEqual(second.intermediate.certificate);
    const issued = await issueDeviceCertificate({ ca: loaded!, csr: await makeCsr(await deviceKeys()), subjectTemplate: 'CN={id}', subjectValues: { id: 'after-reload' }, validityDays: 1 });
    expect(issued.ok).toBe(true);
    expect(await store.loadCa('no-such-id')).toBeUndefined();
  });

  it('keeps revocations per CA, refuses duplicates and unknown CAs, and numbers CRLs 1, 2, 3', async () => {
    const revocation = await revokeCertificate(second, { serialNumber: '7a01' }, { reason: 'keyCompromise', at: new Date('2030-01-01T00:00:00Z') });
    if (!revocation.ok) throw new Error(revocation.error.message);
    expect(await store.addRevocation(second.id, revocation.value)).toEqual({ ok: true, value: undefined });
    const again = await store.addRevocation(second.id, revocation.value);
    expect(again.ok ? 'added' : again.error.code).toBe('store-already-revoked');
    const unknown = await store.addRevocation('no-such-ca', revocation.value);
    expect(unknown.ok ? 'added' : unknown.error.code).toBe('store-unknown-ca');
    expect(await store.listRevocations(second.id)).toEqual([revocation.value]);
    expect(await store.listRevocations(first.id)).toEqual([]);
    const numbers = [await store.nextCrlNumber(second.id), await store.nextCrlNumber(second.id), await store.nextCrlNumber(second.id)];
    expect(numbers).toEqual([1, 2, 3].map((value) => ({ ok: true, value })));
    const noCa = await store.nextCrlNumber('no-such-ca');
    expect(noCa.ok ? 'numbered' : noCa.error.code).toBe('store-unknown-ca');
  });

  it('deletes a CA with its revocations and CRL counter', async () => {
    expect(await store.deleteCa(second.id)).toBe(true);
    expect(await store.deleteCa(second.id)).toBe(false);
    expect(await store.loadCa(second.id)).toBeUndefined();
    expect(await store.listRevocations(second.id)).toEqual([]);
    await store.saveCa(second);
    expect(await store.nextCrlNumber(second.id)).toEqual({ ok: true, value: 1 });
    expect((await store.listCas()).map((ca) => ca.label)).toEqual(['First', 'Second']);
  });

  it('asked for strict durability on every write transaction', () => {
    expect(writes.length).toBeGreaterThan(5);
    expect(writes.filter((write) => write.durability !== 'strict')).toEqual([]);
  });
});
