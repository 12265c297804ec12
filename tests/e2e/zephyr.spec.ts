// The app against the REAL Zephyr SMP server (Zephyr's smp_svr sample on native_sim): page →
// stand-in navigator.serial → Node → the board's pty. Each test starts and stops its own board.
import { openSerialDevice } from '../../src/node/pty-transport';
import { findZephyrExe, startZephyr, zephyrExeLocation, type ZephyrInstance } from '../../src/node/zephyr';
import { card, connectFromConnectPage, echo } from './support/app';
import { expect, test } from './support/fixtures';
import { installSerialBridge, type SerialBridge } from './support/serial-bridge';

test.skip(findZephyrExe() === null, `the Zephyr board is not built here (looked for ${zephyrExeLocation()}; set ZEPHYR_SMP_EXE)`);

let zephyr: ZephyrInstance | null = null;
let bridge: SerialBridge | null = null;

test.beforeEach(async ({ page }) => {
  zephyr = await startZephyr();
  bridge = await installSerialBridge(page);
  bridge.attach(await openSerialDevice(zephyr.pty, { description: `Zephyr pty ${zephyr.pty}` }));
});

test.afterEach(async () => {
  await bridge?.dispose();
  await zephyr?.stop();
  bridge = null;
  zephyr = null;
});

test('Zephyr: identity, echo and an empty image list through the serial stand-in', async ({ page }) => {
  await page.goto('/');
  await connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');

  await expect(page.getByTestId('buf-size')).toHaveText('1100 bytes');
  await expect(page.getByTestId('buf-count')).toHaveText('4');
  await expect(page.getByTestId('os-info')).toContainText('Zephyr');
  await expect(page.getByTestId('os-info')).toContainText('native_sim');
  // smp_svr is built without bootloader info: the card says so instead of failing.
  await expect(page.getByTestId('bootloader')).toContainText(/Not available — os\/bootloader-info: /);

  await echo(page, 'hello');
  await echo(page, 'hello from the browser');

  const slots = card(page, 'Image slots');
  await expect(slots.getByTestId('no-images')).toContainText('No images');
  await slots.getByRole('button', { name: 'Refresh' }).click();
  await expect(slots.getByTestId('no-images')).toBeVisible();

  const log = card(page, 'SMP log');
  await expect(log.locator('tbody tr').filter({ hasText: 'image/state' }).last()).toContainText('"images": []');
});

test('Zephyr: reset makes the process exit, and the page reports the lost port', async ({ page }) => {
  await page.goto('/');
  await connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');
  const reset = card(page, 'Reset');
  await reset.getByRole('button', { name: 'Reset board…' }).click();
  await reset.getByRole('button', { name: 'Reset now' }).click();
  // native_sim answers the reset, then its process exits: the pty closes (EIO) and the port is lost.
  await expect(page.getByTestId('connection-status')).toHaveText('Disconnected', { timeout: 10_000 });
  await expect(page.getByRole('alert').filter({ hasText: 'Connection lost' })).toContainText(/Connection lost: the serial port/);
  await expect(page.getByRole('button', { name: 'Send' })).toBeDisabled();
  await expect(reset.getByRole('button', { name: 'Reset board…' })).toBeDisabled();
});
