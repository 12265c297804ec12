#!/usr/bin/env -S npx tsx
/**
 * Screenshots of the Connect page, the Device page (connected to the in-page simulated board) and
 * the identity pages — CA, Provision, Keys, Audit, after one provisioning run — for docs/ui.md,
 * at desktop (1280×800) and tablet (768×1024) sizes, light and one dark.
 * Serve the build first: `npx vite build && node scripts/serve.js build`, then
 * `npx tsx scripts/screenshots.ts [http://localhost:5173]`. Writes docs/screenshots/*.png.
 */
import { chromium, type Page } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';

const baseURL = process.argv[2] ?? 'http://localhost:5173';
const outDir = 'docs/screenshots';
const sizes = [
  { name: '1280', viewport: { width: 1280, height: 800 } },
  { name: '768', viewport: { width: 768, height: 1024 } },
];

async function connectAndUse(page: Page): Promise<void> {
  await page.goto(`${baseURL}/`);
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor();
  const input = page.getByLabel('Text to send');
  await input.fill('hello');
  await input.press('Enter');
  await page.getByTestId('echo-result').filter({ hasText: 'Reply' }).waitFor();
  await page.getByRole('button', { name: 'Test slot 1' }).click();
  await page.getByTestId('slot-1').getByText('pending', { exact: true }).waitFor();
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
}

/** Fixed demo values for the TF-M sample's two known keys (valid P-256 scalars; never use them for real). */
const DEMO_SCALARS = { known: '11'.repeat(32), certified: '22'.repeat(32) };

/** CA, Provision, Keys and Audit after creating a CA and provisioning the simulated board once. */
async function identityPages(page: Page, name: string): Promise<void> {
  const nav = (label: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true });
  const blur = () => page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
  await page.goto(`${baseURL}/ca`);
  await page.getByLabel('Organization').fill('Acme Devices');
  await page.getByLabel('Backup passphrase').fill('correct horse battery staple');
  await page.getByLabel('Passphrase again').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Create CA with backup' }).click();
  await page.getByText('Download its backup now').waitFor();
  await blur();
  await page.screenshot({ path: `${outDir}/ca-${name}.png`, fullPage: true });

  await nav('Connect').click();
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.getByTestId('connection-status').filter({ hasText: 'Connected' }).waitFor();
  await nav('Provision').click();
  await page.getByLabel('Board serial').fill('SN-0001');
  for (const [label, value] of Object.entries(DEMO_SCALARS)) await page.getByLabel(`Key “${label}”`).fill(value);
  await page.getByRole('button', { name: 'Provision', exact: true }).click();
  await page.getByTestId('provision-done').waitFor({ timeout: 20_000 });
  await blur();
  await page.screenshot({ path: `${outDir}/provision-${name}.png`, fullPage: true });

  await nav('Keys').click();
  await page.getByTestId('key-0x00000003').getByTestId('key-certificate').first().waitFor();
  await page.screenshot({ path: `${outDir}/keys-${name}.png`, fullPage: true });

  await nav('Audit').click();
  await page.getByTestId('audit-records').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-jsonl').click()]);
  const exported = readFileSync((await download.path())!);
  await page.getByRole('region', { name: 'Verify exports' }).locator('input[type=file]').setInputFiles({ name: download.suggestedFilename(), mimeType: 'application/x-ndjson', buffer: exported });
  await page.getByTestId('verify-result').waitFor();
  await blur();
  await page.screenshot({ path: `${outDir}/audit-${name}.png`, fullPage: true });
}

mkdirSync(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
});
try {
  for (const { name, viewport } of sizes) {
    const page = await browser.newPage({ viewport, colorScheme: 'light' });
    await page.goto(`${baseURL}/`);
    await page.getByRole('heading', { name: 'Connect a board' }).waitFor();
    await page.screenshot({ path: `${outDir}/connect-${name}.png` });
    await page.getByRole('radio', { name: 'Serial (WebSerial)' }).check();
    await page.screenshot({ path: `${outDir}/connect-serial-${name}.png` });
    await page.getByRole('radio', { name: 'Simulated board' }).check();
    await connectAndUse(page);
    await page.screenshot({ path: `${outDir}/device-${name}.png`, fullPage: true });
    await page.close();
    const identity = await browser.newPage({ viewport, colorScheme: 'light' });
    await identityPages(identity, name);
    await identity.close();
  }
  const dark = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
  await connectAndUse(dark);
  await dark.screenshot({ path: `${outDir}/device-1280-dark.png`, fullPage: true });
  await dark.close();
} finally {
  await browser.close();
}
console.log(`screenshots written to ${outDir}/`);
