// Playwright e2e config: Debian's system Chromium against the static build served by scripts/serve.js.
import { defineConfig } from '@playwright/test';

/** `npm test` picks a free port (E2E_PORT) so a second run on the same machine cannot collide. */
const PORT = Number(process.env.E2E_PORT) || 4173;
const baseURL = `http://localhost:${PORT}`;

export default defineConfig({
  testDir: 'tests/e2e',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['json', { outputFile: 'reports/e2e.json' }]],
  webServer: {
    command: 'node scripts/serve.js build',
    env: { PORT: String(PORT) },
    url: baseURL,
    reuseExistingServer: !process.env.CI,
    timeout: 30_000
  },
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
        '--enable-features=WebBluetooth',
        '--enable-experimental-web-platform-features'
      ]
    }
  },
  projects: [{ name: 'chromium', use: { browserName: 'chromium' } }]
});
