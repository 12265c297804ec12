/**
 * The external-CA page's state class against two simulated boards: CSRs collected into a batch
 * that survives a new instance, exported, signed by an "external" CA built here, imported, stored
 * on the right board (read back, verified) and refused on the wrong one, with audit records.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { createCa, encodePem, issueDeviceCertificate, parseCsrBatch, splitCertificateChain, verifyChain } from '../../src/lib/pki';
import { openDeviceRegistry } from '../../src/lib/registry';
import { AuditTrail, createCsrBatchStore, ExternalCaBatch } from '../../src/lib/state';
import { simConnection } from './support/sim-connection';

const KEY_ID = 1;

async function boardWithKey(serialNumber: string) {
  const { connection } = await simConnection({ serialNumber });
  const generated = await connection.board!.keys.generate({ alg: 'p256', id: KEY_ID });
  if (!generated.ok) throw new Error(generated.error.message);
  return connection;
}

describe('ExternalCaBatch', () => {
  it('collects two boards, exports, imports what the CA signed, stores on the right board only', async () => {
    const first = await boardWithKey('EXT-0001');
    const second = await boardWithKey('EXT-0002');
    const audit = new AuditTrail({ appBuild: 'test', dbName: 'external-ca-audit' });
    const dbName = 'external-ca-batch-1';
    const onFirst = new ExternalCaBatch(first, audit, createCsrBatchStore(dbName));
    const onSecond = new ExternalCaBatch(second, audit, createCsrBatchStore(dbName));

    expect(await onFirst.collect(KEY_ID, 'CN=first')).toBe(true);
    expect(await onFirst.collect(KEY_ID, 'CN=again')).toBe(false);
    expect(onFirst.errors.collect).toMatch(/already in the batch/);
    expect(await onSecond.collect(KEY_ID, 'CN=second')).toBe(true);
    expect(onSecond.requests.map((request) => request.subject)).toEqual(['CN=first', 'CN=second']);
    const [firstId, secondId] = onSecond.requests.map((request) => request.deviceId);
    expect(firstId).not.toBe(secondId);

    // A new instance (a reload) finds the batch in IndexedDB.
    const openRegistry = () => openDeviceRegistry('external-ca-registry');
    const reloaded = new ExternalCaBatch(first, audit, createCsrBatchStore(dbName), openRegistry);
    await reloaded.load();
    expect(reloaded.requests).toEqual(onSecond.requests);

    const exported = await reloaded.exportBatch();
    expect(exported?.batch.requests.map((request) => request.deviceId)).toEqual([firstId, secondId]);
    const batch = await parseCsrBatch(exported!.json);
    if (!batch.ok) throw new Error(batch.error.message);

    // The external CA signs each CSR under its own subject and sends leaf + issuing CA back in one file.
    const created = await createCa({ label: 'External' });
    if (!created.ok) throw new Error(created.error.message);
    const ca = created.value.ca;
    const returned: string[] = [];
    for (const request of batch.value.requests) {
      const issued = await issueDeviceCertificate({ ca, csr: request.csr, subjectTemplate: 'CN=ext-{id}', subjectValues: { id: request.deviceId }, validityDays: 30 });
      if (!issued.ok) throw new Error(issued.error.message);
      returned.push(issued.value.pem);
    }
    returned.push(encodePem('CERTIFICATE', ca.intermediate.certificate), encodePem('CERTIFICATE', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])));

    expect(await reloaded.importCertificates({ certificates: 'no certificates here' })).toBe(false);
    expect(reloaded.errors.import).toBeTruthy();
    expect(await reloaded.importCertificates({ certificates: returned.join('\n'), root: ca.root.certificate })).toBe(true);
    expect(reloaded.report?.matched.map((match) => [match.deviceId, match.subjectChanged])).toEqual([
      [firstId, true],
      [secondId, true],
    ]);
    expect(reloaded.report?.invalid.map((entry) => entry.index)).toEqual([3]);
    expect(reloaded.report?.missing).toEqual([]);

    // The second device's chain, with the first board connected: refused, nothing stored.
    expect(await reloaded.storeOnBoard(secondId!)).toBe(false);
    expect(reloaded.errors.store).toContain(`is device ${firstId}, not ${secondId}`);
    expect(await first.board!.keys.readCertificate(KEY_ID)).toEqual({ ok: true, value: null });

    expect(await reloaded.storeOnBoard(firstId!)).toBe(true);
    expect(reloaded.storeNotice).toMatch(/read back identical; the chain verifies to .*Added ext-[0-9a-f]{32} to the device registry \(new device\)/);
    const stored = await first.board!.keys.readCertificate(KEY_ID);
    if (!stored.ok || !stored.value) throw new Error('nothing stored');
    const parts = splitCertificateChain(stored.value);
    if (!parts.ok) throw new Error(parts.error.message);
    expect(parts.value).toHaveLength(2);
    expect((await verifyChain({ chain: parts.value, root: ca.root.certificate })).ok).toBe(true);
    const done = reloaded.requests.find((request) => request.deviceId === firstId)!;
    expect(done.storedCertFingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect((await createCsrBatchStore(dbName).load()).find((request) => request.deviceId === firstId)?.storedCertFingerprint).toBe(done.storedCertFingerprint);

    const log = (await audit.open())!;
    const records = await log.records();
    if (!records.ok) throw new Error(records.error.message);
    expect(records.value.map((record) => [record.phase, record.action, record.deviceId, record.result ?? ''])).toEqual([
      ['intent', 'external-ca.csr', firstId, ''],
      ['outcome', 'external-ca.csr', firstId, 'ok'],
      ['intent', 'external-ca.csr', secondId, ''],
      ['outcome', 'external-ca.csr', secondId, 'ok'],
      ['intent', 'keys.cert-store', firstId, ''],
      ['outcome', 'keys.cert-store', firstId, 'ok'],
      ['intent', 'registry.register', firstId, ''],
      ['outcome', 'registry.register', `ext-${firstId}`, 'ok'],
    ]);
    expect(records.value[1]).toMatchObject({ keyFingerprint: onSecond.requests[0]!.keyFingerprint });
    expect(records.value[5]).toMatchObject({ certFingerprint: done.storedCertFingerprint });
    expect(audit.openIntents).toEqual([]);
    const registry = await openRegistry();
    if (!registry.ok) throw new Error(registry.error.message);
    const entry = await registry.value.get(`ext-${firstId}`);
    expect(entry.ok && entry.value?.certFingerprint).toBe(done.storedCertFingerprint);
    registry.value.close();
  });

  it('refuses to store without a root, and to collect without a board', async () => {
    const connection = await boardWithKey('EXT-0003');
    const state = new ExternalCaBatch(connection, null, createCsrBatchStore('external-ca-batch-2'));
    expect(await state.collect(KEY_ID, 'CN=x')).toBe(true);
    const created = await createCa({ label: 'External' });
    if (!created.ok) throw new Error(created.error.message);
    const issued = await issueDeviceCertificate({ ca: created.value.ca, csr: state.requests[0]!.csr, subjectTemplate: 'CN=x', subjectValues: {}, validityDays: 30 });
    if (!issued.ok) throw new Error(issued.error.message);
    expect(await state.importCertificates({ certificates: issued.value.pem })).toBe(true);
    expect(await state.storeOnBoard(state.requests[0]!.deviceId)).toBe(false);
    expect(state.errors.store).toMatch(/root/);
    await connection.disconnect();
    expect(await state.collect(KEY_ID, 'CN=x')).toBe(false);
    expect(state.errors.collect).toMatch(/Not connected/);
  });
});
