// Crash safety of the audit log in Chromium, at every step boundary of a provisioning run: the
// stand-in serial port holds each SMP request until the test lets it through, so the test knows
// which step is running (from the Provision page's steps list) when a request is waiting. At the
// first request of step k the tab is closed (page.close(), as a closed tab or a crash would), a
// new tab of the same profile opens the Audit page, and the log is checked: seq 1..n with no gap
// and the chain badge green (no record lost), every intent either matched by its outcome or
// offered for reconciliation (listed under "Interrupted runs" and counted by the banner), no
// certificate serial and no board serial provisioned twice.
import type { BrowserContext, Page } from '@playwright/test';
import { connectSimulatedBoard, createSimulatedDevice } from '../../src/lib/sim';
import { SerialFrameDecoder } from '../../src/lib/smp/framing/serial';
import type { Transport } from '../../src/lib/transport/types';
import type { StoredRecord } from '../../src/lib/audit';
import { p256 } from '@noble/curves/nist.js';
import { bytesToHex } from '../../src/lib/util/bytes';
import { connectFromConnectPage } from './support/app';
import { expect, test } from './support/fixtures';
import { interceptSend } from './support/intercept-send';
import { installSerialBridge } from './support/serial-bridge';

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

async function readLog(page: Page): Promise<StoredRecord[]> {
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

interface Profile {
  name: string;
  radio: RegExp;
  /** Made once per browser profile before the run (a CA for profiles that certify keys). */
  needsCa: boolean;
}

const PROFILES: Profile[] = [
  { name: 'Supervisor (keys, counter)', radio: /Supervisor/, needsCa: false },
  { name: 'TF-M sample (generated, imported and certified keys)', radio: /TF-M provisioning sample/, needsCa: true },
];

async function createCa(page: Page): Promise<void> {
  await page.goto('/ca');
  await page.getByLabel('Organization').fill('Crash Line');
  await page.getByRole('button', { name: 'Create CA without backup' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Created “Crash Line”' })).toBeVisible();
}

/** Runs `profile`, closing the tab at the first request of step `target`; returns that step's label. */
async function runAndClose(context: BrowserContext, profile: Profile, target: number): Promise<{ index: number; label: string } | null> {
  const page = await context.newPage();
  if (profile.needsCa) await createCa(page);
  const bridge = await installSerialBridge(page);
  const device = createSimulatedDevice();
  const gate = stepper(connectSimulatedBoard(device.board, { baudRate: 115200 }));
  bridge.attach(gate.transport);
  await page.goto('/');
  // Connecting talks to the board too: let it through.
  const connecting = connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');
  let connected = false;
  void connecting.then(() => (connected = true));
  while (!connected) if (await gate.waiting(100)) await gate.release();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Provision', exact: true }).click();
  await page.getByRole('radio', { name: profile.radio }).check();
  await page.getByLabel('Board serial').fill(`SN-CRASH-${target}`);
  for (const label of ['known', 'certified']) {
    const field = page.getByLabel(`Key “${label}”`);
    if (await field.count()) await field.fill(bytesToHex(p256.utils.randomSecretKey()));
  }
  await page.getByRole('button', { name: 'Provision', exact: true }).click();
  let closedAt: { index: number; label: string } | null = null;
  while (await gate.waiting(3000)) {
    // Steps that do not talk to the board (signing in the browser) have no request: the first
    // request at or after step `target` is the boundary.
    const running = await runningStep(page);
    if (running && running.index >= target) {
      closedAt = running;
      break;
    }
    await gate.release();
  }
  await page.close({ runBeforeUnload: false });
  await bridge.dispose().catch(() => {});
  return closedAt;
}

test.describe.configure({ timeout: 240_000 });

for (const profile of PROFILES) test(`${profile.name}: a tab closed at every step boundary — no record lost, every intent matched or offered for reconciliation, no duplicate serial`, async ({ browser }) => {
  const summary: Array<Record<string, unknown>> = [];
  for (let target = 0; target < 30; ) {
    const context = await browser.newContext();
    const closedAt = await runAndClose(context, profile, target);
    target = (closedAt?.index ?? target) + 1;
    const page = await context.newPage();
    await page.goto('/audit');
    const records = (await readLog(page)).sort((a, b) => a.seq - b.seq);
    // No record lost: seq 1..n, and the chain (with its signed checkpoints) checks out.
    expect(records.map((record) => record.seq)).toEqual(records.map((_, i) => i + 1));
    await expect(page.getByTestId('chain-status')).toHaveAttribute('data-state', 'ok', { timeout: 20_000 });
    // Every intent matched by an outcome, or offered for reconciliation.
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
    // No outcome twice for one intent; no certificate or board provisioned twice.
    const outcomes = records.filter((record) => record.phase === 'outcome');
    expect(new Set(outcomes.map((record) => record.intentSeq)).size).toBe(outcomes.length);
    const certs = outcomes.filter((record) => record.result === 'ok' && record.certSerial && record.action === 'keys.cert-store').map((record) => record.certSerial);
    expect(new Set(certs).size).toBe(certs.length);
    const runs = outcomes.filter((record) => record.action === 'provision.run' && record.result === 'ok').map((record) => record.boardSerial);
    expect(new Set(runs).size).toBe(runs.length);
    summary.push({ step: closedAt ? closedAt.index : 'after the run', closedAt: closedAt?.label.replace(/ running.*$/, '') ?? 'after the run', records: records.length, openIntents: open.length });
    await context.close();
    if (closedAt === null) break; // the run finished before step `target`: every boundary is covered
  }
  console.log(JSON.stringify(summary));
  expect(summary.at(-1)!.closedAt).toBe('after the run');
});
