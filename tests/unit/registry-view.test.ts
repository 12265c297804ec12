/**
 * The Registry page's rows from the audit log (fake-indexeddb) and the console's registry:
 * outcomes joined with their intents, grouped by device, keys with fingerprints and certificates,
 * a destroyed key marked, the registry's public key joined by device id and checked against the
 * log's fingerprint; search; the JSON export carries public material only, and an export covers
 * the rows shown and remembers the devices it skipped.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { RegisteredDevice } from '../../src/lib/registry';
import { devicesFromRecords, NO_CERTIFICATE, RegistryView, registryJson, searchRows } from '../../src/lib/state';
import { ok } from '../../src/lib/smp/result';
import { openTestLog, provision } from './support/audit-fixture';

const registered = (deviceId: string, keyFingerprint: string): RegisteredDevice =>
  ({ deviceId, subject: `CN=${deviceId}`, certificate: new Uint8Array(3), issuers: [], root: new Uint8Array(3), rootSubject: 'CN=root', publicKey: new Uint8Array(65).fill(4), curve: 'P-256', keyFingerprint, certSerial: '01', certFingerprint: 'ab'.repeat(32), notBefore: '2025-01-01T00:00:00.000Z', validUntil: '2030-01-01T00:00:00.000Z', registeredAt: '2025-07-01T00:00:00.000Z', source: 'test', hmac: false }) as RegisteredDevice;

describe('devicesFromRecords', () => {
  it('one row per device, keys with fingerprints, certificates, counters and times; destroyed keys marked', async () => {
    const log = await openTestLog();
    await provision(log, 3);
    const cert = await log.intent({ boardSerial: 'SN-000002', deviceId: 'dev-2', action: 'keys.cert-store', keyId: '0x00000001' });
    await log.outcome(cert.ok ? cert.value.seq : 0, { result: 'ok', certSerial: '0a1b', certFingerprint: 'cd'.repeat(32) });
    const destroy = await log.intent({ boardSerial: 'SN-000003', deviceId: 'dev-3', action: 'keys.destroy', keyId: '0x00000001' });
    await log.outcome(destroy.ok ? destroy.value.seq : 0, { result: 'ok' });
    const failed = await log.intent({ boardSerial: 'SN-000009', deviceId: 'dev-9', action: 'keys.generate', keyId: '0x00000001' });
    await log.outcome(failed.ok ? failed.value.seq : 0, { result: 'failed', errorCode: 'keys-no-space', errorMessage: 'no space' });
    const records = await log.records();
    if (!records.ok) throw new Error(records.error.message);
    const rows = devicesFromRecords(records.value);
    expect(rows.map((row) => row.deviceId).sort()).toEqual(['dev-1', 'dev-2', 'dev-3']);
    const two = rows.find((row) => row.deviceId === 'dev-2')!;
    expect(two).toMatchObject({ boardSerials: ['SN-000002'], stations: [log.stationId], counter: 2 });
    expect(two.keys).toEqual([{ keyId: '0x00000001', keyFingerprint: expect.stringMatching(/^[0-9a-f]{64}$/), certSerial: '0a1b', certFingerprint: 'cd'.repeat(32), destroyed: false }]);
    expect(rows.find((row) => row.deviceId === 'dev-3')!.keys[0]!.destroyed).toBe(true);
    expect(rows[0]!.deviceId).toBe('dev-3'); // last provisioned first

    const withRegistry = devicesFromRecords(records.value, [registered('dev-2', two.keys[0]!.keyFingerprint!), registered('dev-1', '00'.repeat(32)), registered('dev-7', '11'.repeat(32))]);
    expect(withRegistry.find((row) => row.deviceId === 'dev-2')!.keyMatches).toBe(true);
    expect(withRegistry.find((row) => row.deviceId === 'dev-1')!.keyMatches).toBe(false);
    expect(withRegistry.find((row) => row.deviceId === 'dev-7')).toMatchObject({ keys: [], keyMatches: null });
    expect(searchRows(withRegistry, 'sn-000002').map((row) => row.deviceId)).toEqual(['dev-2']);
    expect(searchRows(withRegistry, '0a1b').map((row) => row.deviceId)).toEqual(['dev-2']);
    expect(searchRows(withRegistry, 'CN=dev-7').map((row) => row.deviceId)).toEqual(['dev-7']);
    const json = JSON.parse(registryJson(withRegistry)) as Array<Record<string, unknown>>;
    expect(json.find((row) => row.deviceId === 'dev-7')!.publicKey).toBe('04'.repeat(65));
    log.close();
  });

  it('RegistryView loads both sources, and still shows the log when the registry cannot be opened', async () => {
    const log = await openTestLog();
    await provision(log, 2);
    const records = async () => {
      const read = await log.records();
      if (!read.ok) throw new Error(read.error.message);
      return read.value;
    };
    const view = new RegistryView(records, async () => ok({ list: async () => ok([registered('dev-1', 'ff'.repeat(32))]), close: () => {} } as never));
    await view.load();
    expect(view.rows).toHaveLength(2);
    expect(view.rows.find((row) => row.deviceId === 'dev-1')!.registered!.subject).toBe('CN=dev-1');
    view.query = 'dev-2';
    expect(view.shown.map((row) => row.deviceId)).toEqual(['dev-2']);
    // An export covers the rows shown, and remembers what it left out.
    const json = view.exportFile('json');
    expect(json?.fileName).toBe('imprint-registry.json');
    expect((JSON.parse(json!.text) as Array<{ deviceId: string }>).map((row) => row.deviceId)).toEqual(['dev-2']);
    expect(view.lastExport).toEqual({ label: 'JSON', exported: 1, skipped: [] });
    expect(view.exportFile('aws-iot')?.text).toBe('');
    expect(view.lastExport).toEqual({ label: 'AWS IoT', exported: 0, skipped: [{ deviceId: 'dev-2', reason: NO_CERTIFICATE }] });
    const broken = new RegistryView(records, async () => { throw new Error('no IndexedDB'); });
    await broken.load();
    expect(broken.rows).toHaveLength(2);
    expect(broken.registryNote).toContain('could not be opened');
    log.close();
  });
});
