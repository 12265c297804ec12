// The app provisions the REAL reference firmware (firmware/zephyr, built for native_sim_64 by
// scripts/firmware-build.sh; docs/firmware.md) end to end: a CA made on the CA page, the page →
// stand-in navigator.serial → Node → the firmware's pty, the tfm-sample profile on the Provision
// page (a key made on the board, two operator keys imported sealed with HPKE, a CSR built by the
// board for the certified one), and the certificate with its fingerprint shown at the end; the
// Keys page then reads the same certificate back from the firmware.
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { bytesToHex } from '../../src/lib/util/bytes';
import { openSerialDevice } from '../../src/node/pty-transport';
import { startZephyr, type ZephyrInstance } from '../../src/node/zephyr';
import { buildFirmware } from '../unit/support/firmware-build';
import { connectFromConnectPage, nav } from './support/app';
import { expect, test } from './support/fixtures';
import { installSerialBridge, type SerialBridge } from './support/serial-bridge';

let exe: string | null = null;
let zephyr: ZephyrInstance | null = null;
let bridge: SerialBridge | null = null;
let dir: string | null = null;

test.beforeAll(async () => {
  // A first build takes about 30 s (plus the packages the very first time); cached, about 0.2 s.
  test.setTimeout(11 * 60_000);
  const built = await buildFirmware();
  exe = 'exe' in built ? built.exe : null;
  test.skip(exe === null, `the reference firmware is not built here: ${'reason' in built ? built.reason : ''}`);
});

test.beforeEach(async ({ page }) => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-fw-e2e-'));
  // A flash file and a fresh seed: native_sim's RNG repeats itself otherwise.
  zephyr = await startZephyr({ exe: exe!, args: [`-flash=${path.join(dir, 'flash.bin')}`, `-seed=${randomInt(1, 2 ** 31)}`] });
  bridge = await installSerialBridge(page);
  bridge.attach(await openSerialDevice(zephyr.pty, { description: `firmware pty ${zephyr.pty}` }));
});

test.afterEach(async ({}, testInfo) => {
  if (testInfo.status !== testInfo.expectedStatus && zephyr) await testInfo.attach('firmware output', { body: zephyr.output(), contentType: 'text/plain' });
  await bridge?.dispose();
  await zephyr?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  bridge = null;
  zephyr = null;
  dir = null;
});

test('the app provisions the reference firmware over the stand-in serial port: tfm-sample, the certificate shown at the end', async ({ page }) => {
  test.setTimeout(90_000);
  await page.goto('/ca');
  await page.getByLabel('Organization').fill('Firmware Line');
  await page.getByRole('button', { name: 'Create CA without backup' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Created “Firmware Line”' })).toBeVisible();

  await nav(page, 'Connect').click();
  await connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');

  await nav(page, 'Provision').click();
  await page.getByRole('radio', { name: /TF-M provisioning sample/ }).check();
  await page.getByLabel('Board serial').fill('FW-0001');
  for (const label of ['known', 'certified']) await page.getByLabel(`Key “${label}”`).fill(bytesToHex(p256.utils.randomSecretKey()));
  await expect(page.getByTestId('provision-ca')).toContainText('Firmware Line');
  await page.getByRole('button', { name: 'Provision', exact: true }).click();

  await expect(page.getByTestId('provision-done')).toContainText('Done in', { timeout: 30_000 });
  const steps = page.getByTestId('provision-steps').locator('li');
  await expect(steps).toHaveCount(11);
  await expect(steps.and(page.locator('[data-status=done]'))).toHaveCount(11);
  await expect(steps.first()).toContainText('imprint-zephyr 1.0.0'); // the firmware answered, not a simulation
  await expect(page.getByTestId('provision-steps')).toContainText('built by the board');
  const certificate = page.getByTestId('provision-certificate');
  await expect(certificate).toContainText(/Device\s*CN=[0-9a-f]{32}, serialNumber=FW-0001/);
  await expect(certificate).toContainText('Firmware Line');
  const fingerprint = (await certificate.getByTestId('fingerprint').first().textContent())!;
  expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);

  // The Keys page reads the chain back from the firmware: the same certificate on key 3.
  await nav(page, 'Keys').click();
  const certified = page.getByTestId('key-0x00000003');
  await expect(certified.getByTestId('key-certificate').first()).toContainText('serialNumber=FW-0001');
  await expect(certified.getByTestId('fingerprint').first()).toHaveText(fingerprint);
  await expect(page.getByTestId('key-0x00000001')).toContainText('No certificate stored for this key.');
});
