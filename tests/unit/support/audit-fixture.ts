/**
 * Audit logs for tests: each in its own fake-indexeddb database, with a clock that ticks one
 * second per call, filled with provisioning runs (an intent and its outcome per board).
 * Callers import 'fake-indexeddb/auto' first.
 */
import { openDB } from 'idb';
import { type AuditLog, type AuditLogOptions, exportJsonl, openAuditLog } from '../../../src/lib/audit';

export const APP_BUILD = 'build-7f3c2a1';
let databases = 0;

/** 2025-06-01T10:00:00.000Z, then +1 s per call. */
export function tickingClock(start = Date.UTC(2025, 5, 1, 10, 0, 0)): () => Date {
  let now = start - 1000;
  return () => new Date((now += 1000));
}

export function freshDbName(): string {
  return `audit-test-${++databases}-${Math.random().toString(36).slice(2)}`;
}

export async function openTestLog(options: Partial<AuditLogOptions> = {}): Promise<AuditLog> {
  const opened = await openAuditLog({ appBuild: APP_BUILD, dbName: freshDbName(), now: tickingClock(), ...options });
  if (!opened.ok) throw new Error(`openAuditLog failed: ${opened.error.message}`);
  return opened.value;
}

/** `runs` boards provisioned: intent + outcome each (2 records per run). */
export async function provision(log: AuditLog, runs: number, firstBoard = 1): Promise<void> {
  for (let i = firstBoard; i < firstBoard + runs; i++) {
    const boardSerial = `SN-${String(i).padStart(6, '0')}`;
    const intent = await log.intent({ operator: 'alice', boardSerial, deviceId: `dev-${i}`, action: 'keys.generate', keyId: '0x00000001', details: { alg: 'p256', slot: '1' } });
    if (!intent.ok) throw new Error(intent.error.message);
    const fingerprint = (i * 2654435761).toString(16).padStart(8, '0').repeat(8).slice(0, 64);
    const outcome = await log.outcome(intent.value.seq, { result: 'ok', keyFingerprint: fingerprint, counter: i });
    if (!outcome.ok) throw new Error(outcome.error.message);
  }
}

export async function exportText(log: AuditLog, at = new Date(Date.UTC(2025, 5, 2))): Promise<string> {
  const text = await exportJsonl(log, at);
  if (!text.ok) throw new Error(text.error.message);
  return text.value;
}

/** Copies every store of one audit database into a new one: a cloned browser profile. */
export async function cloneDatabase(from: string, to: string): Promise<void> {
  const source = await openDB(from);
  const stores = [...source.objectStoreNames];
  const target = await openDB(to, source.version, {
    upgrade(db) {
      for (const name of stores) {
        const store = source.transaction(name).store;
        const created = db.createObjectStore(name, { keyPath: store.keyPath ?? undefined });
        for (const index of store.indexNames) created.createIndex(index, store.index(index).keyPath);
      }
    },
  });
  for (const name of stores) {
    const store = source.transaction(name).store;
    const keys = await store.getAllKeys();
    const values = await source.getAll(name);
    const tx = target.transaction(name, 'readwrite');
    await Promise.all([...values.map((value, i) => (tx.store.keyPath ? tx.store.put(value) : tx.store.put(value, keys[i]))), tx.done]);
  }
  source.close();
  target.close();
}
