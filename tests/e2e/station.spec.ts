// Station mode end to end: serials typed like a barcode scanner types them (characters, then
// Enter), three Node simulated boards on three stand-in serial ports provisioned at once, one made
// to fail (its keys group refuses new keys) showing FAIL with the reason while the others pass, a
// duplicate serial refused, labels with QR codes (and only the labels on paper), the shift summary;
// then a page reload in the middle of a board's run: the queue comes back, the interrupted run is
// reconciled through the audit log and the board passes, and the next board plugged in runs.
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../../src/lib/sim';
import { card, createCa, nav } from './support/app';
import { exportAuditLog, openIntents, runOutcomes } from './support/audit-export';
import { expect, test } from './support/fixtures';
import { installSerialBridge, type SerialBridge } from './support/serial-bridge';
import { chooseImage, panel, row, scan } from './support/station';

function board(serial: string): SimulatedDevice {
  return createSimulatedDevice({ serialNumber: serial, name: `line-${serial}` });
}

test.describe('station', () => {
  let bridge: SerialBridge;

  test.beforeEach(async ({ page }) => {
    bridge = await installSerialBridge(page);
  });

  test.afterEach(async () => {
    await bridge.dispose();
  });

  test('three boards on three ports at once: PASS, FAIL with the reason, PASS; a duplicate refused; labels', async ({ page }) => {
    await page.goto('/');
    await createCa(page, 'Line 4');
    await nav(page, 'Station').click();
    await expect(page.getByRole('heading', { name: 'Station', level: 1 })).toBeVisible();
    await chooseImage(page, 8 * 1024);

    const serials = ['SN-L4-0001', 'SN-L4-0002', 'SN-L4-0003'];
    for (const serial of serials) await scan(page, serial);
    for (const serial of serials) await expect(row(page, serial)).toHaveAttribute('data-state', 'waiting');

    // Three USB serial adapters with a board each; the second board's keys group refuses new keys.
    const boards = serials.map(board);
    boards[1]!.keys.inject({ slotsFull: true });
    for (const device of boards) bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }));
    // One grant covers every adapter with the same USB ids; the runs start by themselves.
    await card(page, 'Ports').getByRole('button', { name: 'Allow a serial port…' }).click();
    await expect(page.locator('[data-testid="station-panel"][data-state="uploading"]')).toHaveCount(3); // in parallel

    await expect(panel(page, serials[0]!)).toHaveAttribute('data-state', 'pass', { timeout: 20_000 });
    await expect(panel(page, serials[2]!)).toHaveAttribute('data-state', 'pass', { timeout: 20_000 });
    await expect(panel(page, serials[1]!)).toHaveAttribute('data-state', 'fail');
    await expect(panel(page, serials[0]!)).toContainText('PASS');
    await expect(panel(page, serials[1]!)).toContainText('FAIL');
    await expect(panel(page, serials[1]!).getByTestId('station-fail-reason')).toContainText(/slot/i);
    await expect(panel(page, serials[1]!)).toContainText('key-create-failed');
    expect(boards[0]!.keys.store.used).toBe(3);
    expect(boards[1]!.keys.store.used).toBe(0);
    expect(bridge.ports.map((port) => port.openedWith?.baudRate)).toEqual([115200, 115200, 115200]);

    // A serial already provisioned is refused, and the queue is unchanged.
    await scan(page, 'sn-l4-0001');
    await expect(page.getByTestId('station-refusal')).toContainText('Already provisioned: SN-L4-0001');
    await expect(page.getByTestId('station-refusal').getByRole('button', { name: 'Re-provision sn-l4-0001' })).toBeVisible();
    await expect(page.getByTestId('station-row')).toHaveCount(3);

    await expect(page.getByTestId('summary-passed')).toHaveText('2');
    await expect(page.getByTestId('summary-failed')).toHaveText('1');
    await expect(card(page, 'Shift summary')).toContainText('key-create-failed');

    // Labels: one per PASS board, each a QR code drawn as SVG.
    const labels = page.getByTestId('station-labels').getByTestId('station-label');
    await expect(labels).toHaveCount(2);
    for (const label of await labels.all()) {
      await expect(label.locator('svg[role="img"] path')).toHaveAttribute('d', /^M\d+ \d+h\d+v1h-\d+z/);
    }
    await expect(labels.first()).toContainText(serials[0]!);
    // On paper: only the labels.
    await page.emulateMedia({ media: 'print' });
    await expect(page.getByTestId('label-sheet')).toBeVisible();
    await expect(page.getByTestId('label-sheet').getByTestId('station-label')).toHaveCount(2);
    await expect(page.getByTestId('station-queue')).toBeHidden();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeHidden();
    // The PDF the print dialog would make: one 62 × 29 mm page per label.
    const pdf = (await page.pdf({ preferCSSPageSize: true })).toString('latin1');
    const boxes = [...pdf.matchAll(/\/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]/g)].map((box) => [Math.round((Number(box[1]) / 72) * 25.4), Math.round((Number(box[2]) / 72) * 25.4)]);
    expect(boxes).toEqual([
      [62, 29],
      [62, 29],
    ]);
    await page.emulateMedia({ media: 'screen' });
    await expect(page.getByTestId('label-sheet')).toBeHidden();
    // Another page prints as before: the label sheet's rules stay with it.
    await nav(page, 'Audit').click();
    await page.emulateMedia({ media: 'print' });
    await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
    await page.emulateMedia({ media: 'screen' });
  });

  test('simulated boards made in the page for queued serials, the focus staying on the serial field', async ({ page }) => {
    await page.goto('/');
    await createCa(page, 'Line 4');
    await nav(page, 'Station').click();
    const serials = ['SIM-0001', 'SIM-0002', 'SIM-0003'];
    for (const serial of serials) await scan(page, serial);
    for (const serial of serials) {
      await row(page, serial).getByRole('button', { name: 'Add simulated board' }).click();
      await expect(page.getByTestId('station-serial')).toBeFocused(); // the next scan goes where it belongs
    }
    for (const serial of serials) await expect(panel(page, serial)).toHaveAttribute('data-state', 'pass', { timeout: 15_000 });
    await expect(page.getByTestId('station-labels').getByTestId('station-label')).toHaveCount(3);
    await expect(page.getByTestId('summary-passed')).toHaveText('3');
  });

  test('a reload in the middle of a run restores the queue, reconciles the run and finishes it', async ({ page }) => {
    await page.goto('/');
    await createCa(page, 'Line 4');
    await nav(page, 'Station').click();
    await chooseImage(page, 24 * 1024);
    await scan(page, 'SN-R-0001');
    await scan(page, 'SN-R-0002');

    const first = board('SN-R-0001');
    bridge.attach(connectSimulatedBoard(first.board, { baudRate: 115200 }));
    await card(page, 'Ports').getByRole('button', { name: 'Allow a serial port…' }).click();
    await expect(row(page, 'SN-R-0001')).toHaveAttribute('data-state', 'uploading');
    await expect(row(page, 'SN-R-0001')).toContainText(/[1-9]\d* of 24 KiB/);

    await page.reload();
    await expect(page.getByTestId('station-row')).toHaveCount(2);
    await expect(row(page, 'SN-R-0002')).toHaveAttribute('data-state', 'waiting');
    // The interrupted board is found again on its port, its open audit records reconciled, and it passes.
    await expect(row(page, 'SN-R-0001')).toHaveAttribute('data-state', 'pass', { timeout: 20_000 });
    await expect(row(page, 'SN-R-0001')).toContainText('try 2');
    expect(first.keys.store.used).toBe(3);

    // The next board plugged in (the adapter is already allowed) starts by itself.
    const second = board('SN-R-0002');
    bridge.attach(connectSimulatedBoard(second.board, { baudRate: 115200 }));
    await expect(row(page, 'SN-R-0002')).toHaveAttribute('data-state', 'pass', { timeout: 20_000 });
    await expect(page.getByTestId('open-intents-banner')).toBeHidden();

    // The audit export tells the story and verifies: the resume, the reconciled intents, three runs.
    const { problems, records } = await exportAuditLog(page, 'export-audit-jsonl');
    expect(problems).toEqual([]);
    expect(openIntents(records)).toEqual([]);
    expect(records.filter((record) => record.action === 'station.resume' && record.phase === 'intent').map((record) => record.boardSerial)).toEqual(['SN-R-0001']);
    expect(runOutcomes(records).map((record) => [record.boardSerial, record.result])).toEqual([
      ['SN-R-0001', 'ok'],
      ['SN-R-0002', 'ok'],
    ]);
    expect(records.some((record) => record.action === 'image.upload' && record.phase === 'outcome' && record.result === 'unknown' && record.details?.reconciled === 'board-read')).toBe(true);
  });
});
