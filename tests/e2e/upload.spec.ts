// Firmware upload in the app: a file that is not an image is refused before anything is sent; an
// image goes up to the in-page simulated board; over the stand-in serial port (115200 baud, bytes
// taking their real time) an upload is cancelled and resumed, survives a pulled cable, and a
// reloaded tab resumes it from the offset the board reports — the board ends with the right image.
import { buildMcubootImage, parseMcubootImage } from '../../src/lib/device/mcuboot-image';
import { connectSimulatedBoard, createSimulatedDevice } from '../../src/lib/sim';
import { bytesToHex } from '../../src/lib/util/bytes';
import { card, connectFromConnectPage } from './support/app';
import { expect, test } from './support/fixtures';
import { installSerialBridge, type SerialBridge } from './support/serial-bridge';

function image(bodyBytes: number, version: [number, number, number, number]) {
  const body = new Uint8Array(bodyBytes);
  for (let i = 0; i < body.length; i++) body[i] = (i * 131 + (i >> 9)) & 0xff;
  const bytes = buildMcubootImage({ version: { major: version[0], minor: version[1], revision: version[2], build: version[3] }, body });
  const info = parseMcubootImage(bytes);
  if (!info.ok) throw new Error(info.error.message);
  return { bytes, hash: info.value.hashHex, buffer: Buffer.from(bytes) };
}

async function percentShown(page: import('@playwright/test').Page): Promise<number> {
  const text = (await page.getByTestId('upload-progress').textContent()) ?? '';
  return Number(/(\d+)%/.exec(text)?.[1] ?? 0);
}

test('upload to the in-page simulated board: a non-image is refused, an image lands in slot 1', async ({ page }) => {
  await page.goto('/');
  await connectFromConnectPage(page, 'Simulated board');
  const upload = card(page, 'Upload firmware');
  const input = upload.locator('input[type=file]');

  await input.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('These are release notes, not firmware: nothing here is an image header.') });
  await expect(page.getByTestId('upload-message')).toContainText('notes.txt: not an MCUboot image');
  await expect(upload.getByRole('button', { name: 'Upload' })).toBeDisabled();

  const app = image(12 * 1024, [2, 3, 4, 0]);
  await input.setInputFiles({ name: 'app-2.3.4.bin', mimeType: 'application/octet-stream', buffer: app.buffer });
  await expect(upload).toContainText('2.3.4');
  await upload.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByTestId('upload-done')).toContainText('Uploaded', { timeout: 20_000 });
  await expect(page.getByTestId('slot-1')).toContainText('2.3.4');
  await expect(page.getByTestId('slot-1')).toContainText(app.hash.slice(0, 12));
});

test.describe('upload over the stand-in serial port', () => {
  let bridge: SerialBridge;
  test.beforeEach(async ({ page }) => {
    bridge = await installSerialBridge(page);
  });
  test.afterEach(async () => {
    await bridge.dispose();
  });

  test('cancel and resume, a pulled cable, and a reloaded tab: the board ends with the right image', async ({ page }) => {
    test.setTimeout(90_000);
    const device = createSimulatedDevice();
    let port = bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }));
    const app = image(40 * 1024, [3, 1, 0, 9]);

    await page.goto('/');
    await connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');
    const upload = card(page, 'Upload firmware');
    await upload.locator('input[type=file]').setInputFiles({ name: 'app-3.1.0.bin', mimeType: 'application/octet-stream', buffer: app.buffer });
    await upload.getByRole('button', { name: 'Upload' }).click();

    // Cancel part-way: the message says where, and Resume continues from the board's offset.
    await expect.poll(() => percentShown(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(15);
    await upload.getByRole('button', { name: 'Cancel upload' }).click();
    await expect(page.getByTestId('upload-message')).toContainText('Upload cancelled at');
    const sentBeforeResume = port.bytesFromPage;
    await upload.getByRole('button', { name: 'Resume upload' }).click();
    await expect(page.getByTestId('upload-message')).toContainText('Resuming at byte');

    // Pull the cable part-way through: the upload stops with a message, nothing hangs.
    await expect.poll(() => percentShown(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(45);
    device.board.disconnect();
    await port.gone;
    await expect(page.getByTestId('upload-message')).toContainText('the connection ended');
    expect(port.bytesFromPage).toBeGreaterThan(sentBeforeResume);

    // Close the tab's state entirely: reload, plug the same board in again, reconnect.
    await page.goto('/');
    port = bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }));
    await page.getByRole('radio', { name: 'Serial (WebSerial)' }).check();
    await page.getByRole('radio', { name: 'Reconnect USB serial 2fe3:0100' }).check();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect(page.getByTestId('connection-status')).toHaveText('Connected');
    await expect(page.getByTestId('upload-message')).toContainText('app-3.1.0.bin was not finished');
    await upload.getByRole('button', { name: 'Resume upload' }).click();
    await expect(page.getByTestId('upload-done')).toContainText(/resumed at byte \d+/, { timeout: 30_000 });

    // What the board holds is the file, byte for byte: its slot carries the image's TLV hash.
    expect(device.slots.secondary?.version).toBe('3.1.0.9');
    expect(bytesToHex(device.slots.secondary!.hash)).toBe(app.hash);
    expect(device.slots.secondary!.bytes).toEqual(app.bytes);
    await expect(page.getByTestId('slot-1')).toContainText('3.1.0.9');
  });
});
