/**
 * The IndexedDB audit store under fake-indexeddb: seq and entryHash assigned in one strict
 * transaction, every write strict, intents without outcomes found, outcomes closing intents once,
 * checkpoints every N records, the station key kept non-extractable across reopenings, and
 * the storage persistence helpers.
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AuditLog,
  entryHash,
  GENESIS_PREV_HASH,
  leafHash,
  openAuditLog,
  requestPersistence,
  storageEstimate,
  treeRoot,
  verifyCheckpointSignature,
} from '../../src/lib/audit';
import { bytesToHex, hexToBytes } from '../../src/lib/util/bytes';
import { APP_BUILD, freshDbName, openTestLog, provision, tickingClock } from './support/audit-fixture';

const opened: AuditLog[] = [];
async function log(options: Parameters<typeof openTestLog>[0] = {}): Promise<AuditLog> {
  const value = await openTestLog(options);
  opened.push(value);
  return value;
}
afterEach(() => {
  for (const value of opened.splice(0)) value.close();
  vi.restoreAllMocks();
});

async function allRecords(audit: AuditLog) {
  const records = await audit.records();
  if (!records.ok) throw new Error(records.error.message);
  return records.value;
}

describe('append', () => {
  it('assigns seq 1, 2, 3 …, fills station, build and time, and chains entryHash from 32 zero bytes', async () => {
    const audit = await log();
    await provision(audit, 3);
    const records = await allRecords(audit);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records[0]).toMatchObject({ stationId: audit.stationId, appBuild: APP_BUILD, phase: 'intent', action: 'keys.generate' });
    const times = records.map((r) => r.time);
    expect(times.every((time) => time.startsWith('2025-06-01T10:00:'))).toBe(true);
    expect([...times].sort()).toEqual(times);
    let prev = GENESIS_PREV_HASH;
    for (const { entryHash: stated, ...record } of records) {
      const expected = entryHash(prev, record);
      expect(stated).toBe(bytesToHex(expected));
      prev = expected;
    }
    const head = await audit.head();
    expect(head.ok && head.value).toEqual({ treeSize: 6, entryHash: records[5]!.entryHash, rootHash: bytesToHex(treeRoot(records.map((r) => leafHash(hexToBytes(r.entryHash))))) });
  });

  it('passes { durability: "strict" } to every readwrite transaction', async () => {
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    const audit = await log({ checkpointEvery: 2 });
    await provision(audit, 2);
    await audit.checkpoint();
    const writes = spy.mock.calls.filter(([, mode]) => mode === 'readwrite');
    // station key + 4 records + 2 checkpoints
    expect(writes.length).toBeGreaterThanOrEqual(7);
    for (const [, , options] of writes) expect(options).toEqual({ durability: 'strict' });
  });

  it('keeps seq unique and the chain whole under concurrent appends', async () => {
    const audit = await log();
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => audit.intent({ action: 'keys.generate', boardSerial: `SN-${i}` })));
    expect(results.every((r) => r.ok)).toBe(true);
    const records = await allRecords(audit);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    let prev = GENESIS_PREV_HASH;
    for (const { entryHash: stated, ...record } of records) {
      prev = entryHash(prev, record);
      expect(stated).toBe(bytesToHex(prev));
    }
  });

  it('writes nothing when a record is refused', async () => {
    const audit = await log();
    await provision(audit, 1);
    const refused = await audit.intent({ action: 'keys.import', boardSerial: 'SN-1', details: { hmacKey: '00112233445566778899aabbccddeeff' } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'audit-secret-refused', field: 'details.hmacKey' } });
    const invalid = await audit.intent({ action: 'Keys Generate' });
    expect(invalid).toMatchObject({ ok: false, error: { code: 'audit-invalid-record', field: 'action' } });
    expect((await allRecords(audit)).length).toBe(2);
    const next = await audit.intent({ action: 'keys.destroy' });
    expect(next.ok && next.value.seq).toBe(3);
  });
});

describe('intents and outcomes', () => {
  it('lists intents without outcomes for start-up reconciliation', async () => {
    const audit = await log();
    const first = await audit.intent({ action: 'keys.generate', boardSerial: 'SN-1' });
    const second = await audit.intent({ action: 'keys.cert-store', boardSerial: 'SN-2' });
    const third = await audit.intent({ action: 'counter.set', boardSerial: 'SN-3' });
    if (!first.ok || !second.ok || !third.ok) throw new Error('intent failed');
    await audit.outcome(second.value.seq, { result: 'ok' });
    const open = await audit.unreconciledIntents();
    expect(open.ok && open.value.map((r) => [r.seq, r.boardSerial])).toEqual([
      [1, 'SN-1'],
      [3, 'SN-3'],
    ]);
  });

  it('an outcome takes action, operator, board and key from its intent unless given', async () => {
    const audit = await log();
    const intent = await audit.intent({ action: 'keys.generate', operator: 'bob', boardSerial: 'SN-9', deviceId: 'dev-9', keyId: '0x2' });
    if (!intent.ok) throw new Error(intent.error.message);
    const outcome = await audit.outcome(intent.value.seq, { result: 'failed', errorCode: 'keys-slot-full', errorMessage: 'slot 2 is full', deviceId: 'dev-9b' });
    expect(outcome.ok && outcome.value).toMatchObject({ phase: 'outcome', intentSeq: 1, action: 'keys.generate', operator: 'bob', boardSerial: 'SN-9', deviceId: 'dev-9b', keyId: '0x2', result: 'failed', errorCode: 'keys-slot-full' });
  });

  it('closes an intent exactly once, and only an intent', async () => {
    const audit = await log();
    const intent = await audit.intent({ action: 'keys.generate' });
    if (!intent.ok) throw new Error(intent.error.message);
    const outcome = await audit.outcome(1, { result: 'ok' });
    expect(outcome.ok).toBe(true);
    expect(await audit.outcome(1, { result: 'unknown' })).toMatchObject({ ok: false, error: { code: 'audit-outcome-exists' } });
    expect(await audit.outcome(2, { result: 'ok' })).toMatchObject({ ok: false, error: { code: 'audit-unknown-intent' } });
    expect(await audit.outcome(99, { result: 'ok' })).toMatchObject({ ok: false, error: { code: 'audit-unknown-intent' } });
    expect((await allRecords(audit)).length).toBe(2);
  });
});

describe('checkpoints', () => {
  it('signs one every N records, over the RFC 6962 root of the entryHashes', async () => {
    const audit = await log({ checkpointEvery: 3 });
    await provision(audit, 4); // 8 records
    const checkpoints = await audit.checkpoints();
    if (!checkpoints.ok) throw new Error(checkpoints.error.message);
    expect(checkpoints.value.map((c) => c.treeSize)).toEqual([3, 6]);
    const leaves = (await allRecords(audit)).map((r) => leafHash(hexToBytes(r.entryHash)));
    for (const checkpoint of checkpoints.value) {
      expect(checkpoint.stationId).toBe(audit.stationId);
      expect(checkpoint.rootHash).toBe(bytesToHex(treeRoot(leaves.slice(0, checkpoint.treeSize))));
      expect(await verifyCheckpointSignature(checkpoint, audit.station.keys.publicKey)).toBe(true);
      expect(await verifyCheckpointSignature({ ...checkpoint, treeSize: checkpoint.treeSize + 1 }, audit.station.keys.publicKey)).toBe(false);
    }
  });

  it('checkpoint() signs the current size once, and the empty log too', async () => {
    const audit = await log();
    const empty = await audit.checkpoint();
    expect(empty.ok && empty.value).toMatchObject({ treeSize: 0, rootHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
    await provision(audit, 1);
    const first = await audit.checkpoint();
    const again = await audit.checkpoint();
    expect(first.ok && again.ok && again.value).toEqual(first.ok && first.value);
    expect(first.ok && first.value.treeSize).toBe(2);
  });
});

describe('the station key', () => {
  it('is made once, non-extractable, and the same after reopening; the log continues', async () => {
    const dbName = freshDbName();
    const first = await log({ dbName });
    await provision(first, 1);
    expect(first.station.keys.privateKey.extractable).toBe(false);
    expect(first.stationId).toMatch(/^[0-9a-f]{16}$/);
    await expect(crypto.subtle.exportKey('pkcs8', first.station.keys.privateKey)).rejects.toThrow();
    first.close();
    const reopened = await openAuditLog({ appBuild: 'build-next', dbName, now: tickingClock(Date.UTC(2025, 5, 3)) });
    if (!reopened.ok) throw new Error(reopened.error.message);
    opened.push(reopened.value);
    expect(reopened.value.stationId).toBe(first.stationId);
    expect(reopened.value.station.publicKeyJwk).toEqual(first.station.publicKeyJwk);
    const next = await reopened.value.intent({ action: 'keys.generate' });
    expect(next.ok && next.value).toMatchObject({ seq: 3, appBuild: 'build-next' });
    const open = await reopened.value.unreconciledIntents();
    expect(open.ok && open.value.map((r) => r.seq)).toEqual([3]);
  });

  it('two stations have two ids', async () => {
    const [a, b] = [await log(), await log()];
    expect(a.stationId).not.toBe(b.stationId);
  });

  it('refuses bad options as typed errors', async () => {
    expect(await openAuditLog({ appBuild: '', dbName: freshDbName() })).toMatchObject({ ok: false, error: { code: 'audit-invalid-record', field: 'appBuild' } });
    expect(await openAuditLog({ appBuild: APP_BUILD, dbName: freshDbName(), checkpointEvery: 0 })).toMatchObject({ ok: false, error: { code: 'audit-invalid-record' } });
  });
});

describe('storage persistence', () => {
  it('asks navigator.storage.persist() once when not yet persisted', async () => {
    const persist = vi.fn(async () => true);
    const storage = { persist, persisted: async () => false, estimate: async () => ({ usage: 2048, quota: 1 << 30 }) } as unknown as StorageManager;
    expect(await requestPersistence(storage)).toEqual({ supported: true, persisted: true });
    expect(persist).toHaveBeenCalledTimes(1);
    expect(await storageEstimate(storage)).toEqual({ usage: 2048, quota: 1 << 30 });
  });

  it('reports a refusal, a throwing API, and a missing API without throwing', async () => {
    const refusing = { persist: async () => false, persisted: async () => false } as unknown as StorageManager;
    expect(await requestPersistence(refusing)).toEqual({ supported: true, persisted: false });
    const throwing = { persist: async () => Promise.reject(new Error('nope')), estimate: async () => Promise.reject(new Error('nope')) } as unknown as StorageManager;
    expect(await requestPersistence(throwing)).toEqual({ supported: true, persisted: false });
    expect(await storageEstimate(throwing)).toBeNull();
    expect(await requestPersistence(undefined)).toEqual({ supported: false, persisted: false });
    expect(await storageEstimate(undefined)).toBeNull();
  });
});
