// The app against the simulated board running inside the page itself (no stand-ins anywhere).
import { card, connectFromConnectPage, echo } from './support/app';
import { expect, test } from './support/fixtures';

test.beforeEach(async ({ context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
});

test('simulated board: identity, echo, test and confirm, a refused erase, and the SMP log', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('radio', { name: 'Simulated board' })).toBeChecked();
  await connectFromConnectPage(page, 'Simulated board', 'Connect');

  await expect(page.getByRole('heading', { level: 1 })).toHaveText('imprint-sim');
  await expect(page.getByTestId('transport-description')).toHaveText('simulated board at 115200 baud');
  await expect(page.getByTestId('buf-size')).toHaveText('2048 bytes');
  await expect(page.getByTestId('buf-count')).toHaveText('4');
  await expect(page.getByTestId('os-info')).toContainText('Zephyr');
  await expect(page.getByTestId('bootloader')).toHaveText(/MCUboot\s*·\s*swap using scratch \(mode 1\)/);

  await echo(page, 'hello');

  const slots = card(page, 'Image slots');
  await expect(slots.locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('slot-0')).toContainText('1.0.0');
  await expect(page.getByTestId('slot-0')).toContainText(/active.*confirmed/);
  await expect(page.getByTestId('slot-1')).toContainText('1.1.0');
  await expect(page.getByTestId('slot-1')).not.toContainText('pending');

  await slots.getByRole('button', { name: 'Test slot 1' }).click();
  await expect(page.getByTestId('slot-1').getByText('pending', { exact: true })).toBeVisible();
  await expect(slots.getByRole('button', { name: 'Test slot 1' })).toHaveCount(0);

  await slots.getByRole('button', { name: 'Confirm slot 1' }).click();
  await expect(page.getByTestId('slot-1').getByText('permanent', { exact: true })).toBeVisible();

  // MCUboot will not erase a slot that is marked for the next boot: the board refuses, the card says so.
  await slots.getByRole('button', { name: 'Erase slot 1…' }).click();
  await slots.getByRole('button', { name: 'Erase', exact: true }).click();
  await expect(slots.getByRole('alert')).toHaveText('image/erase: image error 9 (no free slot)');
  await expect(slots.locator('tbody tr')).toHaveCount(2);
  await slots.getByRole('button', { name: 'Dismiss this message' }).click();
  await expect(slots.getByRole('alert')).toHaveCount(0);

  const log = card(page, 'SMP log');
  const rows = log.locator('tbody tr');
  expect(await rows.count()).toBeGreaterThanOrEqual(16);
  await expect(rows.filter({ hasText: 'os/echo' }).first()).toContainText('"d": "hello"');
  await expect(rows.filter({ hasText: 'image/state' }).filter({ hasText: 'write ·' }).first()).toContainText(/"hash": h'[0-9a-f]{64}'/);

  await log.getByRole('button', { name: 'Copy log' }).click();
  await expect(log.getByRole('button', { name: 'Copied' })).toBeVisible();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ⇢ os\/mcumgr-params read seq \d+, \d+ B\n\{\}\n/);
  expect(copied).toContain('⇠ os/echo write-rsp');
  expect(copied).toContain('"r": "hello"');
  expect(copied).toMatch(/⇠ image\/erase write-rsp seq \d+, \d+ B\n\{\n {2}"err": \{\n {4}"rc": 9,\n {4}"group": 1\n {2}\}\n\}/); // the refused erase, v2 error

  await log.getByRole('button', { name: 'Clear' }).click();
  await expect(log.getByText('No packets yet.')).toBeVisible();
});

test('reset asks first, then the board restarts with the tested image running', async ({ page }) => {
  await page.goto('/');
  await connectFromConnectPage(page, 'Simulated board', 'Connect');
  const slots = card(page, 'Image slots');
  await slots.getByRole('button', { name: 'Test slot 1' }).click();
  await expect(page.getByTestId('slot-1')).toContainText('pending');

  const reset = card(page, 'Reset');
  await reset.getByRole('button', { name: 'Reset board…' }).click();
  await expect(reset.getByText('Reboot the board now?')).toBeVisible();
  await reset.getByRole('button', { name: 'Cancel' }).click();
  await expect(reset.getByRole('button', { name: 'Reset board…' })).toBeFocused();
  await reset.getByRole('button', { name: 'Reset board…' }).click();
  await reset.getByRole('button', { name: 'Reset now' }).click();
  await expect(reset.getByRole('status')).toHaveText('The board restarted and answers again.');
  // MCUboot swapped the tested image in: it runs now, on trial (not confirmed).
  await expect(page.getByTestId('slot-0')).toContainText('1.1.0');
  await expect(page.getByTestId('slot-0')).not.toContainText('confirmed');
  await slots.getByRole('button', { name: 'Confirm slot 0' }).click();
  await expect(page.getByTestId('slot-0')).toContainText('confirmed');
});

test('the keyboard alone connects and sends an echo, with a visible focus ring', async ({ page }) => {
  await page.goto('/');
  const connect = page.getByRole('button', { name: 'Connect', exact: true });
  for (let presses = 0; presses < 20 && !(await connect.evaluate((element) => element === document.activeElement)); presses++) {
    await page.keyboard.press('Tab');
  }
  await expect(connect).toBeFocused();
  const outline = await connect.evaluate((element) => getComputedStyle(element).outlineStyle);
  expect(outline).toBe('solid');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('connection-status')).toHaveText('Connected');

  const input = page.getByLabel('Text to send');
  for (let presses = 0; presses < 20 && !(await input.evaluate((element) => element === document.activeElement)); presses++) {
    await page.keyboard.press('Tab');
  }
  await expect(input).toBeFocused();
  await page.keyboard.press('End');
  await page.keyboard.type(' world');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('echo-result')).toContainText('hello world');
});

test('the device page without a board points back to Connect', async ({ page }) => {
  await page.goto('/device');
  await expect(page.getByRole('heading', { name: 'No board connected' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to Connect' }).click();
  await expect(page.getByRole('heading', { name: 'Connect a board' })).toBeVisible();
});

test('Bluetooth LE and USB are offered where the browser has the API, disabled with the reason where it does not', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('radio', { name: 'Bluetooth LE' })).toBeEnabled();
  await page.getByRole('radio', { name: 'USB (WebUSB)' }).check();
  await expect(page.getByLabel('Baud rate')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Choose device and connect' })).toBeVisible();

  // The same page in a browser without Web Bluetooth and WebUSB (Firefox, Safari).
  await page.addInitScript(() => {
    for (const api of ['bluetooth', 'usb']) Object.defineProperty(Navigator.prototype, api, { get: () => undefined, configurable: true });
  });
  await page.reload();
  await expect(page.getByRole('radio', { name: 'Bluetooth LE' })).toBeDisabled();
  await expect(page.getByRole('radio', { name: 'USB (WebUSB)' })).toBeDisabled();
  await expect(page.getByText(/Unavailable: this browser has no Web Bluetooth \(use Chrome or Edge\)\./)).toBeVisible();
  await expect(page.getByText(/Unavailable: this browser has no WebUSB \(use Chrome or Edge\)\./)).toBeVisible();
});
