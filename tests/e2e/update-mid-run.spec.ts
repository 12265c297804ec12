// A new version of the app arriving while a board is being provisioned never reloads a page under
// its run. The test builds the app a second time as version `+e2e-next` and puts it behind the
// same origin while a station run goes on; the service worker finds it, installs it and keeps it
// waiting. The board (a simulated board in Node on a stand-in serial port) answers slowly until
// the test has seen the held state, then fast, so "mid-run" lasts as long as the checks need.
// A marker set on `window` before the update shows whether the page was reloaded.
//   - one tab: the banner says a new version is ready and waits for the run; after the run the
//     update is offered, and only the operator's click reloads onto the new build (header);
//   - a second, idle tab cannot switch while the first tab's run goes on (a shared Web Lock);
//   - a tab switched from elsewhere without asking (what an older app version would do) reloads
//     only once its run has ended.
import { rmSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../../src/lib/sim';
import { card, createCa, nav } from './support/app';
import { expect, test } from './support/fixtures';
import { buildAppVersion, openUnderServiceWorker, startOwnServer, type OwnServer } from './support/own-server';
import { installSerialBridge, type SerialBridge } from './support/serial-bridge';
import { row, scan } from './support/station';

const NEXT = 'e2e-next';
const NEXT_VERSION = new RegExp(`\\+${NEXT}$`);
const SERIAL = 'SN-UPD-0001';
const HELD = 'It will be offered again when provisioning at the station finishes; nothing is interrupted.';

let nextBuild: string;
let server: OwnServer;
let bridge: SerialBridge;

test.beforeAll(() => {
  nextBuild = buildAppVersion(NEXT);
});

test.afterAll(() => {
  rmSync(nextBuild, { recursive: true, force: true });
});

test.beforeEach(async ({ page }) => {
  server = await startOwnServer();
  bridge = await installSerialBridge(page);
});

test.afterEach(async () => {
  await bridge.dispose();
  server.stop();
});

/** Opens the app under its service worker and marks the page: only a reload takes the marker away. */
async function openMarked(page: Page): Promise<string> {
  await openUnderServiceWorker(page, server.url);
  await page.evaluate(() => ((window as unknown as { __beforeUpdate: string }).__beforeUpdate = 'this page, not reloaded'));
  const current = (await page.getByTitle('Imprint version').textContent())!;
  expect(current).not.toMatch(NEXT_VERSION);
  return current;
}

const marker = (page: Page) => page.evaluate(() => (window as unknown as { __beforeUpdate?: string }).__beforeUpdate ?? null);

/** Starts a board at the station that answers every request 400 ms late until the test lets it go. */
async function startSlowRun(page: Page): Promise<SimulatedDevice> {
  const device = createSimulatedDevice({ serialNumber: SERIAL, name: 'line-update' });
  device.board.faults.inject({ delayMs: 400 });
  bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }));
  await createCa(page, 'Update Line');
  await nav(page, 'Station').click();
  await scan(page, SERIAL);
  await card(page, 'Ports').getByRole('button', { name: 'Allow a serial port…' }).click();
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'provisioning');
  return device;
}

/** Publishes the new version and has the page's service worker look for it now (the browser does so by itself from time to time). */
async function publishNextVersion(page: Page): Promise<void> {
  server.switchTo(nextBuild);
  await page.evaluate(async () => {
    await (await navigator.serviceWorker.getRegistration())!.update();
  });
}

/** Whether the service worker holds a newer version waiting to take over. */
function updateWaiting(page: Page): Promise<boolean> {
  return page.evaluate(async () => !!(await navigator.serviceWorker.getRegistration())?.waiting);
}

test.describe.configure({ timeout: 60_000 });

test('an update arriving mid-run waits for the run to end and for the operator: no reload before', async ({ page }) => {
  let loads = 0;
  page.on('load', () => loads++);
  const current = await openMarked(page);
  const loadsBefore = loads;
  const device = await startSlowRun(page);

  await publishNextVersion(page);
  const banner = page.getByTestId('update-banner');
  await expect(banner).toContainText('A new version of Imprint is ready.');
  await expect(banner).toContainText(HELD);
  await expect(banner.getByRole('button', { name: 'Update now' })).toBeDisabled();
  expect(await updateWaiting(page)).toBe(true);
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'provisioning'); // all of that while the board runs

  device.board.faults.clear();
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'pass', { timeout: 20_000 });
  // The run ended: the update is offered, not applied.
  await expect(banner).toContainText('Updating reloads the page; the audit log and settings stay.');
  await expect(banner.getByRole('button', { name: 'Update now' })).toBeEnabled();
  await page.waitForTimeout(500);
  expect(await marker(page)).toBe('this page, not reloaded');
  await expect(page.getByTitle('Imprint version')).toHaveText(current);
  expect(await updateWaiting(page)).toBe(true);
  expect(loads).toBe(loadsBefore);

  // The operator accepts: the page reloads onto the new version, the station's queue still there.
  await banner.getByRole('button', { name: 'Update now' }).click();
  await expect(page.getByTitle('Imprint version')).toHaveText(NEXT_VERSION);
  expect(await marker(page)).toBeNull();
  expect(loads).toBe(loadsBefore + 1);
  await expect(page.getByTestId('update-banner')).toBeHidden();
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'pass');
  expect(device.keys.store.used).toBe(3);
});

test('another tab cannot switch versions while this tab runs a board; once the run ends it can, and both reload', async ({ page, context }) => {
  await openMarked(page);
  const device = await startSlowRun(page);
  await publishNextVersion(page);
  await expect(page.getByTestId('update-banner')).toContainText(HELD);

  // A second tab of the app, idle (the Audit page): it sees the update, held by the first tab's run.
  const other = await context.newPage();
  await other.goto(`${server.url}/audit`);
  const otherBanner = other.getByTestId('update-banner');
  await expect(otherBanner).toContainText('It will be offered again when work in another Imprint tab finishes; nothing is interrupted.');
  await expect(otherBanner.getByRole('button', { name: 'Update now' })).toBeDisabled();
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'provisioning');

  device.board.faults.clear();
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'pass', { timeout: 20_000 });
  expect(await marker(page)).toBe('this page, not reloaded');
  // The run is over: the other tab may switch, and every tab reloads onto the new version.
  await otherBanner.getByRole('button', { name: 'Update now' }).click();
  await expect(other.getByTitle('Imprint version')).toHaveText(NEXT_VERSION);
  await expect(page.getByTitle('Imprint version')).toHaveText(NEXT_VERSION);
  expect(await marker(page)).toBeNull();
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'pass');
});

test('a tab the new version takes over mid-run (switched from elsewhere) reloads only when its run ends', async ({ page }) => {
  await openMarked(page);
  const device = await startSlowRun(page);
  await publishNextVersion(page);
  const banner = page.getByTestId('update-banner');
  await expect(banner).toContainText(HELD);
  // What an older version of the app in another tab would do: activate the waiting worker without asking.
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.waiting!.postMessage({ type: 'SKIP_WAITING' }));
  await expect(banner).toContainText('Imprint was updated in another tab. This page reloads onto the new version when provisioning at the station finishes; nothing is interrupted.');
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'provisioning');
  expect(await marker(page)).toBe('this page, not reloaded');

  // The board finishes on the old page, then the page reloads by itself onto the new version.
  device.board.faults.clear();
  await expect(page.getByTitle('Imprint version')).toHaveText(NEXT_VERSION, { timeout: 20_000 });
  expect(await marker(page)).toBeNull();
  await expect(row(page, SERIAL)).toHaveAttribute('data-state', 'pass');
  await expect(row(page, SERIAL)).not.toContainText('try 2'); // it passed before the reload, not resumed after it
});
