/**
 * The Audit page's state class over fake-indexeddb: storage persistence as the browser reports
 * it, the station's identity, records newest first a page at a time, exports that verify (and a
 * tampered copy that does not, with the problem named), and interrupted runs closed by re-reading
 * the simulated board — `ok`, `failed` or `unknown` by what the board really holds.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { verifyExports } from '../../src/lib/audit';
import type { DeviceRegistry } from '../../src/lib/registry';
import { ok } from '../../src/lib/smp/result';
import { AuditTrail, reconcileOutcome, registryOutcome, type PickedFile } from '../../src/lib/state';
import { bytesToHex, utf8 } from '../../src/lib/util/bytes';
import { simConnection } from './support/sim-connection';

let databases = 0;
function trail(storage?: StorageManager, pageSize?: number): AuditTrail {
  return new AuditTrail({ appBuild: '0.1.0+test', dbName: `audit-state-${++databases}`, ...(storage ? { storage } : {}), ...(pageSize ? { pageSize } : {}) });
}

/** A StorageManager that grants persistence when asked (or never). */
function fakeStorage(grants: boolean): StorageManager {
  let persisted = false;
  return {
    persisted: async () => persisted,
    persist: async () => (persisted = grants),
    estimate: async () => ({ usage: 52_000, quota: 1_000_000_000 }),
    getDirectory: () => Promise.reject(new Error('not here')),
  } as StorageManager;
}

const file = (name: string, text: string): PickedFile => ({ name, bytes: utf8.encode(text) });

describe('AuditTrail', () => {
  it('reports storage persistence and use, and asks for persistence', async () => {
    const granted = trail(fakeStorage(true));
    await granted.start();
    expect(granted.status).toBe('ready');
    expect(granted.stationId).toMatch(/^[0-9a-f]{16}$/);
    expect(granted.stationFingerprint.startsWith(granted.stationId)).toBe(true);
    expect(granted.storage).toEqual({ supported: true, persisted: false, usage: 52_000, quota: 1_000_000_000 });
    expect(await granted.requestPersistence()).toBe(true);
    expect(granted.storage?.persisted).toBe(true);
    expect(granted.errors.storage).toBeUndefined();

    const refused = trail(fakeStorage(false));
    await refused.start();
    expect(await refused.requestPersistence()).toBe(false);
    expect(refused.errors.storage).toMatch(/did not grant persistent storage/);
  });

  it('shows records newest first, a page at a time', async () => {
    const audit = trail(fakeStorage(true), 3);
    const log = (await audit.open())!;
    for (let board = 1; board <= 4; board++) {
      const intent = await log.intent({ action: 'keys.generate', boardSerial: `SN-${board}`, keyId: '0x00000001' });
      if (!intent.ok) throw new Error(intent.error.message);
      await log.outcome(intent.value.seq, { result: 'ok' });
    }
    await audit.loadPage(0);
    expect(audit.total).toBe(8);
    expect(audit.pages).toBe(3);
    expect(audit.records.map((record) => record.seq)).toEqual([8, 7, 6]);
    await audit.loadPage(2);
    expect(audit.records.map((record) => record.seq)).toEqual([2, 1]);
    await audit.loadPage(9);
    expect(audit.page).toBe(2);
  });

  it('exports JSON Lines that verify and CSV; a tampered copy names its problem', async () => {
    const audit = trail(fakeStorage(true));
    const log = (await audit.open())!;
    const intent = await log.intent({ action: 'keys.generate', boardSerial: 'SN-1', keyId: '0x00000001' });
    if (!intent.ok) throw new Error(intent.error.message);
    await log.outcome(intent.value.seq, { result: 'ok', keyFingerprint: 'ab'.repeat(32) });

    const jsonl = await audit.exportJsonl();
    expect(jsonl?.fileName).toMatch(new RegExp(`^imprint-audit-${audit.stationId}-\\d{8}T\\d{6}Z\\.jsonl$`));
    expect((await verifyExports([{ name: 'a.jsonl', text: jsonl!.text }])).ok).toBe(true);
    const csv = await audit.exportCsv();
    expect(csv?.fileName).toMatch(/\.csv$/);
    expect(csv?.text.split('\r\n')[0]).toMatch(/^seq,time,stationId,appBuild,/);

    expect(await audit.verifyFiles([])).toBeNull();
    expect(audit.errors.verify).toBe('Choose one or more .jsonl exports to verify.');
    const other = trail(fakeStorage(true));
    const otherLog = (await other.open())!;
    await otherLog.intent({ action: 'keys.generate', boardSerial: 'SN-9' });
    const otherExport = (await other.exportJsonl())!;
    const report = await audit.verifyFiles([file('a.jsonl', jsonl!.text), file('b.jsonl', otherExport.text)]);
    expect(report?.ok).toBe(true);
    expect(audit.report).toMatchObject({ ok: true, recordCount: 3, files: 2, lines: [], names: ['a.jsonl', 'b.jsonl'] });
    expect(audit.report?.stations).toHaveLength(2);

    const tampered = jsonl!.text.replace('"boardSerial":"SN-1"', '"boardSerial":"SN-2"');
    expect(tampered).not.toBe(jsonl!.text);
    await audit.verifyFiles([file('tampered.jsonl', tampered)]);
    expect(audit.report?.ok).toBe(false);
    expect(audit.report?.lines[0]).toMatch(new RegExp(`^station ${audit.stationId} seq 1: record changed: .*\\(tampered\\.jsonl line 2\\)$`));
  });

  it('lists interrupted runs and closes them by re-reading the board', async () => {
    const { connection, device } = await simConnection();
    const board = connection.board!;
    const info = await board.keys.info();
    if (!info.ok) throw new Error(info.error.message);
    const deviceId = bytesToHex(info.value.deviceId);
    const audit = trail(fakeStorage(true));
    const log = (await audit.open())!;
    const landed = await log.intent({ action: 'keys.generate', deviceId, keyId: '0x00000001' });
    const lost = await log.intent({ action: 'keys.generate', deviceId, keyId: '0x00000002' });
    const elsewhere = await log.intent({ action: 'keys.generate', deviceId: 'another-board', keyId: '0x00000001' });
    const vague = await log.intent({ action: 'profile.settings-write', deviceId });
    const gone = await log.intent({ action: 'keys.generate', boardSerial: 'SN-LOST' });
    for (const written of [landed, lost, elsewhere, vague, gone]) if (!written.ok) throw new Error(written.error.message);
    expect((await board.keys.generate({ alg: 'p256', id: 1 })).ok).toBe(true);

    await audit.start();
    expect(audit.openIntents.map((intent) => intent.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await audit.reconcile(board)).toBe(4);
    expect(audit.notices.reconcile).toBe(`Re-read device ${deviceId}: 4 intents closed with what the board holds. Seq 3 belong to another device and stay open.`);
    expect(audit.openIntents.map((intent) => intent.seq)).toEqual([3]);
    const outcomes = await log.records(6, 9);
    if (!outcomes.ok) throw new Error(outcomes.error.message);
    expect(outcomes.value.map((record) => [record.intentSeq, record.result, record.errorCode])).toEqual([
      [1, 'ok', undefined],
      [2, 'failed', 'reconcile-not-on-board'],
      [4, 'unknown', 'reconcile-cannot-tell'],
      [5, 'unknown', 'reconcile-cannot-tell'], // no key id: the keys list cannot say which key it was
    ]);
    expect(outcomes.value[0]!.details).toEqual({ reconciled: 'board-read', boardKeys: '0x00000001 p256' });

    expect(await audit.closeAsUnknown(3)).toBe(true);
    expect(audit.openIntents).toEqual([]);
    const last = await log.get(10);
    expect(last.ok && last.value).toMatchObject({ intentSeq: 3, result: 'unknown', errorCode: 'reconcile-board-unavailable', details: { reconciled: 'operator' } });
    expect(await audit.closeAsUnknown(3)).toBe(false);
    expect(audit.errors.reconcile).toBe('Intent 3: intent 3 already has an outcome');
    device.board.disconnect();
  });

  it('closes interrupted registrations with what the device registry holds, not the board', async () => {
    const { connection, device } = await simConnection();
    const board = connection.board!;
    const held = 'a'.repeat(64);
    const registry = { list: async () => ok([{ deviceId: 'dev-registered', certFingerprint: held }]), close: () => {} } as unknown as DeviceRegistry;
    const audit = new AuditTrail({ appBuild: '0.1.0+test', dbName: `audit-state-${++databases}`, storage: fakeStorage(true), openRegistry: async () => ok(registry) });
    const log = (await audit.open())!;
    for (const certFingerprint of [held, 'b'.repeat(64)]) {
      const written = await log.intent({ action: 'registry.register', boardSerial: 'SN-1', certFingerprint });
      if (!written.ok) throw new Error(written.error.message);
    }
    await audit.start();
    expect(await audit.reconcile(board)).toBe(2);
    const outcomes = await log.records(3, 4);
    if (!outcomes.ok) throw new Error(outcomes.error.message);
    expect(outcomes.value.map((record) => [record.intentSeq, record.result, record.errorCode, record.deviceId, record.details])).toEqual([
      [1, 'ok', undefined, 'dev-registered', { reconciled: 'registry-read' }],
      [2, 'failed', 'reconcile-not-registered', undefined, { reconciled: 'registry-read' }],
    ]);
    device.board.disconnect();
  });
});

describe('registryOutcome', () => {
  const intent = { seq: 4, time: '2025-06-01T10:00:00.000Z', stationId: '0123456789abcdef', appBuild: 'b', action: 'registry.register', phase: 'intent', certFingerprint: 'c'.repeat(64) } as const;

  it('is unknown when the registry could not be read or the intent names no certificate', () => {
    expect(registryOutcome(intent, null)).toMatchObject({ result: 'unknown', errorCode: 'reconcile-registry-unavailable' });
    expect(registryOutcome({ ...intent, certFingerprint: undefined }, [])).toMatchObject({ result: 'unknown', errorCode: 'reconcile-cannot-tell' });
  });

  it('is ok only for the very certificate the intent named', () => {
    expect(registryOutcome(intent, [{ deviceId: 'd', certFingerprint: 'c'.repeat(63) + 'd' }])).toMatchObject({ result: 'failed', errorCode: 'reconcile-not-registered' });
    expect(registryOutcome(intent, [{ deviceId: 'd', certFingerprint: 'c'.repeat(64) }])).toMatchObject({ result: 'ok', deviceId: 'd', certFingerprint: 'c'.repeat(64) });
  });
});

describe('reconcileOutcome', () => {
  const snapshot = { deviceId: 'd1', counter: 5, locked: false, keys: [{ id: 1, alg: 'p256', usage: 0, certBytes: 400 }] };
  const intent = (fields: Record<string, unknown>) => ({ seq: 1, time: '', stationId: '', appBuild: '', phase: 'intent' as const, entryHash: '', action: 'keys.generate', ...fields });

  it('tells by the keys list, the certificate bytes and the counter', () => {
    expect(reconcileOutcome(intent({ keyId: '0x00000001' }), snapshot).result).toBe('ok');
    expect(reconcileOutcome(intent({ keyId: '0x00000002' }), snapshot).result).toBe('failed');
    expect(reconcileOutcome(intent({ keyId: '0x00000001', details: { replace: 'true' } }), snapshot).result).toBe('unknown');
    expect(reconcileOutcome(intent({ action: 'keys.cert-store', keyId: '0x00000001' }), snapshot).result).toBe('ok');
    expect(reconcileOutcome(intent({ action: 'keys.destroy', keyId: '0x00000001' }), snapshot).result).toBe('failed');
    expect(reconcileOutcome(intent({ action: 'keys.destroy', keyId: '0x00000003' }), snapshot).result).toBe('ok');
    // A rotation ends by destroying the old key: its absence is what says the rotation finished.
    expect(reconcileOutcome(intent({ action: 'keys.rotate', keyId: '0x00000001' }), snapshot).result).toBe('failed');
    expect(reconcileOutcome(intent({ action: 'keys.rotate', keyId: '0x00000003' }), snapshot).result).toBe('ok');
    expect(reconcileOutcome(intent({ action: 'keys.counter-set', counter: 5 }), snapshot).result).toBe('ok');
    expect(reconcileOutcome(intent({ action: 'keys.counter-set', counter: 6 }), snapshot).result).toBe('failed');
    expect(reconcileOutcome(intent({ action: 'keys.lock' }), snapshot).result).toBe('failed');
    expect(reconcileOutcome(intent({ action: 'keys.lock' }), { ...snapshot, locked: true }).result).toBe('ok');
    expect(reconcileOutcome(intent({ action: 'provision.run', keyId: '0x00000001' }), snapshot).result).toBe('unknown');
    expect(reconcileOutcome(intent({ keyId: 'slot one' }), snapshot)).toMatchObject({ result: 'unknown', errorCode: 'reconcile-cannot-tell' });
    expect(reconcileOutcome(intent({ keyId: '0x00000001', deviceId: 'd2' }), snapshot)).toMatchObject({ result: 'unknown', errorCode: 'reconcile-other-device' });
  });
});
