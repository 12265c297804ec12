/**
 * Audit appends per second in Chromium with real IndexedDB and `{ durability: 'strict' }` on every
 * write (issue 7 asks for the figure; a provisioning run writes about 10 records).
 *
 *   npm run bench -- audit-appends
 */
import { chromium } from '@playwright/test';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
/** Served by page.route, never by a server; localhost makes it a secure context (WebCrypto). */
const ORIGIN = 'http://localhost:9';

export interface AuditAppendsResult {
  scenario: string;
  records: number;
  seconds: number;
  appendsPerSecond: number;
  recordsPerProvisioningRun: number;
  provisioningRunsPerSecond: number;
}

export async function measureAuditAppends(records = 2000): Promise<AuditAppendsResult> {
  const bundled = await build({ entryPoints: [fileURLToPath(new URL('./fixtures/audit-appends.ts', import.meta.url))], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
  const script = bundled.outputFiles[0]!.text;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.route(`${ORIGIN}/**`, (route) =>
      route.request().url().endsWith('.js')
        ? route.fulfill({ contentType: 'text/javascript', body: script })
        : route.fulfill({ contentType: 'text/html', body: '<!doctype html><script type="module" src="/bench.js"></script>' }),
    );
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'auditBench' in window);
    const result = await page.evaluate((count) => (window as unknown as { auditBench: (n: number) => Promise<{ records: number; seconds: number; appendsPerSecond: number }> }).auditBench(count), records);
    return {
      scenario: 'audit-appends',
      records: result.records,
      seconds: Math.round(result.seconds * 1000) / 1000,
      appendsPerSecond: Math.round(result.appendsPerSecond),
      recordsPerProvisioningRun: 10,
      provisioningRunsPerSecond: Math.round(result.appendsPerSecond / 10),
    };
  } finally {
    await browser.close();
  }
}
