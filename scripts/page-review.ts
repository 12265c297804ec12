#!/usr/bin/env -S npx tsx
/**
 * Every page at a desktop (1280×800) and a tablet in portrait (800×1280), full length, in the state
 * an operator would see it: a CA made, the in-page simulated board connected and provisioned, and
 * on the Field page an emulated Bluetooth board (CDP BluetoothEmulation, as in the e2e tests)
 * found with its signal, connected and identified. For looking at, before a release or after a
 * layout change. Serve the build first (`npx vite build && node scripts/serve.js build`), then
 * `npx tsx scripts/page-review.ts [http://localhost:5173]`. Writes reports/page-review/*.png, and
 * the Field page's pictures for docs/ui.md to docs/screenshots/.
 */
import { chromium, type Page } from '@playwright/test';
import { copyFileSync, mkdirSync } from 'node:fs';
import { BLE_1M_DEFAULT, connectSimulatedBoard } from '../src/lib/sim';
import { installBleBridge } from '../tests/e2e/support/ble-bridge';
import { factoryBoard } from '../tests/e2e/support/factory-board';

const baseURL = process.argv[2] ?? 'http://localhost:5173';
const outDir = 'reports/page-review';
const docsDir = 'docs/screenshots';
const sizes = [
  { name: '1280x800', viewport: { width: 1280, height: 800 } },
  { name: '800x1280', viewport: { width: 800, height: 1280 } },
];
/** Fixed demo values for the TF-M sample's two known keys (valid P-256 scalars; never use them for real). */
const DEMO_SCALARS = { known: '11'.repeat(32), certified: '22'.repeat(32) };

async function review(page: Page, size: string): Promise<void> {
  const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true });
  const shot = async (name: string) => {
    await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await page.screenshot({ path: `${outDir}/${name}-${size}.png`, fullPage: true });
  };

  await page.goto(`${baseURL}/ca`);
  await page.getByLabel('Organization').fill('Acme Devices');
  await page.getByRole('button', { name: 'Create CA without backup' }).click();
  await page.getByRole('status').filter({ hasText: 'Created “Acme Devices”' }).waitFor();
  await shot('ca');

  await nav('Connect').click();
  await page.getByRole('heading', { name: 'Connect a board' }).waitFor();
  await shot('connect');
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.getByTestId('connection-status').filter({ hasText: 'Connected' }).first().waitFor();
  await shot('device');

  await nav('Provision').click();
  await page.getByLabel('Board serial').fill('SN-0001');
  for (const [label, value] of Object.entries(DEMO_SCALARS)) await page.getByLabel(`Key “${label}”`).fill(value);
  await page.getByRole('button', { name: 'Provision', exact: true }).click();
  await page.getByTestId('provision-done').waitFor({ timeout: 20_000 });
  await shot('provision');

  await nav('Keys').click();
  await page.getByTestId('key-0x00000003').getByTestId('key-certificate').first().waitFor();
  await shot('keys');
  for (const name of ['Station', 'Audit', 'Registry', 'Console']) {
    await nav(name).click();
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(300);
    await shot(name.toLowerCase());
  }

  await nav('Field').click();
  await page.getByRole('button', { name: 'Find boards…' }).click();
  const board = page.getByTestId('field-board').filter({ hasText: 'Pump 7' });
  await board.waitFor();
  await bridge.peripherals[0]!.advertise(-58);
  await board.getByTestId('signal').filter({ hasText: 'dBm' }).waitFor();
  await board.getByRole('button', { name: 'Connect' }).click();
  await page.getByTestId('chain-verdict').first().waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Identify' }).click();
  await page.getByTestId('identify-result').waitFor();
  await shot('field');
  copyFileSync(`${outDir}/field-${size}.png`, `${docsDir}/field-${size}.png`);

  await page.goto(`${baseURL}/no-such-page`);
  await shot('not-found');
}

mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--enable-features=WebBluetooth', '--enable-experimental-web-platform-features'],
});
let bridge: Awaited<ReturnType<typeof installBleBridge>>;
try {
  for (const { name, viewport } of sizes) {
    // A fresh context per size: its own IndexedDB (CA, audit log) and Bluetooth permissions.
    const context = await browser.newContext({ viewport, colorScheme: 'light' });
    const page = await context.newPage();
    bridge = await installBleBridge(page);
    await bridge.attach(connectSimulatedBoard((await factoryBoard('SN-FIELD-7')).board, { ble: BLE_1M_DEFAULT }), { name: 'Pump 7' });
    try {
      await review(page, name);
    } finally {
      await bridge.dispose();
      await context.close();
    }
  }
} finally {
  await browser.close();
}
console.log(`pages written to ${outDir}/`);
