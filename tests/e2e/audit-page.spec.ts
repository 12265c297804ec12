// The Audit page at scale and under bad input, in Chromium with real IndexedDB: 100,000 records
// (written straight into the station's database, chained and with signed checkpoints, as the log
// would have written them) render in a virtual-scrolled table, filter and scroll fast; the chain
// badge is green, then red pointing at an edited record; imported files — truncated, not an
// export, 50 MB — get a clear verdict or a progress bar while the page keeps answering.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { canonicalRecordBytes, chainHash, checkpointBytes, GENESIS_PREV_HASH, leafHash, type StoredRecord } from '../../src/lib/audit';
import { EMPTY_FRONTIER, frontierAppend, frontierRoot, type MerkleFrontier } from '../../src/lib/audit/merkle';
import { bytesToHex } from '../../src/lib/util/bytes';
import { card } from './support/app';
import { expect, test } from './support/fixtures';

const TOTAL = 100_000;
const CHECKPOINT_EVERY = 10_000;

interface Seed {
  records: StoredRecord[];
  head: { kind: 'head'; treeSize: number; entryHash: string; frontier: string[] };
  checkpoints: Array<{ stationId: string; treeSize: number; rootHash: string; time: string; bytes: number[] }>;
}

/** The log a station would have after `total` records (intent + outcome per board). */
function seed(stationId: string, total: number): Seed {
  const records: StoredRecord[] = [];
  const checkpoints: Seed['checkpoints'] = [];
  let prev = GENESIS_PREV_HASH;
  let frontier: MerkleFrontier = EMPTY_FRONTIER;
  const start = Date.UTC(2025, 5, 1);
  for (let seq = 1; seq <= total; seq++) {
    const board = Math.ceil(seq / 2);
    const time = new Date(start + seq * 60_000).toISOString();
    const common = { seq, time, stationId, appBuild: 'bench-build', operator: 'alice', boardSerial: `SN-${String(board).padStart(6, '0')}`, deviceId: `dev-${board}`, action: 'keys.generate', keyId: '0x00000001' };
    const record = seq % 2 === 1 ? { ...common, phase: 'intent' as const } : { ...common, phase: 'outcome' as const, intentSeq: seq - 1, result: board % 97 === 0 ? ('failed' as const) : ('ok' as const), counter: board };
    prev = chainHash(prev, canonicalRecordBytes(record));
    frontier = frontierAppend(frontier, leafHash(prev));
    records.push({ ...record, entryHash: bytesToHex(prev) });
    if (seq % CHECKPOINT_EVERY === 0) {
      const checkpoint = { stationId, treeSize: seq, rootHash: bytesToHex(frontierRoot(frontier)), time };
      checkpoints.push({ ...checkpoint, bytes: [...checkpointBytes(checkpoint)] });
    }
  }
  return { records, head: { kind: 'head', treeSize: total, entryHash: bytesToHex(prev), frontier: frontier.nodes.map(bytesToHex) }, checkpoints };
}

/** Writes the seed into the page's audit database, signing the checkpoints with the station's own key. */
async function plant(page: Page, data: Seed): Promise<void> {
  for (let from = 0; from < data.records.length; from += 20_000) {
    await page.evaluate(async (records) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('imprint-audit');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const tx = db.transaction('records', 'readwrite');
      for (const record of records) tx.objectStore('records').put(record);
      await new Promise((resolve, reject) => ((tx.oncomplete = resolve), (tx.onerror = reject)));
      db.close();
    }, data.records.slice(from, from + 20_000));
  }
  await page.evaluate(async ({ head, checkpoints }) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('imprint-audit');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const get = <T,>(key: string) => new Promise<T>((resolve) => {
      const request = db.transaction('meta').objectStore('meta').get(key);
      request.onsuccess = () => resolve(request.result as T);
    });
    const station = await get<{ keys: CryptoKeyPair }>('station');
    const signed = [];
    for (const { bytes, ...checkpoint } of checkpoints) {
      const signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, station.keys.privateKey, new Uint8Array(bytes)));
      signed.push({ ...checkpoint, signature: [...signature].map((b) => b.toString(16).padStart(2, '0')).join('') });
    }
    const tx = db.transaction(['meta', 'checkpoints'], 'readwrite');
    tx.objectStore('meta').put(head, 'head');
    for (const checkpoint of signed) tx.objectStore('checkpoints').put(checkpoint);
    await new Promise((resolve, reject) => ((tx.oncomplete = resolve), (tx.onerror = reject)));
    db.close();
  }, { head: data.head, checkpoints: data.checkpoints });
}

/** Edits one stored record in place (a curious hand with DevTools). */
async function tamper(page: Page, seq: number): Promise<void> {
  await page.evaluate(async (seq) => {
    const db = await new Promise<IDBDatabase>((resolve) => {
      const open = indexedDB.open('imprint-audit');
      open.onsuccess = () => resolve(open.result);
    });
    const tx = db.transaction('records', 'readwrite');
    const store = tx.objectStore('records');
    const request = store.get(seq);
    request.onsuccess = () => store.put({ ...request.result, boardSerial: 'SN-666666' });
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
  }, seq);
}

/** Watches the main thread: the longest task (ms) from the Long Tasks API, from now (or from the page's start with `fromStart`). */
async function watchLongTasks(page: Page, fromStart = false): Promise<() => Promise<number>> {
  const install = () => {
    const w = window as unknown as { __longest: number };
    w.__longest = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.__longest = Math.max(w.__longest, entry.duration);
    }).observe({ type: 'longtask', buffered: true });
  };
  if (fromStart) await page.addInitScript(install);
  else await page.evaluate(install);
  return () => page.evaluate(() => (window as unknown as { __longest: number }).__longest);
}

test.describe.configure({ timeout: 180_000 });

test('100,000 records: virtual-scrolled, filtered, chain checked in chunks; an edited record turns the badge red and is pointed at', async ({ page }) => {
  await page.goto('/audit');
  await expect(page.getByTestId('station-id')).toHaveText(/^[0-9a-f]{16}$/);
  const stationId = (await page.getByTestId('station-id').textContent())!.trim();
  expect(stationId).toMatch(/^[0-9a-f]{16}$/);
  const data = seed(stationId, TOTAL);
  await plant(page, data);

  // Fresh load of the page with 100,000 records.
  const longest = await watchLongTasks(page, true);
  const started = Date.now();
  await page.reload();
  const records = page.getByTestId('audit-records');
  await expect(records.locator('tbody tr').first()).toContainText(`${TOTAL}`, { timeout: 30_000 });
  const firstRows = Date.now() - started;
  await expect(page.getByTestId('chain-status')).toHaveAttribute('data-state', 'ok', { timeout: 60_000 });
  const chainDone = Date.now() - started;
  await expect(page.getByTestId('chain-status')).toContainText(`${TOTAL.toLocaleString('en-US')} records, 10 signed checkpoints`);
  const rowsInDom = await records.locator('tbody tr').count();
  expect(rowsInDom).toBeLessThan(60);
  const longTask = await longest();
  expect(longTask, 'the longest main-thread task while loading and checking 100,000 records').toBeLessThan(500);

  // Scroll to the very bottom (seq 1) and back: frames, not seconds.
  const viewport = page.getByRole('region', { name: 'Audit records, newest first' });
  const scrollMs = await viewport.evaluate(async (element) => {
    const t = performance.now();
    element.scrollTop = element.scrollHeight;
    await new Promise(requestAnimationFrame);
    await new Promise(requestAnimationFrame);
    return performance.now() - t;
  });
  await expect(records.locator('tbody tr').last()).toHaveAttribute('data-seq', '1');

  // Filters: a serial, a result, a date.
  const typed = Date.now();
  await page.getByTestId('filter-serial').fill('SN-004242');
  await expect(page.getByTestId('records-count')).toHaveText(`2 of ${TOTAL.toLocaleString('en-US')} records match`);
  const filterMs = Date.now() - typed;
  await expect(records.locator('tbody tr')).toHaveCount(2);
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByTestId('filter-result').selectOption('failed');
  await expect(page.getByTestId('records-count')).toContainText('515 of');
  await page.getByTestId('filter-result').selectOption('');
  await page.getByTestId('filter-from').fill('2025-06-10');
  await page.getByTestId('filter-to').fill('2025-06-10');
  await expect(page.getByTestId('records-count')).toHaveText(`1,440 of ${TOTAL.toLocaleString('en-US')} records match`);
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByTestId('filter-station').fill('0000000000000000');
  await expect(page.getByTestId('records-count')).toContainText(`0 of`);
  await page.getByRole('button', { name: 'Clear' }).click();

  // A curious hand edits record 73,456: red badge, pointing at it; a click shows the row.
  await tamper(page, 73_456);
  await page.reload();
  await expect(page.getByTestId('chain-broken')).toHaveText('Chain broken at seq 73456', { timeout: 60_000 });
  await expect(page.getByTestId('chain-status')).toContainText('its content does not match its entryHash');
  await page.getByTestId('filter-serial').fill('SN-000001');
  await page.getByTestId('chain-broken').click();
  await expect(page.getByTestId('records-count')).toHaveText(`${TOTAL.toLocaleString('en-US')} records`);
  const bad = records.locator('tr[data-seq="73456"]');
  // In view inside the table's scroller (the scroller itself may be below the page's fold).
  const inScroller = async () => bad.evaluate((row) => {
    const outer = row.closest('.viewport')!.getBoundingClientRect();
    const inner = row.getBoundingClientRect();
    return inner.top >= outer.top && inner.bottom <= outer.bottom;
  });
  await expect.poll(inScroller).toBe(true);
  await expect(bad).toContainText('SN-666666');
  await expect(bad).toHaveClass(/bad/);

  console.log(JSON.stringify({ records: TOTAL, firstRowsMs: firstRows, chainVerifiedMs: chainDone, rowsInDom, longestTaskMs: Math.round(longTask), scrollToEndMs: Math.round(scrollMs), filterSerialMs: filterMs }));
});

test('bad imports: a truncated export, a file that is not an export, and a 50 MB file — a clear verdict or a progress bar, never a frozen tab', async ({ page }) => {
  await page.goto('/audit');
  const verify = card(page, 'Verify exports');
  const picker = verify.locator('input[type=file]');
  const fixture = (await import('node:fs')).readFileSync('tests/fixtures/audit/export-1000.jsonl', 'utf8');

  await picker.setInputFiles({ name: 'cut.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(fixture.slice(0, 200_000)) });
  await expect(page.getByTestId('verify-result')).toContainText('problem');
  await expect(page.getByTestId('verify-problems')).toContainText('line is not valid JSON');
  await expect(page.getByTestId('verify-problems')).toContainText(/truncated/);

  await picker.setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array(5000).fill(7)]) });
  await expect(page.getByTestId('verify-problems')).toContainText('not an Imprint audit export');

  // 50 MB: the fixture's header and records, then its records again and again (renumbered).
  const [header, ...rest] = fixture.trimEnd().split('\n');
  const recordLines = rest.filter((line) => line.startsWith('{"type":"record"'));
  const lines = [header!, ...rest];
  let size = fixture.length;
  for (let seq = 1001; size < 50 * 2 ** 20; seq++) {
    const line = recordLines[seq % 1000]!.replace(/"seq":\d+/, `"seq":${seq}`);
    lines.push(line);
    size += line.length + 1;
  }
  const dir = await mkdtemp(join(tmpdir(), 'imprint-audit-'));
  const path = join(dir, 'huge.jsonl');
  await writeFile(path, lines.join('\n') + '\n');
  const longest = await watchLongTasks(page);
  const started = Date.now();
  await picker.setInputFiles(path);
  await expect(page.getByTestId('verify-progress')).toBeVisible();
  await expect(page.getByTestId('verify-progress')).toContainText(/50\.\d MB/);
  // The page answers while the worker works: a click on the records filter, a timer.
  const lag = await page.evaluate(() => new Promise<number>((resolve) => { const t = performance.now(); setTimeout(() => resolve(performance.now() - t), 0); }));
  await page.getByTestId('filter-serial').fill('typed while verifying');
  await expect(page.getByTestId('filter-serial')).toHaveValue('typed while verifying');
  await expect(page.getByTestId('verify-result')).toContainText('problem', { timeout: 90_000 });
  const verifyMs = Date.now() - started;
  await expect(page.getByTestId('verify-more')).toContainText('more');
  const longTask = await longest();
  console.log(JSON.stringify({ hugeFileMB: +(size / 2 ** 20).toFixed(1), verifyMs, timerLagMs: Math.round(lag), longestTaskMs: Math.round(longTask) }));
  expect(longTask).toBeLessThan(1000);

  // And a cancel stops the next one at once.
  await picker.setInputFiles(path);
  await expect(page.getByTestId('verify-progress')).toBeVisible();
  await verify.getByRole('button', { name: 'Cancel' }).click();
  await expect(verify.getByText('Verification cancelled.')).toBeVisible();
  await rm(dir, { recursive: true, force: true });
});

test('the Registry page lists one row per provisioned device from the log, searchable, reached from the nav', async ({ page }) => {
  await page.goto('/audit');
  await expect(page.getByTestId('station-id')).toHaveText(/^[0-9a-f]{16}$/);
  const stationId = (await page.getByTestId('station-id').textContent())!.trim();
  await plant(page, seed(stationId, 20));
  await page.reload();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Registry', exact: true }).click();
  await expect(page).toHaveURL(/\/registry$/);
  await expect(page.getByRole('heading', { name: 'Device registry' })).toBeVisible();
  const rows = page.getByTestId('registry-table').locator('tbody tr');
  await expect(rows).toHaveCount(10);
  await expect(rows.first()).toHaveAttribute('data-device', 'dev-10');
  await expect(rows.first()).toContainText('SN-000010');
  await expect(rows.first()).toContainText('0x00000001');
  await expect(rows.first()).toContainText(stationId);
  await page.getByTestId('registry-search').fill('sn-000003');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute('data-device', 'dev-3');
  await expect(rows.first()).toContainText('not registered');
});
