// Web Bluetooth end to end: Chromium's real navigator.bluetooth against an emulated BLE board
// (CDP BluetoothEmulation, support/ble-bridge.ts) whose SMP characteristic is bridged to the
// simulated board in Node over a modelled BLE 1M link. The first tests drive the app's own
// transport (src/lib/transport/webbluetooth.ts) and board API through a small harness page
// (fixtures/ble-harness.*) that reaches details the UI does not show; the last drives the app.
//
// NOTE: Chromium's emulation cannot send notifications. Responses reach the page through the
// characteristic's READ path instead: a test-only init script keeps one readValue() outstanding
// while notifications are on, Node answers it with the board's bytes in notification-sized pieces,
// and Chromium fires `characteristicvaluechanged` for each completed read, which the unchanged
// transport handles as a notification. Writes (page → board) are the real writeValueWithoutResponse.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildMcubootImage, parseMcubootImage } from '../../src/lib/device/mcuboot-image';
import { BLE_1M_DEFAULT, connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../../src/lib/sim';
import { bytesToHex } from '../../src/lib/util/bytes';
import { expect, test } from './support/fixtures';
import { installBleBridge, type BleBridge, type EmulatedPeripheral, type PeripheralOptions } from './support/ble-bridge';

const HARNESS_PATH = '/__e2e/ble-harness';
let harnessScript = '';
const harnessPage = readFileSync(fileURLToPath(new URL('./fixtures/ble-harness.html', import.meta.url)), 'utf8');

test.beforeAll(async () => {
  const bundled = await build({
    entryPoints: [fileURLToPath(new URL('./fixtures/ble-harness.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  harnessScript = bundled.outputFiles[0]!.text;
});

let bridge: BleBridge;

test.beforeEach(async ({ page }) => {
  await page.route(`**${HARNESS_PATH}/*`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path.endsWith('.html')) return route.fulfill({ contentType: 'text/html; charset=utf-8', body: harnessPage });
    if (path.endsWith('.js')) return route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: harnessScript });
    return route.fulfill({ status: 404, body: '' });
  });
  bridge = await installBleBridge(page);
});

test.afterEach(async () => {
  await bridge.dispose();
  expect(bridge.problems, 'CDP calls of the emulation that failed').toEqual([]);
});

/** A fresh simulated board in Node behind an emulated BLE peripheral, and the harness page loaded. */
async function boardOverBle(page: import('@playwright/test').Page, options: PeripheralOptions = {}): Promise<{ device: SimulatedDevice; peripheral: EmulatedPeripheral }> {
  const device = createSimulatedDevice();
  const peripheral = await bridge.attach(connectSimulatedBoard(device.board, { ble: BLE_1M_DEFAULT }), options);
  await page.goto(`${HARNESS_PATH}/ble-harness.html`);
  await expect(page.locator('#status')).toHaveText('ready');
  return { device, peripheral };
}

test('Bluetooth: the chooser, echo and MCUmgr params, then an 8 KiB image upload the board holds', async ({ page }) => {
  const { device, peripheral } = await boardOverBle(page, { name: 'Imprint BLE sim', notifySize: 20 });

  const connection = await page.evaluate(() => window.bleHarness.connect({ growWrites: true }));
  expect(bridge.choosersAnswered).toBe(1);
  expect(connection).toEqual({ name: 'Imprint BLE sim', description: 'Imprint BLE sim', params: { bufSize: 2048, bufCount: 4 }, writeSize: 512 });
  expect(peripheral.stats.connections).toBe(1);
  expect(peripheral.notifying).toBe(true);

  expect(await page.evaluate(() => window.bleHarness.echo('hello'))).toBe('hello');
  expect(await page.evaluate(() => window.bleHarness.params())).toEqual({ bufSize: 2048, bufCount: 4 });
  // A 60-character echo answer is longer than one 20-byte piece: the transport reassembled it.
  const long = 'x'.repeat(60);
  expect(await page.evaluate((text) => window.bleHarness.echo(text), long)).toBe(long);

  const body = new Uint8Array(8 * 1024).map((_, index) => (index * 31 + 7) & 0xff);
  const image = buildMcubootImage({ version: { major: 2, minor: 3, revision: 4, build: 5 }, body });
  const info = parseMcubootImage(image);
  if (!info.ok) throw new Error(info.error.message);
  const { summary, progressEvents } = await page.evaluate((base64) => window.bleHarness.upload(base64), Buffer.from(image).toString('base64'));
  expect(summary.bytes).toBe(image.length);
  expect(summary.resumedFrom).toBe(0);
  expect(progressEvents).toBeGreaterThan(0);

  // The board in Node holds exactly the image the page sent.
  expect(device.slots.secondary?.version).toBe('2.3.4.5');
  expect(bytesToHex(device.slots.secondary!.hash)).toBe(info.value.hashHex);
  expect(Buffer.from(device.slots.secondary!.bytes!).equals(Buffer.from(image))).toBe(true);
  // … and says so over the air.
  const slots = await page.evaluate(() => window.bleHarness.slots());
  expect(slots).toEqual([
    expect.objectContaining({ slot: 0, version: '1.0.0', active: true }),
    expect.objectContaining({ slot: 1, version: '2.3.4.5', hash: info.value.hashHex, pending: false }),
  ]);

  // Writes grew to 512 bytes once the board's 2048-byte buffer was known (the emulation enforces no
  // ATT MTU, so the shrink-on-refusal path is not exercised here).
  expect(peripheral.stats.largestWrite).toBe(512);
  expect(peripheral.stats.bytesFromPage).toBeGreaterThan(image.length);
  test.info().annotations.push({
    type: 'ble upload',
    description: `${summary.bytes} B in ${summary.seconds.toFixed(2)} s; ${peripheral.stats.writes} writes, ${peripheral.stats.notifications} pieces (${peripheral.stats.bytesToPage} B) back`,
  });

  await page.evaluate(() => window.bleHarness.close());
  await expect.poll(() => peripheral.notifying).toBe(false);
});

test('Bluetooth: a cancelled chooser connects nothing', async ({ page }) => {
  const { peripheral } = await boardOverBle(page);
  bridge.cancelNextChooser();
  expect(await page.evaluate(() => window.bleHarness.connect())).toBeNull();
  expect(bridge.choosersAnswered).toBe(1);
  expect(peripheral.stats.connections).toBe(0);
});

test('Bluetooth: the board dropping the link reaches the page as a lost connection', async ({ page }) => {
  const { device, peripheral } = await boardOverBle(page, { notifySize: 244 });
  const connection = await page.evaluate(() => window.bleHarness.connect());
  expect(connection?.writeSize).toBe(20); // without growWrites: the size every link carries
  expect(await page.evaluate(() => window.bleHarness.echo('before'))).toBe('before');

  const disconnected = page.evaluate(() => window.bleHarness.disconnected());
  device.board.disconnect();
  await peripheral.gone;
  expect(await disconnected).toEqual({ reason: 'lost', message: expect.stringContaining('dropped') });
  expect(await page.evaluate(() => window.bleHarness.isConnected)).toBe(false);
  await expect(page.evaluate(() => window.bleHarness.echo('after'))).rejects.toThrow(/not-connected|disconnected/);
});

test('Bluetooth in the app: Connect page → chooser → device page with identity, echo and a firmware upload', async ({ page }) => {
  const device = createSimulatedDevice();
  const peripheral = await bridge.attach(connectSimulatedBoard(device.board, { ble: BLE_1M_DEFAULT }), { name: 'Imprint BLE sim', notifySize: 20 });
  await page.goto('/');
  await page.getByRole('radio', { name: 'Bluetooth LE' }).check();
  await page.getByRole('button', { name: 'Choose device and connect' }).click();
  await expect(page).toHaveURL(/\/device$/);
  await expect(page.getByTestId('connection-status')).toHaveText('Connected');
  expect(bridge.choosersAnswered).toBe(1);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Imprint BLE sim');
  await expect(page.getByTestId('buf-size')).toHaveText('2048 bytes');

  const input = page.getByLabel('Text to send');
  await input.fill('over the air');
  await input.press('Enter');
  await expect(page.getByTestId('echo-result')).toContainText('Reply over the air');

  const body = new Uint8Array(6 * 1024).map((_, index) => (index * 17) & 0xff);
  const image = buildMcubootImage({ version: { major: 4, minor: 0, revision: 0, build: 1 }, body });
  const upload = page.getByRole('region', { name: 'Upload firmware', exact: true });
  await upload.locator('input[type=file]').setInputFiles({ name: 'ble.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(image) });
  await upload.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByTestId('upload-done')).toContainText('Uploaded');
  await expect(page.getByTestId('slot-1')).toContainText('4.0.0.1');
  expect(device.slots.secondary?.version).toBe('4.0.0.1');
  // The app let writes grow to what the board's buffer allows once it knew it.
  expect(peripheral.stats.largestWrite).toBe(512);
});
