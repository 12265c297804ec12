/**
 * The Field page's state in Node: the list of Bluetooth boards (a stand-in for the browser's
 * chooser and advertisements; the e2e test drives Chromium's real ones), and the session's
 * identify, read + chain verdicts and key rotation against the simulated board, with the real
 * audit log and CA store on fake-indexeddb.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openCaStore, PBKDF2_MIN_ITERATIONS } from '../../src/lib/pki';
import { openDeviceRegistry } from '../../src/lib/registry';
import { connectSimulatedBoard, createSimulatedDevice } from '../../src/lib/sim';
import { AuditTrail, BoardKeys, CertificateAuthorities, Connection, createStationSettings, FieldScan, FieldSession, type BluetoothFinder, type Platform } from '../../src/lib/state';
import type { AdvertisementHeard, SignalWatch } from '../../src/lib/transport/ble-signal';
import { concatBytes } from '../../src/lib/util/bytes';
import { simConnection } from './support/sim-connection';

/** A Bluetooth world in memory: devices to choose, advertisements to hear. */
function fakeBluetooth(options: { watchable?: boolean } = {}) {
  const listeners = new Map<string, (heard: AdvertisementHeard) => void>();
  const chooserPicks: (BluetoothDevice | null)[] = [];
  const granted: BluetoothDevice[] = [];
  const stopped: string[] = [];
  return {
    chooserPicks,
    granted,
    stopped,
    finder: {
      supported: () => true,
      choose: async () => chooserPicks.shift() ?? null,
      granted: async () => granted,
      async watch(device: BluetoothDevice, onHeard: (heard: AdvertisementHeard) => void): Promise<SignalWatch> {
        if (options.watchable === false) return { supported: false, reason: 'this browser cannot listen to advertisements' };
        listeners.set(device.id, onHeard);
        return {
          supported: true,
          stop: () => {
            stopped.push(device.id);
            listeners.delete(device.id);
          },
        };
      },
    } satisfies BluetoothFinder,
    advertise: (id: string, rssi: number) => listeners.get(id)?.({ rssi, txPower: 0 }),
  };
}

const device = (id: string, name: string) => ({ id, name }) as BluetoothDevice;

/** A connection whose Bluetooth opens a simulated board, recording which device it was handed. */
function bleConnection(): { connection: Connection; opened: (BluetoothDevice | undefined)[] } {
  const opened: (BluetoothDevice | undefined)[] = [];
  const platform = {
    isBluetoothSupported: () => true,
    async openBluetooth(chosen?: BluetoothDevice) {
      opened.push(chosen);
      const board = createSimulatedDevice();
      return { transport: connectSimulatedBoard(board.board, { baudRate: Infinity }), name: chosen?.name ?? 'chooser' };
    },
  } as Partial<Platform> as Platform;
  return { connection: new Connection({ platform, client: { timeoutMs: 2000 } }), opened };
}

describe('FieldScan', () => {
  it('lists chosen boards strongest first, with their signal, and connects the one picked', async () => {
    let now = 1_000_000;
    const bluetooth = fakeBluetooth();
    const { connection, opened } = bleConnection();
    const scan = new FieldScan(connection, bluetooth.finder, () => now);

    bluetooth.chooserPicks.push(device('far', 'Pump 7'), device('near', 'Valve 2'));
    expect(await scan.find()).toBe(true);
    expect(scan.signal(scan.boards[0]!).text).toBe('signal unknown');
    bluetooth.advertise('far', -84);
    expect(await scan.find()).toBe(true);
    bluetooth.advertise('near', -55);
    expect(scan.ranked.map((board) => [board.name, scan.signal(board).text])).toEqual([
      ['Valve 2', '−55 dBm · strong'],
      ['Pump 7', '−84 dBm · weak'],
    ]);

    // Heard no more for a while: the page stops calling the old figure current.
    now += 30_000;
    scan.tick();
    expect(scan.ranked.map((board) => scan.signal(board).text)).toEqual(['−84 dBm · weak · last heard 30 s ago', '−55 dBm · strong · last heard 30 s ago']);

    expect(await scan.connect('near')).toBe(true);
    expect(opened.map((chosen) => chosen?.id)).toEqual(['near']);
    expect(connection).toMatchObject({ status: 'connected', kind: 'ble', deviceName: 'Valve 2' });
    expect([scan.isConnected('near'), scan.isConnected('far')]).toEqual([true, false]);
    scan.stop();
    expect(bluetooth.stopped.sort()).toEqual(['far', 'near']);
    // Shown again: the boards found before are listened to again.
    await scan.start();
    bluetooth.advertise('far', -66);
    expect(scan.signal(scan.boards.find((board) => board.id === 'far')!).text).toBe('−66 dBm · good');
    await connection.disconnect();
    expect(scan.isConnected('near')).toBe(false);
  });

  it('says when nothing was chosen, when the browser cannot listen, and offers boards granted before', async () => {
    const bluetooth = fakeBluetooth({ watchable: false });
    const scan = new FieldScan(bleConnection().connection, bluetooth.finder);
    expect(await scan.find()).toBe(false);
    expect(scan.errors.find).toBe('No Bluetooth board was chosen.');

    bluetooth.granted.push(device('old', 'Meter 1'));
    await scan.start();
    expect(scan.boards).toEqual([expect.objectContaining({ id: 'old', name: 'Meter 1', remembered: true, signalNote: 'this browser cannot listen to advertisements' })]);
    expect(scan.signal(scan.boards[0]!).text).toBe('signal unknown');
    expect(await scan.connect('gone')).toBe(false);
    expect(scan.errors.connect).toBe('That board is no longer in the list: find it again.');
  });
});

describe('FieldSession', () => {
  let n = 0;
  async function session() {
    n++;
    const { connection, device: sim } = await simConnection();
    const audit = new AuditTrail({ appBuild: 'test', dbName: `field-state-audit-${n}` });
    const authorities = new CertificateAuthorities({ openStore: () => openCaStore(`field-state-pki-${n}`), settings: createStationSettings(`field-state-settings-${n}`), backupIterations: PBKDF2_MIN_ITERATIONS });
    const keys = new BoardKeys(connection, audit);
    const openRegistry = () => openDeviceRegistry(`field-state-registry-${n}`);
    return { connection, sim, audit, authorities, keys, openRegistry, field: new FieldSession(connection, keys, authorities, audit, () => new Date(), openRegistry) };
  }

  it('identifies, checks the chain, rotates the key with intent and outcome in the audit log', async () => {
    const { connection, audit, authorities, keys, openRegistry, field } = await session();
    expect(await field.identify()).toBe(true);
    expect(field.identified!.reply).toBe(field.identified!.sent);
    expect(field.identified!.sent).toMatch(/^imprint-identify-[0-9a-f]{6}$/);

    // The board as the factory left it: key 1 with a chain from the station's CA.
    expect(await authorities.create({ organization: 'Acme Devices', passphrase: '', confirm: '' })).toBe(true);
    const ca = (await authorities.activeAuthority())!;
    const board = connection.board!;
    const generated = await board.keys.generate({ alg: 'p256', id: 1, csrSubject: 'CN=dev' });
    if (!generated.ok) throw new Error(generated.error.message);
    const { issueDeviceCertificate } = await import('../../src/lib/pki');
    const issued = await issueDeviceCertificate({ ca, csr: generated.value.csr!, subjectTemplate: 'CN=pump-7, serialNumber=SN-0007', subjectValues: {}, validityDays: 365 });
    if (!issued.ok) throw new Error(issued.error.message);
    expect((await board.keys.storeCertificate(1, concatBytes(issued.value.der, ...issued.value.chain))).ok).toBe(true);

    expect(field.current).toBe(false);
    expect(await field.read()).toBe(true);
    expect(field.current).toBe(true);
    expect(field.boardSerial).toBe('SN-0007');
    expect(field.verdicts['0x00000001']).toMatchObject({ ok: true, anchor: 'Acme Devices' });
    expect(field.possession['0x00000001']).toEqual({ ok: true, text: 'The board signed a fresh challenge with this key: it holds the private key.' });

    const old = keys.keys![0]!;
    expect(await field.rotate(old)).toBe(true);
    expect(field.lastRotation).toMatchObject({ oldKeyId: '0x00000001', newKeyId: '0x00000002', oldFingerprint: old.fingerprint });
    expect(field.lastRotation!.newFingerprint).not.toBe(old.fingerprint);
    // The new chain replaces the old in the device registry, which the console verifies telemetry with.
    expect(field.lastRotation!.registration).toEqual({ ok: true, text: 'Added pump-7 to the device registry (new device).' });
    const registry = await openRegistry();
    if (!registry.ok) throw new Error(registry.error.message);
    const listed = await registry.value.list();
    expect(listed.ok && listed.value.map((device) => [device.deviceId, device.keyFingerprint])).toEqual([['pump-7', field.lastRotation!.newFingerprint]]);
    registry.value.close();
    expect(keys.keys!.map((key) => [key.idHex, key.fingerprint, key.certificates[0]?.subject])).toEqual([['0x00000002', field.lastRotation!.newFingerprint, 'CN=pump-7, serialNumber=SN-0007']]);
    expect(field.verdicts).toEqual({ '0x00000002': expect.objectContaining({ ok: true, anchor: 'Acme Devices' }) });

    const log = (await audit.open())!;
    const head = await log.head();
    if (!head.ok) throw new Error(head.error.message);
    const records = await log.records(1, head.value.treeSize);
    if (!records.ok) throw new Error(records.error.message);
    const rotation = records.value.filter((record) => record.action === 'keys.rotate');
    expect(rotation.map((record) => [record.phase, record.result, record.keyId, record.boardSerial])).toEqual([
      ['intent', undefined, '0x00000001', 'SN-0007'],
      ['outcome', 'ok', '0x00000001', 'SN-0007'],
    ]);
    expect(rotation[1]!.intentSeq).toBe(rotation[0]!.seq);
    expect(records.value.filter((record) => record.action === 'registry.register').map((record) => [record.phase, record.result])).toEqual([
      ['intent', undefined],
      ['outcome', 'ok'],
    ]);
    expect(audit.openIntents).toEqual([]);
  });

  it('refuses to rotate without a board, and reports the board refusing (locked)', async () => {
    const { connection, authorities, keys, field } = await session();
    expect(await authorities.create({ organization: 'Acme Devices', passphrase: '', confirm: '' })).toBe(true);
    expect((await connection.board!.keys.generate({ alg: 'x25519', id: 5 })).ok).toBe(true);
    expect(await field.read()).toBe(true);
    expect(field.verdicts['0x00000005']).toMatchObject({ ok: false, code: 'no-certificate' });
    expect(field.possession).toEqual({}); // X25519 cannot sign
    expect((await connection.board!.keys.lock()).ok).toBe(true);
    expect(await field.rotate(keys.keys![0]!)).toBe(false);
    expect(field.errors.rotate).toMatch(/locked/);
    expect(keys.keys!.map((key) => key.idHex)).toEqual(['0x00000005']);

    await connection.disconnect();
    expect(await field.rotate(keys.keys![0]!)).toBe(false);
    expect(field.errors.rotate).toBe('Not connected: connect to a board first.');
  });

  it('catches a board whose signature does not verify with the key it reports, and one that will not sign', async () => {
    const { connection, field } = await session();
    const board = connection.board!;
    for (const id of [1, 2]) expect((await board.keys.generate({ alg: 'p256', id })).ok).toBe(true);
    // A board that answers sign with something other than a signature by the key it reports.
    const sign = board.keys.sign.bind(board.keys);
    board.keys.sign = async (id, message, options) => (id === 1 ? { ok: true, value: new Uint8Array(64).fill(7) } : sign(id, message, options));
    expect(await field.read()).toBe(true);
    expect(field.possession['0x00000001']).toMatchObject({ ok: false, text: expect.stringContaining('does not hold that key') });
    expect(field.possession['0x00000002']?.ok).toBe(true);

    board.keys.sign = async () => ({ ok: false, error: { code: 'group', command: 'keys/sign', reason: 'not-permitted', message: 'keys/sign: not permitted' } });
    expect(await field.read()).toBe(true);
    expect(field.possession['0x00000002']).toEqual({ ok: false, text: 'The board did not sign a challenge with this key: keys/sign: not permitted.' });
  });
});

