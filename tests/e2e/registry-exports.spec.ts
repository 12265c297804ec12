// The Registry page's exports end to end: the built-in simulated board provisioned with a
// certificate lands in the device registry by itself, a second run whose certificate the registry
// refuses (its serial, the device id, has spaces) still succeeds and is recorded as refused; the
// Registry page shows the first device's certificate, and each export downloads with the device id
// and the certificate whose fingerprint the audit log's outcome recorded, the refused device
// skipped with the reason. The search narrows what is exported; nothing shown disables them.
import { createHash } from 'node:crypto';
import { decodePemAs } from '../../src/lib/pki';
import { connectFromConnectPage, createCa, downloaded, nav, prepareRun } from './support/app';
import { readLog } from './support/crash-run';
import { expect, test } from './support/fixtures';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const pemFingerprint = (pem: string) => {
  const der = decodePemAs(pem, 'CERTIFICATE');
  if (!der.ok || der.value.length !== 1) throw new Error(`not one certificate: ${pem.slice(0, 60)}`);
  return sha256(der.value[0]!);
};
const REFUSED_SERIAL = 'SN EXP 2';

test('a provisioned board is registered by itself; every export holds its id and certificate, a refused one is skipped with the reason', async ({ page }) => {
  await page.goto('/');
  await createCa(page, 'Export Line');
  await nav(page, 'Connect').click();
  await connectFromConnectPage(page, 'Simulated board', 'Connect');

  await prepareRun(page, /TF-M provisioning sample/, 'SN-EXP-0001');
  await page.getByRole('button', { name: 'Provision', exact: true }).click();
  await expect(page.getByTestId('provision-done')).toContainText('Done in', { timeout: 20_000 });
  await expect(page.getByTestId('provision-registration')).toContainText(/^Added [0-9a-f]{32} to the device registry \(new device\)\.$/);

  // A settings-only run names the device by its serial; one with spaces is no device id the registry takes.
  await prepareRun(page, /Settings only/, REFUSED_SERIAL);
  await page.getByLabel('I understand; write the key in the clear').check();
  await page.getByRole('button', { name: 'Provision', exact: true }).click();
  await expect(page.getByTestId('provision-done')).toContainText('Done in', { timeout: 20_000 });
  await expect(page.getByTestId('provision-registration')).toContainText(`Not added to the device registry (registry-bad-device-id): device id "${REFUSED_SERIAL}"`);

  const records = await readLog(page);
  const run = records.find((record) => record.action === 'provision.run' && record.phase === 'outcome' && record.boardSerial === 'SN-EXP-0001' && record.result === 'ok')!;
  const deviceId = run.deviceId!;
  const fingerprint = run.certFingerprint!;
  expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
  const registrations = records.filter((record) => record.action === 'registry.register' && record.phase === 'outcome');
  expect(registrations.map((record) => [record.boardSerial, record.result, record.errorCode ?? null, record.certFingerprint ?? null])).toEqual([
    ['SN-EXP-0001', 'ok', null, fingerprint],
    [REFUSED_SERIAL, 'failed', 'registry-bad-device-id', null],
  ]);
  expect(records.filter((record) => record.action === 'provision.run' && record.phase === 'outcome').map((record) => record.result)).toEqual(['ok', 'ok']);

  await nav(page, 'Registry').click();
  const row = page.locator(`[data-device="${deviceId}"]`);
  await expect(row).toContainText(`CN=${deviceId}, serialNumber=SN-EXP-0001`);
  await expect(row).toContainText('matches the log');
  await expect(page.locator(`[data-device="${REFUSED_SERIAL}"]`)).toContainText('not registered');
  await expect(page.getByRole('heading', { name: 'Export the 2 devices shown' })).toBeVisible();

  const exported = async (id: string) => (await downloaded(page, () => page.getByTestId(`registry-export-${id}`).click())).text;
  const result = page.getByTestId('registry-export-result');
  const skippedLine = `1 device skipped: no certificate in the device registry (provisioned without a certificate from this station’s CA, or not registered) (${REFUSED_SERIAL}).`;

  // Keyboard: the first export button is reached with Tab from the search field and saves with Enter.
  await page.getByTestId('registry-search').focus();
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('registry-export-aws-iot')).toBeFocused();
  const aws = await downloaded(page, () => page.keyboard.press('Enter'));
  expect(aws.download.suggestedFilename()).toBe('imprint-aws-iot-bulk.jsonl');
  const awsLines = aws.text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
  expect(awsLines.map((line) => [line.ThingName, line.SerialNumber, pemFingerprint(line.CertificatePem!)])).toEqual([[deviceId, 'SN-EXP-0001', fingerprint]]);
  await expect(result).toContainText('AWS IoT: 1 device exported.');
  await expect(result).toContainText(skippedLine);

  const nrf = await exported('nrf-cloud');
  expect(nrf.startsWith(`${deviceId},,,APP|MODEM,"-----BEGIN CERTIFICATE-----\n`)).toBe(true);
  expect(pemFingerprint(nrf.slice(nrf.indexOf('"') + 1, nrf.lastIndexOf('"')))).toBe(fingerprint);
  await expect(result).toContainText(skippedLine);

  const azure = JSON.parse(await exported('azure-dps')) as Array<{ registrationId: string; deviceId: string; attestation: { x509: { clientCertificates: { primary: { certificate: string } } } } }>;
  expect(azure.map((enrollment) => [enrollment.registrationId, enrollment.deviceId, pemFingerprint(enrollment.attestation.x509.clientCertificates.primary.certificate)])).toEqual([[deviceId, deviceId, fingerprint]]);

  const json = JSON.parse(await exported('json')) as Array<{ deviceId: string; certificatePem: string | null }>;
  expect(json.map((entry) => [entry.deviceId, entry.certificatePem && pemFingerprint(entry.certificatePem)]).sort()).toEqual([[REFUSED_SERIAL, null], [deviceId, fingerprint]].sort());
  await expect(result).toContainText('JSON: 2 devices exported.');
  await expect(result).not.toContainText('skipped');

  const csv = (await exported('csv')).split('\r\n');
  const header = csv[0]!.split(',');
  const line = csv.find((text) => text.startsWith(`${deviceId},`))!.split(',');
  expect(line[header.indexOf('certFingerprints')]!.split(';')).toContain(fingerprint);
  expect(line[header.indexOf('boardSerials')]).toBe('SN-EXP-0001');

  const header_h = await exported('c-header');
  expect(header_h).toContain(`static const char imprint_device_0_id[] IMPRINT_UNUSED = "${deviceId}";`);
  const bytes = /imprint_device_0_cert_der\[\d+\] IMPRINT_UNUSED = \{([^}]*)\}/.exec(header_h)![1]!.match(/0x[0-9a-f]{2}/g)!.map((byte) => Number.parseInt(byte, 16));
  expect(sha256(new Uint8Array(bytes))).toBe(fingerprint);
  await expect(result).toContainText('C header: 1 device exported.');

  // Exports cover the rows shown: a search for the refused device leaves the certificate formats nothing.
  await page.getByTestId('registry-search').fill('SN EXP');
  await expect(page.getByRole('heading', { name: 'Export the 1 device shown (the search applies)' })).toBeVisible();
  for (const id of ['aws-iot', 'nrf-cloud', 'azure-dps', 'c-header']) await expect(page.getByTestId(`registry-export-${id}`)).toBeDisabled();
  await expect(page.getByTestId('registry-export-unavailable-aws-iot')).toHaveText('AWS IoT: No device shown has a certificate in the device registry.');
  const narrowed = JSON.parse(await exported('json')) as Array<{ deviceId: string }>;
  expect(narrowed.map((entry) => entry.deviceId)).toEqual([REFUSED_SERIAL]);
  await page.getByTestId('registry-search').fill('nothing like this');
  await expect(page.getByTestId('registry-export-json')).toBeDisabled();
});
