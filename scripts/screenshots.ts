#!/usr/bin/env -S npx tsx
/**
 * Screenshots of the Connect page and the Device page (connected to the in-page simulated board)
 * for docs/ui.md, at desktop (1280×800) and tablet (768×1024) sizes, light and one dark.
 * Serve the build first: `npx vite build && node scripts/serve.js build`, then
 * `npx tsx scripts/screenshots.ts [http://localhost:5173]`. Writes docs/screenshots/*.png.
 */
import { chromium, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';

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
  }
  const dark = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'dark' });
  await connectAndUse(dark);
  await dark.screenshot({ path: `${outDir}/device-1280-dark.png`, fullPage: true });
  await dark.close();
} finally {
  await browser.close();
}
console.log(`screenshots written to ${outDir}/`);
