/**
 * A provisioned board into the device registry (registry/provisioned.ts): the chain our CA issued
 * is registered with source `provisioning` and audited as a `registry.register` intent/outcome
 * pair; a certificate the registry refuses (a CN that is no device id) is recorded as a failed
 * outcome with the registry's code and stores nothing; a log that refuses the intent registers
 * nothing; a re-provisioned board (same id, new key) replaces the old entry.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { AuditLog, IntentDraft } from '../../src/lib/audit';
import { type DeviceRegistry, openDeviceRegistry, registerProvisioned, registrationNote } from '../../src/lib/registry';
import { err, ok } from '../../src/lib/smp/result';
import { openTestLog } from './support/audit-fixture';
import { issueDevice, testCa } from './support/registry-devices';

let databases = 0;
const freshRegistry = () => {
  const name = `registry-provisioned-${++databases}`;
  return { name, open: () => openDeviceRegistry(name) };
};

async function listed(open: ReturnType<typeof freshRegistry>['open']) {
  const registry = await open();
  if (!registry.ok) throw new Error(registry.error.message);
  const devices = await registry.value.list();
  registry.value.close();
  if (!devices.ok) throw new Error(devices.error.message);
  return devices.value;
}

async function records(log: AuditLog) {
  const read = await log.records();
  if (!read.ok) throw new Error(read.error.message);
  return read.value;
}

describe('registerProvisioned', () => {
  it('registers the issued chain and audits it; a re-provisioned board replaces its entry', async () => {
    const ca = await testCa();
    const device = await issueDevice(ca, 'be94903e5b1a2258', 'SN-0001');
    const log = await openTestLog();
    const registry = freshRegistry();
    const context = { boardSerial: 'SN-0001', deviceId: 'be94903e5b1a2258', operator: 'alice', runId: 'run-1' };
    const registered = await registerProvisioned({ certificatePem: device.pem, issuersPem: device.issuersPem, root: ca.root.certificate }, context, { audit: log, openRegistry: registry.open });
    expect(registered.ok, registered.ok ? '' : registered.error.message).toBe(true);
    expect(registrationNote(registered)).toBe('Added be94903e5b1a2258 to the device registry (new device).');
    const [stored] = await listed(registry.open);
    expect(stored).toMatchObject({ deviceId: 'be94903e5b1a2258', source: 'provisioning', certFingerprint: device.fingerprint, certificate: device.der });
    const [intent, outcome] = await records(log);
    expect(intent).toMatchObject({ action: 'registry.register', phase: 'intent', boardSerial: 'SN-0001', deviceId: 'be94903e5b1a2258', operator: 'alice', certFingerprint: device.fingerprint, details: { source: 'provisioning', runId: 'run-1', deviceIdFrom: 'CN' } });
    expect(outcome).toMatchObject({ action: 'registry.register', phase: 'outcome', intentSeq: intent!.seq, result: 'ok', certFingerprint: device.fingerprint, certSerial: stored!.certSerial, keyFingerprint: stored!.keyFingerprint, details: { change: 'new' } });

    const again = await issueDevice(ca, 'be94903e5b1a2258', 'SN-0001');
    const replaced = await registerProvisioned({ certificatePem: again.pem, issuersPem: again.issuersPem, root: ca.root.certificate }, { ...context, runId: 'run-2' }, { audit: log, openRegistry: registry.open });
    expect(replaced.ok && replaced.value.change).toBe('replaced');
    expect((await listed(registry.open)).map((entry) => entry.certFingerprint)).toEqual([again.fingerprint]);
    log.close();
  });

  it('records why a certificate is not registered, and stores nothing', async () => {
    const ca = await testCa();
    const device = await issueDevice(ca, 'not a device id', 'SN-0002');
    const log = await openTestLog();
    const registry = freshRegistry();
    const refused = await registerProvisioned({ certificatePem: device.pem, issuersPem: device.issuersPem, root: ca.root.certificate }, { boardSerial: 'SN-0002', deviceId: 'dev-2', runId: 'run-3' }, { audit: log, openRegistry: registry.open });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.code).toBe('registry-bad-device-id');
    expect(registrationNote(refused)).toMatch(/^Not added to the device registry \(registry-bad-device-id\): device id "not a device id"/);
    expect(await listed(registry.open)).toEqual([]);
    const outcome = (await records(log)).find((record) => record.phase === 'outcome')!;
    expect(outcome).toMatchObject({ action: 'registry.register', result: 'failed', errorCode: 'registry-bad-device-id', deviceId: 'dev-2' });

    // A root the chain does not lead to: the chain's own reason.
    const other = await testCa('Other');
    const foreign = await registerProvisioned({ certificatePem: (await issueDevice(ca, 'dev-3', 'SN-3')).pem, issuersPem: device.issuersPem, root: other.root.certificate }, { boardSerial: 'SN-3', deviceId: 'dev-3', runId: 'run-4' }, { audit: log, openRegistry: registry.open });
    expect(foreign.ok).toBe(false);
    expect((await records(log)).filter((record) => record.phase === 'outcome').map((record) => record.result)).toEqual(['failed', 'failed']);
    log.close();
  });

  it('registers nothing when the log refuses the intent, or when the registry cannot be opened', async () => {
    const ca = await testCa();
    const device = await issueDevice(ca, 'dev-4', 'SN-4');
    const registry = freshRegistry();
    const refusingLog = {
      intent: async (_draft: IntentDraft) => err({ code: 'audit-storage' as const, message: 'disk full' }),
      outcome: async () => {
        throw new Error('no outcome without an intent');
      },
    } as unknown as AuditLog;
    const chain = { certificatePem: device.pem, issuersPem: device.issuersPem, root: ca.root.certificate };
    const refused = await registerProvisioned(chain, { boardSerial: 'SN-4', deviceId: 'dev-4', runId: 'run-5' }, { audit: refusingLog, openRegistry: registry.open });
    expect(refused.ok ? null : refused.error).toMatchObject({ code: 'registry-audit-refused', message: expect.stringContaining('disk full') });
    expect(await listed(registry.open)).toEqual([]);

    const log = await openTestLog();
    const unopened = await registerProvisioned(chain, { boardSerial: 'SN-4', deviceId: 'dev-4', runId: 'run-6' }, { audit: log, openRegistry: async () => { throw new Error('no IndexedDB'); } });
    expect(unopened.ok ? null : unopened.error.code).toBe('registry-storage');
    expect((await records(log)).map((record) => [record.phase, record.result ?? null, record.errorCode ?? null])).toEqual([['intent', null, null], ['outcome', 'failed', 'registry-storage']]);

    // A registry that throws is a failed outcome too, never an exception for the run's caller.
    const throwing = { register: async () => { throw new Error('quota exceeded'); }, close: () => {} } as unknown as DeviceRegistry;
    const thrown = await registerProvisioned(chain, { boardSerial: 'SN-4', deviceId: 'dev-4', runId: 'run-7' }, { audit: log, openRegistry: async () => ok(throwing) });
    expect(thrown.ok ? null : thrown.error).toMatchObject({ code: 'registry-storage', message: expect.stringContaining('quota exceeded') });
    expect((await records(log)).at(-1)).toMatchObject({ phase: 'outcome', result: 'failed', errorCode: 'registry-storage', errorMessage: expect.stringContaining('quota exceeded') });
    // And a log that throws is the caller's value as well.
    const brokenLog = { intent: async () => { throw new Error('IndexedDB gone'); } } as unknown as AuditLog;
    expect(await registerProvisioned(chain, { boardSerial: 'SN-4', deviceId: 'dev-4', runId: 'run-8' }, { audit: brokenLog, openRegistry: registry.open })).toMatchObject({ ok: false, error: { code: 'registry-storage' } });
    log.close();
  });
});
