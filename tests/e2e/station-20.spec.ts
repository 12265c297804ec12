// A shift of twenty boards on the Station page, all simulated in the page: the operator keeps a
// bench of four ports busy (a board is plugged — "Add simulated board" — whenever a port is free,
// so several run at once), and one board is made to fail through the Ports card's fault choice
// (its keys group refuses new keys). It ends 19 PASS, 1 FAIL with the reason, and the audit export
// (verified in Node with the shared code) holds one final run outcome per serial and 19
// certificates, the same ones the Registry page lists. Then the same shift with a page reload while
// boards are mid-run: the queue comes back, each interrupted run is reconciled through the audit
// log and provisioned again, and the shift ends the same — no serial lost, none provisioned twice.
import type { Page } from '@playwright/test';
import type { AuditRecord } from '../../src/lib/audit';
import { ACTIVE_STATES } from '../../src/lib/station/job';
import { card, createCa, nav } from './support/app';
import { exportAuditLog, openIntents, runOutcomes } from './support/audit-export';
import { expect, test } from './support/fixtures';
import { row, scan } from './support/station';

const SERIALS = Array.from({ length: 20 }, (_, index) => `SN-20-${String(index + 1).padStart(2, '0')}`);
const FAILING = 'SN-20-07';
const BENCH_PORTS = 4;

interface QueueRow {
  serial: string;
  state: string;
  /** Waiting with no board yet: "Add simulated board" is offered. */
  unplugged: boolean;
}

async function readQueue(page: Page): Promise<QueueRow[]> {
  return page.getByTestId('station-row').evaluateAll((rows) =>
    rows.map((element) => ({
      serial: element.getAttribute('data-serial')!,
      state: element.getAttribute('data-state')!,
      unplugged: [...element.querySelectorAll('button')].some((button) => button.textContent?.trim() === 'Add simulated board'),
    })),
  );
}

const active = (entry: QueueRow) => (ACTIVE_STATES as readonly string[]).includes(entry.state);
const finished = (entry: QueueRow) => entry.state === 'pass' || entry.state === 'fail';
/** Its board is on a port: running, or made and about to start. */
const plugged = (entry: QueueRow) => active(entry) || (entry.state === 'waiting' && !entry.unplugged);

/** Makes the simulated board for `serial`; the one meant to fail gets the fault, chosen for it alone. */
async function plug(page: Page, serial: string): Promise<void> {
  const fault = card(page, 'Ports').getByLabel('Simulated boards added from now on');
  if (serial === FAILING) await fault.selectOption('slots-full');
  await row(page, serial).getByRole('button', { name: 'Add simulated board' }).click();
  if (serial === FAILING) await fault.selectOption('none');
}

/**
 * The operator at a bench of `BENCH_PORTS` ports: whenever fewer boards are plugged in than there
 * are ports, the next waiting serials get their board. Returns the queue once `done` holds for it.
 */
async function tendBench(page: Page, done: (queue: QueueRow[]) => boolean): Promise<QueueRow[]> {
  for (;;) {
    const queue = await readQueue(page);
    if (done(queue)) return queue;
    const next = queue.filter((entry) => entry.state === 'waiting' && entry.unplugged).slice(0, Math.max(0, BENCH_PORTS - queue.filter(plugged).length));
    for (const entry of next) await plug(page, entry.serial);
    if (next.length === 0) await page.waitForTimeout(50);
  }
}

/** Records in the page the most queue rows that are ever running at the same time (until the page unloads). */
async function watchRunning(page: Page): Promise<() => Promise<number>> {
  await page.evaluate((states) => {
    const selector = states.map((state) => `[data-testid="station-row"][data-state="${state}"]`).join(', ');
    const tally = window as unknown as { __mostRunning: number };
    tally.__mostRunning = 0;
    const count = () => (tally.__mostRunning = Math.max(tally.__mostRunning, document.querySelectorAll(selector).length));
    new MutationObserver(count).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
  }, [...ACTIVE_STATES]);
  return () => page.evaluate(() => (window as unknown as { __mostRunning: number }).__mostRunning);
}

async function startShift(page: Page): Promise<() => Promise<number>> {
  await page.goto('/');
  await createCa(page, 'Line 20');
  await nav(page, 'Station').click();
  await expect(page.getByRole('heading', { name: 'Station', level: 1 })).toBeVisible();
  for (const serial of SERIALS) await scan(page, serial);
  await expect(page.getByTestId('station-row')).toHaveCount(SERIALS.length);
  return watchRunning(page);
}

const allFinished = (queue: QueueRow[]) => queue.length === SERIALS.length && queue.every(finished);

/** The end of the shift, on the page and in the audit export; returns the exported records. */
async function expectShiftEnd(page: Page): Promise<AuditRecord[]> {
  await expect(page.locator('[data-testid="station-row"][data-state="pass"]')).toHaveCount(SERIALS.length - 1);
  await expect(row(page, FAILING)).toHaveAttribute('data-state', 'fail');
  await expect(row(page, FAILING).locator('.reason')).toContainText('the board has no free key slot');
  await expect(page.getByTestId('summary-passed')).toHaveText('19');
  await expect(page.getByTestId('summary-failed')).toHaveText('1');
  await expect(card(page, 'Shift summary')).toContainText('key-create-failed');
  await expect(page.getByTestId('station-labels').getByTestId('station-label')).toHaveCount(19);

  const { problems, records } = await exportAuditLog(page, 'export-audit-jsonl');
  expect(problems).toEqual([]);
  expect(openIntents(records)).toEqual([]);
  // One outcome per serial from the run that finished it (reconciled outcomes close interrupted runs).
  const final = runOutcomes(records).filter((record) => record.details?.reconciled === undefined);
  expect(final.map((record) => record.boardSerial).sort()).toEqual(SERIALS);
  expect(final.filter((record) => record.result !== 'ok').map((record) => [record.boardSerial, record.result, record.errorCode])).toEqual([[FAILING, 'failed', 'key-create-failed']]);
  const certificates = final.filter((record) => record.result === 'ok').map((record) => record.certFingerprint);
  expect(new Set(certificates).size).toBe(19);
  const issued = new Set(records.filter((record) => record.action === 'ca.issue' && record.phase === 'outcome' && record.result === 'ok').map((record) => record.certFingerprint));
  for (const fingerprint of certificates) expect(issued.has(fingerprint)).toBe(true);

  // The Registry page: the same 19 certificates, one per PASS board.
  await nav(page, 'Registry').click();
  const listed = page.getByTestId('registry-table').locator('span.sub').filter({ hasText: /^cert / });
  await expect(listed).toHaveCount(19);
  expect((await listed.evaluateAll((spans) => spans.map((span) => span.getAttribute('title')))).sort()).toEqual([...certificates].sort());
  return records;
}

test.describe('station shift of 20 simulated boards', () => {
  test('several at once, one injected failure: 19 PASS, 1 FAIL with the reason, 20 outcomes, 19 certificates', async ({ page }) => {
    const started = Date.now();
    const mostRunning = await startShift(page);
    await tendBench(page, allFinished);
    const most = await mostRunning();
    expect(most).toBeGreaterThanOrEqual(2);
    const records = await expectShiftEnd(page);
    // Nothing was interrupted, so nothing was reconciled and each certificate was issued once.
    expect(records.filter((record) => record.action === 'ca.issue' && record.phase === 'outcome')).toHaveLength(19);
    expect(runOutcomes(records)).toHaveLength(20);
    test.info().annotations.push({ type: 'timing', description: `${most} boards running at most at once; ${((Date.now() - started) / 1000).toFixed(1)} s` });
  });

  test('the same shift with a page reload mid-run: the queue restored, interrupted runs reconciled, the same end', async ({ page }) => {
    const started = Date.now();
    const mostRunning = await startShift(page);
    // Reload with some boards done, several running and the rest still waiting.
    const before = await tendBench(page, (queue) => queue.filter(finished).length >= 6 && queue.filter(active).length >= 2);
    expect(await mostRunning()).toBeGreaterThanOrEqual(2);
    await page.reload();

    await expect(page.getByTestId('station-row')).toHaveCount(SERIALS.length);
    const restored = await readQueue(page);
    // Every board is still in the queue; none is running (its simulated board went with the page).
    expect(restored.map((entry) => entry.serial)).toEqual(SERIALS);
    expect(restored.filter(active)).toEqual([]);
    for (const entry of before.filter(finished)) expect(restored.find((other) => other.serial === entry.serial)!.state).toBe(entry.state);
    const interrupted = await page.locator('[data-testid="station-row"]').filter({ hasText: 'Interrupted while' }).evaluateAll((rows) => rows.map((element) => element.getAttribute('data-serial')!));
    expect(interrupted.length).toBeGreaterThanOrEqual(1);
    // Interrupted: boards that were running, or plugged in and starting, when the page went away.
    expect(before.filter(plugged).map((entry) => entry.serial)).toEqual(expect.arrayContaining(interrupted));

    await watchRunning(page);
    await tendBench(page, allFinished);
    for (const serial of interrupted) await expect(row(page, serial)).toContainText('try 2');
    const records = await expectShiftEnd(page);
    // Each interrupted board: its open intents reconciled, a resume recorded, then provisioned again.
    expect(records.filter((record) => record.action === 'station.resume' && record.phase === 'intent').map((record) => record.boardSerial).sort()).toEqual([...interrupted].sort());
    const okRuns = runOutcomes(records).filter((record) => record.result === 'ok' && record.details?.reconciled === undefined);
    expect(new Set(okRuns.map((record) => record.boardSerial)).size).toBe(okRuns.length); // no board provisioned twice
    test.info().annotations.push({ type: 'timing', description: `${interrupted.length} runs interrupted by the reload; ${((Date.now() - started) / 1000).toFixed(1)} s` });
  });
});
