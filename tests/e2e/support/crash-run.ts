/**
 * A provisioning run that can be cut at any step boundary, and the check of the audit log after
 * the cut; shared by the closed-tab and the killed-browser crash tests.
 *
 * The stand-in serial port holds each SMP request until the test lets it through, so the test
 * knows which step is running (from the Provision page's steps list) when a request is waiting.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { p256 } from '@noble/curves/nist.js';
import { connectSimulatedBoard, createSimulatedDevice } from '../../../src/lib/sim';
import { SerialFrameDecoder } from '../../../src/lib/smp/framing/serial';
import type { Transport } from '../../../src/lib/transport/types';
import type { StoredRecord } from '../../../src/lib/audit';
import { bytesToHex } from '../../../src/lib/util/bytes';
import { connectFromConnectPage } from './app';
import { expect } from './fixtures';
import { interceptSend } from './intercept-send';
import { installSerialBridge } from './serial-bridge';

/** A transport that forwards each complete SMP request only when the test says so. */
function stepper(inner: Transport) {
  const decoder = new SerialFrameDecoder();
  let buffered: Uint8Array[] = [];
  const ready: Uint8Array[][] = [];
  let wake: (() => void) | null = null;
  const transport = interceptSend(inner, async (bytes) => {
    buffered.push(bytes);
    for (const _ of decoder.push(bytes)) {
      ready.push(buffered);
      buffered = [];
    }
    if (ready.length) wake?.();
  });
  return {
    transport,
    /** Resolves when a request waits, or with false after `ms` without one (the run is over). */
    async waiting(ms: number): Promise<boolean> {
      if (ready.length) return true;
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => ((wake = null), resolve(false)), ms);
        wake = () => ((wake = null), clearTimeout(timer), resolve(true));
      });
    },
    async release(): Promise<void> {
      for (const chunk of ready.shift() ?? []) await inner.send(chunk);
    },
  };
}

/** Index and label of the running step in the steps list, or null. */
async function runningStep(page: Page): Promise<{ index: number; label: string } | null> {
  return page.getByTestId('provision-steps').evaluate((list) => {
    const items = [...list.querySelectorAll('li[data-status]')];
    const index = items.findIndex((item) => item.getAttribute('data-status') === 'running');
    return index < 0 ? null : { index, label: (items[index]!.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 60) };
  });
}

export async function readLog(page: Page): Promise<StoredRecord[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('imprint-audit');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const all = await new Promise<StoredRecord[]>((resolve) => {
      const request = db.transaction('records').objectStore('records').getAll();
      request.onsuccess = () => resolve(request.result as StoredRecord[]);
    });
    db.close();
    return all;
  });
}

export interface CrashProfile {
  name: string;
  radio: RegExp;
  /** Made once per browser profile before the run (a CA for profiles that certify keys). */
  needsCa: boolean;
}

export const CRASH_PROFILES: CrashProfile[] = [
  { name: 'Supervisor (keys, counter)', radio: /Supervisor/, needsCa: false },
  { name: 'TF-M sample (generated, imported and certified keys)', radio: /TF-M provisioning sample/, needsCa: true },
];

export interface StepBoundary {
  index: number;
  label: string;
}

/** Creates a CA in a tab of its own, closed afterwards. */
export async function createCa(context: BrowserContext): Promise<void> {
  const page = await context.newPage();
  await page.goto('/ca');
  await page.getByLabel('Organization').fill('Crash Line');
  await page.getByRole('button', { name: 'Create CA without backup' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Created “Crash Line”' })).toBeVisible();
  await page.close();
}

/**
 * Runs `profile` on board `serial` and calls `cut` at the first request of step `target` (or
 * after the run when it has fewer steps); returns that step, or null when the run finished first.
 */
export async function runAndCut(context: BrowserContext, profile: CrashProfile, target: number, serial: string, cut: (page: Page) => Promise<void>): Promise<StepBoundary | null> {
  const page = await context.newPage();
  const bridge = await installSerialBridge(page);
  const gate = stepper(connectSimulatedBoard(createSimulatedDevice().board, { baudRate: 115200 }));
  bridge.attach(gate.transport);
  await page.goto('/');
  // Connecting talks to the board too: let it through.
  const connecting = connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');
  let connected = false;
  void connecting.then(() => (connected = true));
  while (!connected) if (await gate.waiting(100)) await gate.release();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Provision', exact: true }).click();
  await page.getByRole('radio', { name: profile.radio }).check();
  await page.getByLabel('Board serial').fill(serial);
  for (const label of ['known', 'certified']) {
    const field = page.getByLabel(`Key “${label}”`);
    if (await field.count()) await field.fill(bytesToHex(p256.utils.randomSecretKey()));
  }
  await page.getByRole('button', { name: 'Provision', exact: true }).click();
  let cutAt: StepBoundary | null = null;
  while (await gate.waiting(3000)) {
    // Steps that do not talk to the board (signing in the browser) have no request: the first
    // request at or after step `target` is the boundary.
    const running = await runningStep(page);
    if (running && running.index >= target) {
      cutAt = running;
      break;
    }
    await gate.release();
  }
  await cut(page);
  await bridge.dispose().catch(() => {});
  return cutAt;
}

/**
 * Opens the Audit page in `context` and checks the log after a cut: seq 1..n with no gap and the
 * chain badge green (no record lost), every intent either matched by its outcome or offered for
 * reconciliation (listed under "Interrupted runs" and counted by the banner), no outcome twice
 * for one intent, no certificate serial and no board serial provisioned twice.
 */
export async function expectLogIntact(context: BrowserContext): Promise<{ records: number; openIntents: number }> {
  const page = await context.newPage();
  await page.goto('/audit');
  const records = (await readLog(page)).sort((a, b) => a.seq - b.seq);
  expect(records.map((record) => record.seq)).toEqual(records.map((_, i) => i + 1));
  await expect(page.getByTestId('chain-status')).toHaveAttribute('data-state', 'ok', { timeout: 20_000 });
  const closed = new Set(records.filter((record) => record.phase === 'outcome').map((record) => record.intentSeq));
  const open = records.filter((record) => record.phase === 'intent' && !closed.has(record.seq));
  if (open.length > 0) {
    const listed = page.getByTestId('open-intents').locator('tbody tr');
    await expect(listed).toHaveCount(open.length);
    const listedSeqs = await listed.evaluateAll((rows) => rows.map((row) => Number(row.querySelector('td')!.textContent)));
    expect(listedSeqs.sort((a, b) => a - b)).toEqual(open.map((intent) => intent.seq));
    await expect(page.getByTestId('open-intents-banner')).toContainText(open.length === 1 ? 'One provisioning step was interrupted' : `${open.length} provisioning steps were interrupted`);
  } else {
    await expect(page.getByTestId('open-intents-banner')).toHaveCount(0);
  }
  const outcomes = records.filter((record) => record.phase === 'outcome');
  expect(new Set(outcomes.map((record) => record.intentSeq)).size).toBe(outcomes.length);
  const certs = outcomes.filter((record) => record.result === 'ok' && record.certSerial && record.action === 'keys.cert-store').map((record) => record.certSerial);
  expect(new Set(certs).size).toBe(certs.length);
  const runs = outcomes.filter((record) => record.action === 'provision.run' && record.result === 'ok').map((record) => record.boardSerial);
  expect(new Set(runs).size).toBe(runs.length);
  await page.close();
  return { records: records.length, openIntents: open.length };
}
