// Device identity in the app, end to end: a CA made on the CA page survives a reload; the
// simulated board is provisioned from the Provision page and its certificate shows there and on
// the Keys page; the Audit page lists the run, exports JSON Lines that verify in Node, and names
// the problem in a tampered copy. Over the stand-in serial port, a cable pulled mid-run fails the
// step with a clear message and Re-provision recovers; a tab closed mid-run leaves intents that
// the banner announces and the Audit page reconciles by re-reading the board.
import type { Page } from '@playwright/test';
import { verifyExports } from '../../src/lib/audit';
import { KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID } from '../../src/lib/device/keys-ids';
import { connectSimulatedBoard, createSimulatedDevice } from '../../src/lib/sim';
import { SerialFrameDecoder } from '../../src/lib/smp/framing/serial';
import { decodeHeader } from '../../src/lib/smp/header';
import type { Transport } from '../../src/lib/transport/types';
import { card, connectFromConnectPage, downloaded, nav, prepareRun } from './support/app';
import { expect, test } from './support/fixtures';
import { interceptSend } from './support/intercept-send';
import { installSerialBridge, type SerialBridge } from './support/serial-bridge';

const PASSPHRASE = 'correct horse battery staple';

async function createCa(page: Page, organization: string, passphrase = ''): Promise<void> {
  await nav(page, 'CA').click();
  await page.getByLabel('Organization').fill(organization);
  if (passphrase) {
    await page.getByLabel('Backup passphrase').fill(passphrase);
    await page.getByLabel('Passphrase again').fill(passphrase);
  }
  await page.getByRole('button', { name: passphrase ? 'Create CA with backup' : 'Create CA without backup' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Created “${organization}”` })).toBeVisible();
}

test('create a CA, reload, provision the simulated board, see the certificate on Provision and Keys, audit it', async ({ page }) => {
  await page.goto('/ca');
  await expect(page.getByTestId('no-cas')).toHaveText(/No CA yet/);
  await expect(page.getByTestId('no-backup-warning')).toContainText('no backup will ever be possible');

  // Bad input first: each refused with a message, nothing stored.
  await page.getByLabel('Organization').fill('Acme Devices');
  await page.getByLabel('Backup passphrase').fill(PASSPHRASE);
  await expect(page.getByTestId('backup-warning')).toContainText('A lost passphrase loses the CA');
  await page.getByLabel('Passphrase again').fill(`${PASSPHRASE}!`);
  await page.getByRole('button', { name: 'Create CA with backup' }).click();
  await expect(card(page, 'Create a CA').getByRole('alert')).toHaveText('The two passphrases differ. Nothing was created.');
  await expect(page.getByTestId('ca-row')).toHaveCount(0);

  await page.getByLabel('Passphrase again').fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Create CA with backup' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Created “Acme Devices”' })).toBeVisible();
  const backup = await downloaded(page, () => card(page, 'Create a CA').getByRole('button', { name: 'Download backup' }).click());
  expect(backup.download.suggestedFilename()).toBe('acme-devices-ca-backup.json');
  expect(JSON.parse(backup.text)).toMatchObject({ format: 'imprint-ca-backup/1', label: 'Acme Devices', kdf: 'PBKDF2-SHA256', iterations: 600000 });

  // A wrong passphrase on restore: refused, the store unchanged.
  const restore = card(page, 'Restore or import a CA');
  await restore.locator('input[type=file]').setInputFiles({ name: 'acme-devices-ca-backup.json', mimeType: 'application/json', buffer: Buffer.from(backup.text) });
  await restore.getByLabel('Passphrase', { exact: true }).fill('not the passphrase');
  await restore.getByRole('button', { name: 'Restore CA' }).click();
  await expect(restore.getByRole('alert')).toHaveText('acme-devices-ca-backup.json: backup: wrong passphrase, or the file was changed after it was made. Nothing was stored.');

  // The CA survives a reload, still active, with its chain.
  await page.reload();
  await expect(page.getByTestId('ca-row')).toHaveCount(1);
  await expect(page.getByTestId('ca-row')).toContainText('Acme Devices');
  await expect(page.getByTestId('ca-row')).toContainText('Active');
  const chain = page.getByTestId('ca-chain');
  await expect(chain).toContainText('CN=Acme Devices Issuing CA, O=Acme Devices');
  await expect(chain).toContainText('CN=Acme Devices Root CA, O=Acme Devices');
  const rootPem = await downloaded(page, () => chain.getByRole('button', { name: 'PEM', exact: true }).last().click());
  expect(rootPem.download.suggestedFilename()).toBe('acme-devices-root.pem');
  expect(rootPem.text).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);

  // Connect the simulated board and provision it.
  await nav(page, 'Connect').click();
  await connectFromConnectPage(page, 'Simulated board', 'Connect');
  await prepareRun(page, /TF-M provisioning sample/, 'SN-0001');
  await expect(page.getByTestId('provision-ca')).toContainText('Acme Devices');
  await expect(page.getByTestId('subject-preview')).toContainText(/CN=[0-9a-f]{32}, serialNumber=SN-0001/);
  await page.getByRole('button', { name: 'Provision', exact: true }).click();
  await expect(page.getByTestId('provision-done')).toContainText('Done in', { timeout: 20_000 });
  const steps = page.getByTestId('provision-steps').locator('li');
  await expect(steps).toHaveCount(11);
  await expect(steps.and(page.locator('[data-status=done]'))).toHaveCount(11);
  await expect(steps.first()).toContainText(/\d+ ms/);
  const certificate = page.getByTestId('provision-certificate');
  await expect(certificate).toContainText(/Device\s*CN=[0-9a-f]{32}, serialNumber=SN-0001/);
  const fingerprint = (await certificate.getByTestId('fingerprint').first().textContent())!;
  expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);

  // The Keys page lists the key with that certificate.
  await nav(page, 'Keys').click();
  const certified = page.getByTestId('key-0x00000003');
  await expect(certified.getByTestId('key-certificate').first()).toContainText('serialNumber=SN-0001');
  await expect(certified.getByTestId('fingerprint').first()).toHaveText(fingerprint);
  await expect(page.getByTestId('key-0x00000001')).toContainText('No certificate stored for this key.');
  await expect(page.getByTestId('lock-state')).toContainText('open');
  const random = page.getByTestId('key-0x00000001');
  await random.getByRole('button', { name: 'Destroy…' }).click();
  await random.getByRole('button', { name: 'Destroy', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Key 0x00000001 and its certificates were destroyed on the board.' })).toBeVisible();
  await expect(page.getByTestId('key-0x00000001')).toHaveCount(0);

  // The Audit page: intents and outcomes of the run; the export verifies in Node; a tampered copy does not.
  await nav(page, 'Audit').click();
  const records = page.getByTestId('audit-records');
  await expect(records.locator('tbody tr').first()).toContainText(/keys\.destroy\s*outcome of \d+.*0x00000001\s*ok/s);
  // After the run, the board's registration in the device registry (its own intent and outcome).
  await expect(records.locator('tbody tr').nth(2)).toContainText(/registry\.register\s*outcome of \d+\s*SN-0001.*ok/s);
  await expect(records.locator('tbody tr').nth(4)).toContainText(/provision\.run\s*outcome of 1\s*SN-0001/);
  await expect(records).toContainText('keys.cert-store');
  await expect(page.getByTestId('station-id')).toHaveText(/^[0-9a-f]{16}$/);
  await expect(page.getByTestId('persistence')).toContainText(/granted|not granted/);
  const exported = await downloaded(page, () => page.getByTestId('export-jsonl').click());
  const stationId = (await page.getByTestId('station-id').textContent())!;
  expect(exported.download.suggestedFilename()).toMatch(new RegExp(`^imprint-audit-${stationId}-\\d{8}T\\d{6}Z\\.jsonl$`));
  const report = await verifyExports([{ name: 'export.jsonl', text: exported.text }]);
  expect(report.problems).toEqual([]);
  expect(report.stations).toMatchObject([{ stationId, records: expect.any(Number) }]);
  const recordCount = report.stations[0]!.records;
  expect(recordCount).toBeGreaterThanOrEqual(14);

  const verify = card(page, 'Verify exports');
  await verify.locator('input[type=file]').setInputFiles({ name: 'export.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(exported.text) });
  await expect(page.getByTestId('verify-result')).toHaveText(new RegExp(`All ${recordCount} records from 1 station verify`));
  const tampered = exported.text.replace('"boardSerial":"SN-0001"', '"boardSerial":"SN-0666"');
  expect(tampered).not.toBe(exported.text);
  await verify.locator('input[type=file]').setInputFiles({ name: 'tampered.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(tampered) });
  await expect(page.getByTestId('verify-result')).toContainText('problem');
  await expect(page.getByTestId('verify-problems')).toContainText(`station ${stationId} seq 1: record changed`);
  await expect(page.getByTestId('verify-problems')).toContainText('(tampered.jsonl line 2)');
});

/** A transport that stops passing the page's bytes on once it sees a keys/generate request: the board never gets it. */
function holdGenerate(inner: Transport): { transport: Transport; held: Promise<void> } {
  const decoder = new SerialFrameDecoder();
  let holding = false;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const transport = interceptSend(inner, async (bytes) => {
    if (holding) return;
    for (const packet of decoder.push(bytes)) {
      const header = decodeHeader(packet);
      if (header.ok && header.value.group === KEYS_MGMT_GROUP_DEFAULT && header.value.command === KEYS_MGMT_ID.GENERATE) {
        holding = true;
        release();
        return;
      }
    }
    await inner.send(bytes);
  });
  return { transport, held };
}

test.describe('over the stand-in serial port', () => {
  let bridge: SerialBridge;
  test.beforeEach(async ({ page }) => {
    bridge = await installSerialBridge(page);
  });
  test.afterEach(async () => {
    await bridge.dispose();
  });

  async function reconnect(page: Page): Promise<void> {
    await page.getByRole('radio', { name: 'Serial (WebSerial)' }).check();
    await page.getByRole('radio', { name: 'Reconnect USB serial 2fe3:0100' }).check();
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await expect(page.getByTestId('connection-status')).toHaveText('Connected');
  }

  test('a cable pulled mid-run fails the step with a clear message; reconnect and Re-provision succeed', async ({ page }) => {
    const device = createSimulatedDevice();
    let port = bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }));
    await page.goto('/');
    await createCa(page, 'Line 2');
    await nav(page, 'Connect').click();
    await connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');
    await prepareRun(page, /TF-M provisioning sample/, 'SN-0002');

    // Pull the cable once the board holds the imported key 2, in the middle of the run.
    const pulled = (async () => {
      while (!device.keys.store.has(2)) await new Promise((resolve) => setTimeout(resolve, 2));
      await port.unplug();
    })();
    await page.getByRole('button', { name: 'Provision', exact: true }).click();
    await pulled;
    const failed = page.getByTestId('provision-failed');
    await expect(failed).toContainText('the link to the board is gone');
    await expect(failed).toContainText('reconnect and retry');
    await expect(page.getByTestId('provision-steps').locator('[data-status=failed]')).toHaveCount(1);
    await expect(page.getByTestId('connection-status')).toHaveText('Disconnected');
    // The keys it made could not be removed over a pulled cable: the page says so and offers to replace them.
    await expect(card(page, 'Provisioning failed')).toContainText('Left on the board');
    await expect(page.getByRole('button', { name: 'Re-provision (replace what is there)' })).toBeDisabled();

    // Plug the same board in again and finish the job.
    port = bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }));
    await page.getByRole('link', { name: 'Reconnect…' }).click();
    await reconnect(page);
    await nav(page, 'Provision').click();
    await expect(page.getByTestId('provision-failed')).toBeVisible();
    await page.getByRole('button', { name: 'Re-provision (replace what is there)' }).click();
    await expect(page.getByTestId('provision-done')).toContainText('Done in', { timeout: 20_000 });
    await expect(page.getByTestId('provision-certificate')).toContainText('serialNumber=SN-0002');
    expect(device.keys.store.ids()).toEqual([1, 2, 3]);
  });

  test('a tab closed mid-run leaves intents: the banner says so and the Audit page reconciles them with the board', async ({ page }) => {
    const device = createSimulatedDevice();
    const gate = holdGenerate(connectSimulatedBoard(device.board, { baudRate: 115200 }));
    let port = bridge.attach(gate.transport);
    await page.goto('/');
    await connectFromConnectPage(page, 'Serial (WebSerial)', 'Choose port and connect');
    await expect(page.getByTestId('open-intents-banner')).toHaveCount(0);
    await prepareRun(page, /Supervisor/, 'SN-0003');
    await page.getByRole('button', { name: 'Provision', exact: true }).click();
    await gate.held; // the generate request is on its way and will never be answered
    await expect(page.getByTestId('provision-steps').locator('[data-status=running]')).toContainText('Generate x25519 key');

    await page.reload();
    await port.unplug();
    await expect(page.getByTestId('open-intents-banner')).toContainText('2 provisioning steps were interrupted');

    port = bridge.attach(connectSimulatedBoard(device.board, { baudRate: 115200 }));
    await nav(page, 'Connect').click();
    await reconnect(page);
    await page.getByTestId('open-intents-banner').getByRole('link', { name: 'Reconcile on the Audit page' }).click();
    const interrupted = card(page, 'Interrupted runs');
    await expect(interrupted.getByTestId('open-intents')).toContainText('keys.generate');
    await expect(interrupted.getByTestId('open-intents')).toContainText('provision.run');
    await interrupted.getByRole('button', { name: 'Reconcile with the connected board' }).click();
    await expect(interrupted.getByRole('status')).toContainText('2 intents closed with what the board holds');
    await expect(page.getByTestId('open-intents-banner')).toHaveCount(0);
    const records = page.getByTestId('audit-records');
    await expect(records.locator('tbody tr').nth(0)).toContainText(/keys\.generate\s*outcome of 2.*failed/s);
    await expect(records.locator('tbody tr').nth(1)).toContainText(/provision\.run\s*outcome of 1.*unknown/s);
  });
});

test('the header nav marks the current page, stays reachable at 768 px, and pages without a board say so', async ({ page }) => {
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.goto('/keys');
  await expect(page.getByRole('heading', { name: 'No board connected' })).toBeVisible();
  const main = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Connect', 'Device', 'Keys', 'Provision', 'CA', 'Audit']) await expect(main.getByRole('link', { name, exact: true })).toBeInViewport();
  await expect(main.getByRole('link', { name: 'Keys' })).toHaveAttribute('aria-current', 'page');
  await page.keyboard.press('Tab'); // the skip link
  await page.keyboard.press('Tab'); // the brand
  await page.keyboard.press('Tab');
  await expect(main.getByRole('link', { name: 'Connect' })).toBeFocused();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/provision$/);
  await expect(main.getByRole('link', { name: 'Provision' })).toHaveAttribute('aria-current', 'page');
  await expect(main.getByRole('link', { name: 'Keys' })).not.toHaveAttribute('aria-current', 'page');
  await expect(page.getByRole('heading', { name: 'No board connected' })).toBeVisible();
});
