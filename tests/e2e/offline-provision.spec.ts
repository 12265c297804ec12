// The first shift on a bench with no network: the app is loaded once (the service worker
// precaches it), the network goes away, and everything a first-time operator does works from the
// cache alone — reload, create the CA, provision the simulated board with a certificate, export
// the audit log. The export is checked in Node with the shared verify code and holds the run.
import { connectFromConnectPage, createCa, nav, prepareRun } from './support/app';
import { exportAuditLog, openIntents, runOutcomes } from './support/audit-export';
import { expect, test } from './support/fixtures';
import { startOwnServer } from './support/own-server';

test('loaded once, then offline: reload, create a CA, provision the simulated board, export a log that verifies', async ({ page, context }) => {
  const server = await startOwnServer();
  try {
    await page.goto(server.url);
    // The one visit: the service worker installs, precaching the whole app, and becomes active.
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    const requestsOffline: string[] = [];
    await context.setOffline(true);
    page.on('requestfailed', (request) => requestsOffline.push(`${request.url()}: ${request.failure()?.errorText}`));

    await page.reload();
    expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await expect(page.getByRole('heading', { level: 1, name: 'Connect a board' })).toBeVisible();

    await createCa(page, 'Offline Line');
    await expect(page.getByTestId('ca-row')).toContainText('Active');

    await nav(page, 'Connect').click();
    await connectFromConnectPage(page, 'Simulated board', 'Connect');
    await prepareRun(page, /TF-M provisioning sample/, 'SN-OFF-0001');
    await expect(page.getByTestId('provision-ca')).toContainText('Offline Line');
    await page.getByRole('button', { name: 'Provision', exact: true }).click();
    await expect(page.getByTestId('provision-done')).toContainText('Done in', { timeout: 20_000 });
    const fingerprint = (await page.getByTestId('provision-certificate').getByTestId('fingerprint').first().textContent())!;
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);

    await nav(page, 'Audit').click();
    await expect(page.getByRole('heading', { name: 'Audit log', level: 1 })).toBeVisible();
    const exported = await exportAuditLog(page, 'export-jsonl');
    expect(exported.fileName).toMatch(/^imprint-audit-[0-9a-f]{16}-\d{8}T\d{6}Z\.jsonl$/);
    expect(exported.problems).toEqual([]);
    expect(openIntents(exported.records)).toEqual([]);
    expect(runOutcomes(exported.records).map((record) => [record.boardSerial, record.result, record.certFingerprint])).toEqual([['SN-OFF-0001', 'ok', fingerprint]]);
    expect(exported.records.filter((record) => record.action === 'ca.issue' && record.phase === 'outcome').map((record) => record.certFingerprint)).toEqual([fingerprint]);

    // Nothing tried the network and failed: every request was answered from the cache.
    expect(requestsOffline).toEqual([]);
  } finally {
    await context.setOffline(false);
    server.stop();
  }
});
