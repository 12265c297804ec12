// Field mode on a tablet in portrait (800×1280) through Chromium's real Web Bluetooth: the board,
// provisioned at "the factory" under a CA this tablet does not hold, is a simulated board in Node
// behind an emulated BLE peripheral (CDP BluetoothEmulation, support/ble-bridge.ts). The page finds
// it through the browser's chooser, shows the signal from an emulated advertisement (−58 dBm),
// connects, identifies it by echo, reads its identity and judges its chain, rotates its key under
// the tablet's own CA, and exports the audit log, which verifies in Node and holds the rotation's
// intent and outcome; a factory station then merges it with its own. Another test provisions a
// new board from the tablet over Bluetooth through the Provision page.
//
// NOTE: the emulation cannot send notifications: the board's answers travel the characteristic's
// read path through a test-only shim (see support/ble-bridge.ts). The advertisement is real CDP
// `simulateAdvertisement`, delivered by Chromium as `advertisementreceived` with its RSSI.
import { buildMcubootImage, parseMcubootImage } from '../../src/lib/device/mcuboot-image';
import { BLE_1M_DEFAULT, connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../../src/lib/sim';
import { keyFingerprint } from '../../src/lib/state/key-view';
import { bytesToHex } from '../../src/lib/util/bytes';
import { connectFromConnectPage, createCa, nav, prepareRun } from './support/app';
import { auditVerifyCli, exportAuditLog, openIntents, runOutcomes } from './support/audit-export';
import { expect, test } from './support/fixtures';
import { installBleBridge, type BleBridge } from './support/ble-bridge';
import { factoryBoard } from './support/factory-board';

test.use({ viewport: { width: 800, height: 1280 }, hasTouch: true });

const SERIAL = 'SN-FIELD-7';

let bridge: BleBridge;

test.beforeEach(async ({ page }) => {
  bridge = await installBleBridge(page);
});

test.afterEach(async () => {
  await bridge.dispose();
  expect(bridge.problems, 'CDP calls of the emulation that failed').toEqual([]);
});

async function fingerprintOnBoard(device: SimulatedDevice, id: number): Promise<string | null> {
  const key = device.keys.store.peek(id);
  return key ? keyFingerprint('p256', key.publicKey ?? null) : null;
}

test('Field mode at 800×1280 over Web Bluetooth: find with signal, connect, identify, read, rotate a key, export the audit log and merge it at the factory', async ({ page, browser }) => {
  const device = await factoryBoard(SERIAL);
  const oldFingerprint = (await fingerprintOnBoard(device, 1))!;
  const peripheral = await bridge.attach(connectSimulatedBoard(device.board, { ble: BLE_1M_DEFAULT }), { name: 'Pump 7', notifySize: 20 });

  // The tablet's own CA (not the factory's).
  await page.goto('/');
  await createCa(page, 'Acme Field');

  await nav(page, 'Field').click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Field mode');
  await page.getByRole('button', { name: 'Find boards…' }).click();
  const found = page.getByTestId('field-board');
  await expect(found).toHaveCount(1);
  await expect(found).toContainText('Pump 7');
  expect(bridge.choosersAnswered).toBe(1);
  await expect(found.getByTestId('signal')).toHaveText('signal unknown');
  await peripheral.advertise(-58);
  await expect(found.getByTestId('signal')).toHaveText('−58 dBm · strong');
  await peripheral.advertise(-83);
  await expect(found.getByTestId('signal')).toHaveText('−83 dBm · weak');

  await found.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('connection-status')).toHaveText('Connected');
  await expect(found).toContainText('Connected');
  expect(peripheral.stats.connections).toBe(1);

  // Identity: the board's own id and the serial from its certificate; the factory's chain is not one this tablet trusts.
  await expect(page.getByTestId('field-device-id')).toHaveText(bytesToHex(device.keys.deviceId));
  await expect(page.getByTestId('field-serial')).toHaveText(SERIAL);
  const oldKey = page.getByTestId('field-key-0x00000001');
  await expect(oldKey.getByTestId('field-key-fingerprint')).toHaveText(oldFingerprint);
  await expect(oldKey.getByTestId('chain-verdict')).toContainText("Chain not verified. Not issued by a CA this station holds: the chain ends at 'CN=Factory Root CA");
  await expect(oldKey.getByTestId('possession')).toHaveText('The board signed a fresh challenge with this key: it holds the private key.');

  await page.getByRole('button', { name: 'Identify' }).click();
  await expect(page.getByTestId('identify-result')).toHaveText(/^The board answered imprint-identify-[0-9a-f]{6} in \d+ ms\.$/);
  await expect(page.getByText('Echo only: MCUmgr has no blink command')).toBeVisible();

  // Every control is a touch target of at least 48 px, and nothing runs off the side of the screen.
  for (const button of await page.locator('main button:visible, main label.btn:visible').all()) {
    const box = (await button.boundingBox())!;
    expect(box.height, `height of "${await button.textContent()}"`).toBeGreaterThanOrEqual(48);
  }
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);

  // Rotate: asked first, then a new key at 0x2 under the tablet's CA, and the old one gone.
  await oldKey.getByRole('button', { name: 'Rotate key…' }).click();
  await expect(oldKey.getByRole('group', { name: /then destroy 0x00000001\?$/ })).toBeVisible();
  await oldKey.getByRole('button', { name: 'Rotate', exact: true }).click();
  await expect(page.getByTestId('rotation-done')).toHaveText(/Key 0x00000001 was replaced by 0x00000002 and destroyed/, { timeout: 30_000 });
  await expect(oldKey).toHaveCount(0);
  await expect(page.getByTestId('rotation-registry')).toHaveText(`Added ${bytesToHex(device.keys.deviceId)} to the device registry (new device).`);
  const newKey = page.getByTestId('field-key-0x00000002');
  const newFingerprint = (await newKey.getByTestId('field-key-fingerprint').textContent())!;
  expect(newFingerprint).toMatch(/^[0-9a-f]{64}$/);
  expect(newFingerprint).not.toBe(oldFingerprint);
  expect(newFingerprint).toBe(await fingerprintOnBoard(device, 2));
  expect(device.keys.store.peek(1)).toBeUndefined();
  await expect(newKey.getByTestId('chain-verdict')).toContainText('Chain verified. Verifies to CN=Acme Field Root CA');
  await expect(newKey.getByTestId('possession')).toContainText('it holds the private key');
  await expect(page.getByTestId('field-serial')).toHaveText(SERIAL);

  // The audit log, exported from the tablet: it verifies, and holds the rotation's intent and outcome.
  const { problems, records, text: tabletExport, fileName: tabletFile } = await exportAuditLog(page, 'field-export-audit');
  expect(problems).toEqual([]);
  expect(openIntents(records)).toEqual([]);
  const rotation = records.filter((record) => record.action === 'keys.rotate');
  expect(rotation).toEqual([
    expect.objectContaining({ phase: 'intent', keyId: '0x00000001', keyFingerprint: oldFingerprint, boardSerial: SERIAL, deviceId: bytesToHex(device.keys.deviceId) }),
    expect.objectContaining({ phase: 'outcome', intentSeq: rotation[0]!.seq, result: 'ok', details: expect.objectContaining({ newKeyId: '0x00000002', newKeyFingerprint: newFingerprint }) }),
  ]);
  const outcomes = records.filter((record) => record.phase === 'outcome').map((record) => `${record.action}:${record.keyId ?? ''}:${record.result}`);
  expect(outcomes).toEqual(expect.arrayContaining(['keys.generate:0x00000002:ok', 'keys.cert-store:0x00000002:ok', 'keys.destroy:0x00000001:ok', 'registry.register::ok']));
  await expect(page.getByTestId('field-audit-total')).toHaveText(String(records.length));

  // Back at the factory: a station PC (its own browser profile, so its own station key and log)
  // provisions a board, then verifies the tablet's export together with its own on the Audit
  // page: two stations, merged.
  const factory = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const desk = await factory.newPage();
    await desk.goto('/');
    await createCa(desk, 'Acme Factory');
    await nav(desk, 'Connect').click();
    await connectFromConnectPage(desk, 'Simulated board', 'Connect');
    await prepareRun(desk, /Supervisor/, 'SN-FACTORY-1');
    await desk.getByRole('button', { name: 'Provision', exact: true }).click();
    await expect(desk.getByTestId('provision-done')).toContainText('Done in', { timeout: 20_000 });
    await nav(desk, 'Audit').click();
    const own = await exportAuditLog(desk, 'export-jsonl');
    expect(own.problems).toEqual([]);
    const tabletStation = records[0]!.stationId;
    expect(own.records[0]!.stationId).not.toBe(tabletStation);
    const picker = desk.locator('input[type=file][multiple]');
    await picker.setInputFiles([
      { name: tabletFile, mimeType: 'application/x-ndjson', buffer: Buffer.from(tabletExport) },
      { name: own.fileName, mimeType: 'application/x-ndjson', buffer: Buffer.from(own.text) },
    ]);
    await expect(desk.getByTestId('verify-result')).toHaveText(new RegExp(`All ${records.length + own.records.length} records from 2 stations verify\\.`));
    await expect(desk.getByRole('row').filter({ hasText: tabletStation })).toContainText(tabletFile);

    // The same two files through the Node CLI: verified; and with one record of the tablet's edited, refused with its station and seq.
    const files = [{ name: tabletFile, text: tabletExport }, { name: own.fileName, text: own.text }];
    const cli = auditVerifyCli(files);
    expect(cli.stdout).toMatch(new RegExp(`^verified: 2 files, 2 stations, ${records.length + own.records.length} records, \\d+ signed checkpoints?\n$`));
    expect(cli.status).toBe(0);
    const edited = tabletExport.replace(`"boardSerial":"${SERIAL}"`, '"boardSerial":"SN-FIELD-8"');
    expect(edited).not.toBe(tabletExport);
    const refused = auditVerifyCli([{ name: tabletFile, text: edited }, files[1]!]);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`^station ${tabletStation} seq \\d+: record changed`, 'm'));
  } finally {
    await factory.close();
  }
});

test('Field mode: the Bluetooth link drops mid-upload; connecting again from the list resumes where the board stopped', async ({ page }) => {
  const device = createSimulatedDevice();
  const peripheral = await bridge.attach(connectSimulatedBoard(device.board, { ble: BLE_1M_DEFAULT }), { name: 'Valve 2', notifySize: 20 });
  const body = new Uint8Array(48 * 1024).map((_, index) => (index * 131 + (index >> 9)) & 0xff);
  const image = buildMcubootImage({ version: { major: 5, minor: 1, revision: 0, build: 2 }, body });
  const info = parseMcubootImage(image);
  if (!info.ok) throw new Error(info.error.message);

  await page.goto('/field');
  await page.getByRole('button', { name: 'Find boards…' }).click();
  const found = page.getByTestId('field-board');
  await found.getByRole('button', { name: 'Connect' }).click();
  await expect(found).toContainText('Connected');

  const upload = page.getByRole('region', { name: 'Upload firmware', exact: true });
  await upload.locator('input[type=file]').setInputFiles({ name: 'valve-5.1.0.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(image) });
  await upload.getByRole('button', { name: 'Upload' }).click();
  await expect.poll(async () => Number(/(\d+)%/.exec((await page.getByTestId('upload-progress').textContent()) ?? '')?.[1] ?? 0), { timeout: 20_000 }).toBeGreaterThanOrEqual(20);

  // Out of range: the link drops, the board keeps what it received.
  await peripheral.dropLink();
  await expect(page.getByRole('alert').filter({ hasText: 'Connection lost' })).toContainText('dropped');
  await expect(page.getByTestId('upload-message')).toContainText('the connection ended');
  expect(device.slots.secondary).toBeFalsy(); // not complete on the board yet

  // Back in range: the same board, one tap, and Resume continues from the board's offset.
  await found.getByRole('button', { name: 'Connect' }).click();
  await expect(found).toContainText('Connected');
  expect(peripheral.stats.connections).toBe(2);
  await upload.getByRole('button', { name: 'Resume upload' }).click();
  await expect(page.getByTestId('upload-done')).toContainText(/resumed at byte [1-9]\d*/, { timeout: 30_000 });
  expect(device.slots.secondary?.version).toBe('5.1.0.2');
  expect(bytesToHex(device.slots.secondary!.hash)).toBe(info.value.hashHex);
  expect(device.slots.secondary!.bytes).toEqual(image);
});

test('a tablet provisions a new board over Bluetooth: Connect (Bluetooth LE) → Provision, TF-M sample; the run is in the exported log', async ({ page }) => {
  const device = createSimulatedDevice({ serialNumber: 'SN-BLE-NEW-1', name: 'fresh-board' });
  await bridge.attach(connectSimulatedBoard(device.board, { ble: BLE_1M_DEFAULT }), { name: 'Fresh board', notifySize: 20 });
  await page.goto('/');
  await createCa(page, 'Acme Field');
  await nav(page, 'Connect').click();
  await page.getByRole('radio', { name: 'Bluetooth LE' }).check();
  await page.getByRole('button', { name: 'Choose device and connect' }).click();
  await expect(page.getByTestId('connection-status')).toHaveText('Connected');
  expect(bridge.choosersAnswered).toBe(1);

  await prepareRun(page, /TF-M provisioning sample/, 'SN-BLE-NEW-1');
  await page.getByRole('button', { name: 'Provision', exact: true }).click();
  await expect(page.getByTestId('provision-done')).toContainText('Done in', { timeout: 60_000 });
  const fingerprint = (await page.getByTestId('provision-certificate').getByTestId('fingerprint').first().textContent())!;
  expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
  // The board in Node holds the keys the run reported: three, the certified one with its chain.
  expect(device.keys.store.peek(3)).toBeDefined();

  await nav(page, 'Field').click();
  const { problems, records } = await exportAuditLog(page, 'field-export-audit');
  expect(problems).toEqual([]);
  expect(openIntents(records)).toEqual([]);
  expect(runOutcomes(records).map((record) => [record.boardSerial, record.result, record.certFingerprint])).toEqual([['SN-BLE-NEW-1', 'ok', fingerprint]]);
});
