// The app over WebSerial, through a stand-in navigator.serial whose port carries the bytes to the
// simulated board running in Node (see support/serial-bridge.ts). Exercises the real WebSerial
// transport code: open options, streams, the chooser, and what happens when the cable is pulled.
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../../src/lib/sim';
import { card, connectFromConnectPage, echo } from './support/app';
import { expect, test } from './support/fixtures';
import { installSerialBridge, type SerialBridge } from './support/serial-bridge';

let bridge: SerialBridge;

test.beforeEach(async ({ page }) => {
  bridge = await installSerialBridge(page);
});

test.afterEach(async () => {
  await bridge.dispose();
});

/** A fresh simulated board in Node, plugged in as USB serial 2fe3:0100. */
function plugInBoard(): { device: SimulatedDevice; port: ReturnType<SerialBridge['attach']> } {
  const device = createSimulatedDevice();
  const port = bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }));
  return { device, port };
}

test('serial: connect through the chooser, identity, echo, test and confirm; a pulled cable is reported and reconnecting works', async ({ page }) => {
  const first = plugInBoard();
  await page.goto('/');
  await page.getByRole('radio', { name: 'Serial (WebSerial)' }).check();
  await expect(page.getByLabel('Baud rate')).toHaveValue('115200');
  await expect(page.getByRole('radio', { name: 'Choose a port in the browser’s dialog' })).toBeChecked();
  await connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');
  expect(first.port.openedWith).toMatchObject({ baudRate: 115200, bufferSize: 64 * 1024 });

  await expect(page.getByRole('heading', { level: 1 })).toHaveText('USB serial 2fe3:0100');
  await expect(page.getByTestId('transport-description')).toHaveText('USB serial 2fe3:0100 at 115200 baud');
  await expect(page.getByTestId('buf-size')).toHaveText('2048 bytes');
  await expect(page.getByTestId('os-info')).toContainText('Zephyr imprint-sim');
  await echo(page, 'hello');

  const slots = card(page, 'Image slots');
  await slots.getByRole('button', { name: 'Test slot 1' }).click();
  await expect(page.getByTestId('slot-1')).toContainText('pending');
  await slots.getByRole('button', { name: 'Confirm slot 1' }).click();
  await expect(page.getByTestId('slot-1')).toContainText('permanent');
  expect(first.device.slots.pending).toBe('permanent');
  expect(first.port.bytesFromPage).toBeGreaterThan(0);
  expect(first.port.bytesToPage).toBeGreaterThan(0);

  // An echo the board never answers is in flight when the cable goes: it must end, not spin.
  first.device.board.faults.inject({ dropResponses: 1 });
  await page.getByLabel('Text to send').fill('lost in the cable');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.getByRole('button', { name: 'Sending…' })).toBeVisible();
  first.device.board.disconnect();
  await first.port.gone;

  await expect(page.getByTestId('connection-status')).toHaveText('Disconnected');
  await expect(page.getByRole('alert').filter({ hasText: 'Connection lost' })).toHaveText(
    /^\s*Connection lost: the serial port (went away \(unplugged or the board reset its USB\)|stopped answering \(unplugged\?\))\. What is shown below is as the board last reported it\.\s*$/,
  );
  await expect(card(page, 'Echo').getByRole('alert')).toHaveText(/^os\/echo: the connection ended before the board answered \(the serial port .+\)$/);
  await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();
  await expect(page.getByLabel('Text to send')).toBeDisabled();
  await expect(slots.getByRole('button', { name: 'Refresh' })).toBeDisabled();
  await expect(card(page, 'Identity').getByRole('button', { name: 'Refresh' })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Disconnect' })).toHaveCount(0);
  // The last known slots stay visible, with their actions disabled.
  await expect(slots.getByRole('button', { name: 'Confirm slot 1' })).toHaveCount(0);
  await expect(page.getByTestId('slot-1')).toContainText('permanent');

  // Back to Connect; plug a board in again: the granted port is offered without the chooser.
  await page.getByRole('link', { name: 'Back to Connect' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Connection lost' })).toBeVisible();
  const second = plugInBoard();
  const reconnect = page.getByRole('radio', { name: 'Reconnect USB serial 2fe3:0100' });
  await expect(reconnect).toBeChecked();
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await expect(page).toHaveURL(/\/device$/);
  await expect(page.getByTestId('connection-status')).toHaveText('Connected');
  await expect(page.getByTestId('buf-size')).toHaveText('2048 bytes');
  expect(second.port.isOpen).toBe(true);
  await echo(page, 'again');

  // Disconnect at the operator's request closes the port cleanly and returns to Connect.
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await expect(page.getByRole('heading', { name: 'Connect a board' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Disconnected from USB serial 2fe3:0100 at 115200 baud.' })).toBeVisible();
  await expect.poll(() => second.port.isOpen).toBe(false);
  expect(second.port.isPresent).toBe(true);
});

test('serial: a cancelled chooser and a silent board are reported in the alert region', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('radio', { name: 'Serial (WebSerial)' }).check();
  // No port plugged in: the chooser has nothing to offer (the operator cancels it).
  await page.getByRole('button', { name: 'Choose port and connect' }).click();
  await expect(page.getByRole('alert')).toHaveText('No serial port was chosen.');
  await expect(page.getByTestId('connection-status')).toHaveCount(0);

  // A port whose board never answers SMP: the client's timeout message, then the connect fails.
  const { device } = plugInBoard();
  device.board.faults.inject({ dropRequests: 1000 });
  await page.getByLabel('Baud rate').selectOption('921600');
  await page.getByRole('button', { name: 'Choose port and connect' }).click();
  await expect(page.getByRole('button', { name: 'Connecting…' })).toBeDisabled();
  await expect(page.getByRole('alert')).toHaveText(
    /^os\/mcumgr-params: no response in .+ — is the board running the SMP server on this USB serial 2fe3:0100 at 921600 baud\?$/,
    { timeout: 10_000 },
  );
  await expect(page).toHaveURL(/\/$/);
  expect(bridge.ports[0]!.openedWith?.baudRate).toBe(921600);
  await expect.poll(() => bridge.ports[0]!.isOpen).toBe(false);
});
