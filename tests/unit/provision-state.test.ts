/**
 * The Provision page's state class against the simulated board, the real CA store and audit log
 * (fake-indexeddb): the plan and subject preview before the run, every step ticking off, the
 * certificate at the end, the operator's values kept for a retry and dropped after success, a
 * missing CA refused before the board is touched, and a link lost mid-run reported with its step.
 */
import 'fake-indexeddb/auto';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { openCaStore, PBKDF2_MIN_ITERATIONS } from '../../src/lib/pki';
import { openDeviceRegistry } from '../../src/lib/registry';
import { AuditTrail, CertificateAuthorities, createStationSettings, DEVICE_ID_SAMPLE, Provisioning } from '../../src/lib/state';
import { bytesToHex } from '../../src/lib/util/bytes';
import { simConnection } from './support/sim-connection';

let databases = 0;
async function app(withCa: boolean) {
  const n = ++databases;
  const authorities = new CertificateAuthorities({ openStore: () => openCaStore(`provision-state-pki-${n}`), settings: createStationSettings(`provision-state-settings-${n}`), backupIterations: PBKDF2_MIN_ITERATIONS });
  await authorities.load();
  if (withCa && !(await authorities.create({ organization: 'Acme', passphrase: '', confirm: '' }))) throw new Error(authorities.errors.create);
  const audit = new AuditTrail({ appBuild: 'test', dbName: `provision-state-audit-${n}` });
  const openRegistry = () => openDeviceRegistry(`provision-state-registry-${n}`);
  return { authorities, audit, openRegistry, provisioning: new Provisioning({ authorities, audit, openRegistry }) };
}

const scalarHex = () => bytesToHex(p256.utils.randomSecretKey());

describe('Provisioning', () => {
  it('plans, previews the subject, runs tfm-sample step by step and shows the certificate', async () => {
    const { connection } = await simConnection();
    const { provisioning, audit, openRegistry } = await app(true);
    expect(provisioning.profileId).toBe('tfm-sample');
    expect(provisioning.plan.ok && provisioning.plan.value.operatorValues).toEqual(['known', 'certified']);
    expect(provisioning.subjectPreview).toEqual({ text: `CN=${DEVICE_ID_SAMPLE}, serialNumber=SERIAL`, error: null });
    await provisioning.readDeviceId(connection.board!);
    provisioning.boardSerial = 'SN-0001';
    expect(provisioning.subjectPreview.text).toMatch(/^CN=[0-9a-f]{32}, serialNumber=SN-0001$/);
    expect(provisioning.missingValues).toEqual(['known', 'certified']);
    expect(provisioning.canStart).toBe(false);
    provisioning.giveValue('known', scalarHex(), 'typed');
    provisioning.giveValue('certified', ` ${scalarHex()} `, 'typed');
    expect(provisioning.given).toEqual({ known: 'typed', certified: 'typed' });
    expect(provisioning.canStart).toBe(true);

    const seen: string[] = [];
    const running = provisioning.run(connection.board);
    expect(provisioning.status).toBe('idle'); // the audit log and CA are fetched first
    const result = await running;
    for (const step of provisioning.steps) seen.push(`${step.step.kind}:${step.status}`);
    expect(result?.certificate?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(provisioning.status).toBe('done');
    expect(seen.every((entry) => entry.endsWith(':done'))).toBe(true);
    expect(provisioning.steps.every((step) => step.ms !== null && step.detail)).toBe(true);
    expect(provisioning.certificates.map((certificate) => [certificate.role, certificate.fingerprint])).toEqual([
      ['Device', result!.certificate!.fingerprint],
      ['Issuing CA', expect.stringMatching(/^[0-9a-f]{64}$/)],
    ]);
    expect(provisioning.certificates[0]!.subject).toBe(provisioning.subjectPreview.text);
    expect(provisioning.given).toEqual({}); // the operator's values are dropped after success

    const records = (await (await audit.open())!.records());
    if (!records.ok) throw new Error(records.error.message);
    const actions = new Set(records.value.map((record) => record.action));
    for (const action of ['provision.run', 'keys.generate', 'keys.import', 'ca.issue', 'keys.cert-store', 'registry.register']) expect(actions).toContain(action);
    // The certified board is in the device registry, under the id its certificate names.
    expect(provisioning.registration).toEqual({ ok: true, text: `Added ${result!.deviceId} to the device registry (new device).` });
    const registry = await openRegistry();
    if (!registry.ok) throw new Error(registry.error.message);
    const listed = await registry.value.list();
    registry.value.close();
    expect(listed.ok && listed.value.map((device) => [device.deviceId, device.certFingerprint, device.source])).toEqual([[result!.deviceId, result!.certificate!.fingerprint, 'provisioning']]);
    const last = records.value.at(-1)!;
    expect(last).toMatchObject({ action: 'registry.register', phase: 'outcome', result: 'ok', boardSerial: 'SN-0001', certFingerprint: result!.certificate!.fingerprint });
    expect(records.value.filter((record) => record.phase === 'outcome').every((record) => record.result === 'ok')).toBe(true);
    expect(audit.openIntents).toEqual([]);
    await connection.disconnect();
  });

  it('refuses without a CA before touching the board, and needs the clear-text warning read for settings-only', async () => {
    const { connection } = await simConnection();
    const { provisioning, audit } = await app(false);
    provisioning.boardSerial = 'SN-2';
    provisioning.giveValue('known', scalarHex(), 'typed');
    provisioning.giveValue('certified', scalarHex(), 'typed');
    expect(await provisioning.run(connection.board)).toBeNull();
    expect(provisioning.status).toBe('failed');
    expect(provisioning.failure).toMatchObject({ next: 'fix-and-retry', boardState: 'unchanged', error: { code: 'ca-missing' } });
    expect(provisioning.given).toEqual({ known: 'typed', certified: 'typed' }); // kept for the retry

    provisioning.chooseProfile('settings-only');
    expect(provisioning.given).toEqual({});
    expect(provisioning.failure).toBeNull();
    expect(provisioning.plan.ok && provisioning.plan.value.clearTextSecrets).toBe(true);
    expect(provisioning.canStart).toBe(false);
    provisioning.clearTextAccepted = true;
    expect(provisioning.canStart).toBe(true);

    expect(await provisioning.run(null)).toBeNull();
    expect(provisioning.error).toBe('Not connected: connect to a board first.');
    expect(audit.openIntents).toEqual([]);
    await connection.disconnect();
  });

  it('reports the step and the board state when the link is lost mid-run, and a retry succeeds', async () => {
    const { connection, device } = await simConnection();
    const { provisioning, audit } = await app(true);
    provisioning.chooseProfile('supervisor');
    provisioning.boardSerial = 'SN-3';
    const lose = setInterval(() => {
      if (device.keys.store.has(0x10)) {
        clearInterval(lose);
        device.board.disconnect();
      }
    }, 0);
    expect(await provisioning.run(connection.board)).toBeNull();
    clearInterval(lose);
    expect(provisioning.status).toBe('failed');
    const failed = provisioning.steps.find((step) => step.status === 'failed');
    expect(failed?.detail).toMatch(/link to the board is gone/);
    expect(provisioning.failure?.message).toContain(failed!.step.title);
    expect(provisioning.failure?.error.code).toBe('board-unreachable');

    expect(await connection.connect('sim')).toBe(true);
    provisioning.reprovision = provisioning.failure?.next === 'reprovision';
    const retried = await provisioning.run(connection.board);
    expect(retried?.keys.map((key) => key.keyId)).toEqual(['0x00000010']);
    expect(provisioning.status).toBe('done');
    await audit.refresh();
    await connection.disconnect();
  });
});
