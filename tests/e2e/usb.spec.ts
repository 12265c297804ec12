// The app over WebUSB: a stand-in navigator.usb (support/usb-bridge.ts) presents a USB CDC-ACM
// board — Zephyr's CDC ACM sample, 2fe3:0100 — whose bulk endpoints carry the bytes to the
// simulated board in Node. What runs in the page is the app's own WebUSB transport, unchanged:
// web-serial-polyfill's SerialPort over the USBDevice, then the WebSerial transport code.
import { buildMcubootImage, parseMcubootImage } from '../../src/lib/device/mcuboot-image';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../../src/lib/sim';
import { bytesToHex } from '../../src/lib/util/bytes';
import { card, echo } from './support/app';
import { expect, test } from './support/fixtures';
import { installUsbBridge, type AttachOptions, type BridgedUsbDevice, type UsbBridge } from './support/usb-bridge';
import type { Page } from '@playwright/test';

let bridge: UsbBridge;

test.beforeEach(async ({ page }) => {
  bridge = await installUsbBridge(page);
});

test.afterEach(async () => {
  await bridge.dispose();
});

/** A fresh simulated board in Node, plugged in over USB as Zephyr's CDC ACM sample. */
function plugInBoard(options: AttachOptions = {}): { device: SimulatedDevice; usb: BridgedUsbDevice } {
  const device = createSimulatedDevice();
  const usb = bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }), options);
  return { device, usb };
}

function image(bodyBytes: number, version: [number, number, number, number]) {
  const body = new Uint8Array(bodyBytes);
  for (let i = 0; i < body.length; i++) body[i] = (i * 167 + (i >> 8)) & 0xff;
  const bytes = buildMcubootImage({ version: { major: version[0], minor: version[1], revision: version[2], build: version[3] }, body });
  const info = parseMcubootImage(bytes);
  if (!info.ok) throw new Error(info.error.message);
  return { bytes, hash: info.value.hashHex, buffer: Buffer.from(bytes) };
}

/** Connect page → USB (WebUSB) → Choose device and connect; resolves on the device page, connected. */
async function connectOverUsb(page: Page, baudRate?: string): Promise<void> {
  await page.getByRole('radio', { name: 'USB (WebUSB)' }).check();
  if (baudRate) await page.getByLabel('Baud rate').selectOption(baudRate);
  await page.getByRole('button', { name: 'Choose device and connect' }).click();
  await expect(page).toHaveURL(/\/device$/);
  await expect(page.getByTestId('connection-status')).toHaveText('Connected');
}

/** The Connect page offers a USB device granted before; connecting to it needs no chooser. */
async function reconnectGrantedUsb(page: Page): Promise<void> {
  await page.getByRole('radio', { name: 'USB (WebUSB)' }).check();
  const reconnect = page.getByRole('radio', { name: 'Reconnect Zephyr CDC ACM sample 2fe3:0100' });
  await expect(reconnect).toBeChecked();
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await expect(page).toHaveURL(/\/device$/);
  await expect(page.getByTestId('connection-status')).toHaveText('Connected', { timeout: 5_000 });
}

async function percentShown(page: Page): Promise<number> {
  const text = (await page.getByTestId('upload-progress').textContent()) ?? '';
  return Number(/(\d+)%/.exec(text)?.[1] ?? 0);
}

/** Records navigator.usb's connect/disconnect events in the page, for checks from the test. */
async function recordUsbEvents(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { usbEvents: string[] }).usbEvents = seen;
    for (const type of ['connect', 'disconnect']) {
      navigator.usb.addEventListener(type, (event) => seen.push(`${type} ${(event as USBConnectionEvent).device.productName}`));
    }
  });
}

const usbEvents = (page: Page) => page.evaluate(() => (window as unknown as { usbEvents: string[] }).usbEvents);

test('USB: connect through the chooser, identity, echo, the chosen baud rate in SET_LINE_CODING, an image upload the board holds', async ({ page }) => {
  const { device, usb } = plugInBoard();
  await page.goto('/');
  await connectOverUsb(page, '230400');
  expect(bridge.choosersShown).toBe(1);

  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Zephyr CDC ACM sample 2fe3:0100');
  await expect(page.getByTestId('transport-description')).toHaveText('Zephyr CDC ACM sample 2fe3:0100 over WebUSB');
  await expect(page.getByTestId('buf-size')).toHaveText('2048 bytes');
  await expect(page.getByTestId('os-info')).toContainText('Zephyr imprint-sim');
  await echo(page, 'hello');

  // What the polyfill told the device: configuration 1 (already set by the OS), both CDC
  // interfaces claimed, the baud rate picked on the Connect page as line coding, then DTR.
  expect(usb.isOpen).toBe(true);
  expect(usb.configurationValue).toBe(1);
  expect(usb.claimedInterfaces).toEqual([0, 1]);
  expect(usb.lineCoding).toEqual({ baudRate: 230400, stopBits: 1, parity: 'none', dataBits: 8 });
  expect(usb.dtr).toBe(true);
  expect(usb.controlRequests.slice(0, 2).map((request) => [request.request, request.value, request.status])).toEqual([
    [0x20, 0, 'ok'],
    [0x22, 1, 'ok'],
  ]);

  const app = image(8 * 1024, [4, 2, 0, 7]);
  const upload = card(page, 'Upload firmware');
  await upload.locator('input[type=file]').setInputFiles({ name: 'app-4.2.0.bin', mimeType: 'application/octet-stream', buffer: app.buffer });
  await expect(upload).toContainText('4.2.0');
  await upload.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByTestId('upload-done')).toContainText('Uploaded', { timeout: 30_000 });

  // The board in Node holds the file byte for byte; the page lists it in slot 1.
  expect(device.slots.secondary?.version).toBe('4.2.0.7');
  expect(bytesToHex(device.slots.secondary!.hash)).toBe(app.hash);
  expect(device.slots.secondary!.bytes).toEqual(app.bytes);
  await expect(page.getByTestId('slot-1')).toContainText('4.2.0.7');
  expect(usb.bytesFromPage).toBeGreaterThan(app.bytes.length);
  expect(usb.bytesDropped).toBe(0);
});

for (const unplugError of ['NotFoundError', 'NetworkError'] as const) {
  test(`USB: a cable pulled mid-upload (transfers fail with ${unplugError}) is reported, nothing hangs, and a replugged board connects`, async ({ page }) => {
    const { device, usb } = plugInBoard({ unplugError });
    await page.goto('/');
    await connectOverUsb(page);
    await recordUsbEvents(page);
    expect(usb.lineCoding?.baudRate).toBe(115200);

    const app = image(32 * 1024, [5, 0, 1, 0]);
    const upload = card(page, 'Upload firmware');
    await upload.locator('input[type=file]').setInputFiles({ name: 'app-5.0.1.bin', mimeType: 'application/octet-stream', buffer: app.buffer });
    await upload.getByRole('button', { name: 'Upload' }).click();
    await expect.poll(() => percentShown(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(30);

    await usb.unplug();
    expect(usb.isOpen).toBe(false);
    await expect(page.getByTestId('connection-status')).toHaveText('Disconnected');
    // The wording depends on which news reaches the transport first (see docs/testing.md).
    await expect(page.getByRole('alert').filter({ hasText: 'Connection lost' })).toHaveText(
      /^\s*Connection lost: the serial port (closed|stopped answering \(unplugged\?\)|went away \(unplugged or the board reset its USB\))\. What is shown below is as the board last reported it\.\s*$/,
    );
    await expect(page.getByTestId('upload-message')).toContainText('the connection ended');
    await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();
    await expect(card(page, 'Image slots').getByRole('button', { name: 'Refresh' })).toBeDisabled();
    await expect(page.getByRole('button', { name: 'Disconnect' })).toHaveCount(0);
    expect(await usbEvents(page)).toEqual(['disconnect Zephyr CDC ACM sample']);
    expect(device.slots.secondary?.version).not.toBe('5.0.1.0');

    // Plug a board in again: Chrome remembers the permission (same ids and serial number), fires
    // `connect`, and the Connect page offers it again without the chooser; the new USBDevice starts clean.
    await page.getByRole('link', { name: 'Back to Connect' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Connection lost' })).toBeVisible();
    const second = plugInBoard();
    await expect.poll(() => usbEvents(page)).toEqual(['disconnect Zephyr CDC ACM sample', 'connect Zephyr CDC ACM sample']);
    expect(await page.evaluate(async () => (await navigator.usb.getDevices()).map((granted) => granted.productName))).toEqual(['Zephyr CDC ACM sample']);
    await reconnectGrantedUsb(page);
    await expect(page.getByTestId('buf-size')).toHaveText('2048 bytes');
    await echo(page, 'back again');
    expect(second.usb.isOpen).toBe(true);
    expect(bridge.choosersShown).toBe(1);
  });
}

test('USB: a cancelled chooser says no device was chosen; requestDevice needs a user gesture', async ({ page }) => {
  // Without a user gesture, Chrome refuses to show the chooser at all: a script asks as the
  // page loads, before any click. (Playwright's evaluate would count as a gesture.)
  await page.addInitScript(() => {
    (window as unknown as { gestureless: Promise<string> }).gestureless = navigator.usb
      .requestDevice({ filters: [{ classCode: 2 }] })
      .then(() => 'chosen', (error: DOMException) => `${error.name}: ${error.message}`);
  });
  await page.goto('/');
  expect(await page.evaluate(() => (window as unknown as { gestureless: Promise<string> }).gestureless)).toMatch(/^SecurityError: .*user gesture/);
  expect(bridge.choosersShown).toBe(0);

  await page.getByRole('radio', { name: 'USB (WebUSB)' }).check();
  // Nothing plugged in: the chooser has nothing to offer and the operator closes it.
  await page.getByRole('button', { name: 'Choose device and connect' }).click();
  await expect(page.getByRole('alert')).toHaveText('No USB device was chosen.');
  await expect(page.getByTestId('connection-status')).toHaveCount(0);
  await expect(page).toHaveURL(/\/$/);

  // A board is plugged in, and the operator cancels the chooser anyway.
  const { usb } = plugInBoard();
  bridge.cancelNextChooser();
  await page.getByRole('button', { name: 'Choose device and connect' }).click();
  await expect(page.getByRole('alert')).toHaveText('No USB device was chosen.');
  expect(bridge.choosersShown).toBe(2);
  expect(usb.isOpen).toBe(false);
});

// Two problems of web-serial-polyfill 1.0.15 that src/lib/transport/webusb.ts works around: a
// disconnect must release the device so a second session works, and reading must keep a bounded
// number of bulk IN transfers in flight.
test.describe('USB: what the WebUSB transport fixes over the polyfill', () => {
  test('Disconnect releases the device, and a second session over the same device works', async ({ page }) => {
    const { usb } = plugInBoard();
    await page.goto('/');
    await connectOverUsb(page);
    await echo(page, 'first');
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await expect(page.getByRole('heading', { name: 'Connect a board' })).toBeVisible();
    await reconnectGrantedUsb(page);
    await echo(page, 'second');
    expect(usb.stats.closes).toBe(1);
    expect(bridge.choosersShown).toBe(1);
  });

  test('reading keeps a bounded number of bulk IN transfers in flight', async ({ page }) => {
    const { usb } = plugInBoard();
    await page.goto('/');
    await connectOverUsb(page);
    for (const text of ['one', 'two', 'three', 'four', 'five']) await echo(page, text);
    expect(usb.stats.maxPendingIn).toBeLessThanOrEqual(2);
  });
});
