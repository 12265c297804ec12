/**
 * The console's state class without a browser or a broker: a fake link delivers board-signed
 * messages; registration refusals read as sentences with their code; counters, per-reason counts
 * and the table follow; refusals go to the link and into the audit log as security events.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditLog, type AuditLog } from '../../src/lib/audit';
import { ReplayStore, type Refused } from '../../src/lib/console';
import { openDeviceRegistry } from '../../src/lib/registry';
import { VerificationConsole } from '../../src/lib/state/console.svelte';
import { utf8 } from '../../src/lib/util/bytes';
import { provisionSimulatedBoard, signRange, telemetryTopic, type ProvisionedBoard } from '../../src/node/telemetry-publisher';

let provisioned: ProvisionedBoard;
let audit: AuditLog;
beforeAll(async () => {
  provisioned = await provisionSimulatedBoard({ serialNumber: 'SIM-STATE-1' });
  const log = await openAuditLog({ appBuild: 'test', dbName: 'console-state-audit' });
  if (!log.ok) throw new Error(log.error.message);
  audit = log.value;
});
afterAll(async () => provisioned?.close());

describe('VerificationConsole', () => {
  it('registers, verifies what the link delivers, counts, publishes refusals and audits them', async () => {
    let deliver: (topic: string, bytes: Uint8Array) => void = () => undefined;
    const published: Refused[] = [];
    const state = new VerificationConsole({
      openRegistry: () => openDeviceRegistry('console-state-registry'),
      openReplay: () => ReplayStore.open('console-state-windows'),
      audit: { open: async () => audit },
      connect: async (_options, onMessage) => {
        deliver = onMessage;
        return { ok: true, value: { publishRefusal: (refusal) => published.push(refusal), close: async () => undefined } };
      },
    });
    const pem = (text: string, name: string) => ({ name, bytes: utf8.encode(text) });
    expect(await state.register({ chain: [], root: null, deviceIdFrom: 'CN', replace: false })).toBe(false);
    expect(state.errors.register).toMatch(/certificate chain/);
    expect(await state.register({ chain: [pem(provisioned.chainPem, 'chain.pem')], root: { kind: 'file', file: pem(provisioned.chainPem.slice(0, provisioned.chainPem.indexOf('-----END CERTIFICATE-----') + 26), 'device-as-root.pem') }, deviceIdFrom: 'CN', replace: false })).toBe(false);
    expect(state.errors.register).toMatch(/^Not registered \(chain-/);
    expect(await state.register({ chain: [pem(provisioned.chainPem, 'chain.pem')], root: { kind: 'file', file: pem(provisioned.rootPem, 'root.pem') }, deviceIdFrom: 'CN', replace: false })).toBe(true);
    expect(state.devices.map((device) => device.deviceId)).toEqual([provisioned.deviceId]);

    expect(await state.connect()).toBe(true);
    expect(state.status).toBe('connected');
    const messages = await signRange(provisioned, 1n, 50);
    const topic = telemetryTopic(provisioned.deviceId);
    for (const message of [...messages, ...messages.slice(0, 10), utf8.encode('junk')]) deliver(topic, message);
    await state.settled();
    expect(state.accepted).toBe(50);
    expect(state.refused).toBe(11);
    expect(state.refusedBy).toEqual({ replay: 10, 'not-cose': 1 });
    expect(state.recent[0]!.status).toBe('refused');
    expect(state.stats.find((entry) => entry.deviceId === provisioned.deviceId)).toMatchObject({ accepted: 50, refused: 11, lastCounter: '50' });
    expect(published.map((refusal) => refusal.reason).sort()).toEqual([...Array(10).fill('replay'), 'not-cose'].sort());

    // Refusals reach the audit log as grouped security events, off the message path.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const records = await audit.records();
    const refusedEvents = records.ok ? records.value.filter((record) => record.action === 'console.refused' && record.phase === 'outcome') : [];
    expect(refusedEvents.map((record) => [record.errorCode, record.details?.count]).sort()).toEqual([['not-cose', '1'], ['replay', '10']]);
    expect(records.ok && records.value.some((record) => record.action === 'console.register' && record.result === 'ok' && record.deviceId === provisioned.deviceId)).toBe(true);
    expect(records.ok && records.value.some((record) => record.action === 'console.register' && record.result === 'failed')).toBe(true);

    expect(await state.setSecret(provisioned.deviceId, 'zz')).toBe(false);
    expect(await state.setSecret(provisioned.deviceId, '00'.repeat(32))).toBe(true);
    expect(state.devices[0]!.hmac).toBe(true);
    await state.disconnect();
    expect(state.status).toBe('closed');
  });
});
