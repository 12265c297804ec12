// The external-CA hand-off, end to end: the simulated board (provisioned, so it holds keys) makes a
// CSR on the External CA page; the downloaded batch (kept across a reload) is signed in Node by openssl under a throwaway
// root; the certificate goes back through the page, is matched, stored on the board, read back and
// verified; the audit export holds the keys.cert-store outcome with the certificate's fingerprint.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateFingerprint, decodePemOne, parseCsrBatch } from '../../src/lib/pki';
import { connectFromConnectPage, createCa, downloaded, nav, prepareRun } from './support/app';
import { exportAuditLog } from './support/audit-export';
import { expect, test } from './support/fixtures';

function openssl(cwd: string, ...args: string[]): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${run.stderr}`);
}

test('CSR out to an openssl CA, certificate back, stored on the board, read back and verified', async ({ page }) => {
  const work = mkdtempSync(join(tmpdir(), 'imprint-extca-'));
  try {
    await page.goto('/');
    await createCa(page, 'Station CA');
    await nav(page, 'Connect').click();
    await connectFromConnectPage(page, 'Simulated board', 'Connect');
    await prepareRun(page, /TF-M provisioning sample/, 'SN-EXT-1');
    await page.getByRole('button', { name: 'Provision', exact: true }).click();
    await expect(page.getByTestId('provision-done')).toContainText('Done in', { timeout: 20_000 });

    await nav(page, 'CA').click();
    await page.getByRole('link', { name: 'External CA hand-off' }).click();
    await expect(page).toHaveURL(/\/ca\/external$/);
    await expect(page.getByTestId('batch-empty')).toBeVisible();
    await expect(page.getByLabel('Subject')).toHaveValue(/^CN=[0-9a-f]{32}$/);
    await page.getByLabel('Subject').fill('CN=asked-for-by-imprint');
    await page.getByRole('button', { name: 'Add this board’s CSR' }).click();
    await expect(page.getByRole('status').filter({ hasText: /added to the batch/ })).toBeVisible();
    await expect(page.getByTestId('csr-batch')).toContainText('CN=asked-for-by-imprint');

    const { text: batchJson } = await downloaded(page, () => page.getByTestId('download-csr-batch').click());
    const batch = await parseCsrBatch(batchJson);
    if (!batch.ok) throw new Error(batch.error.message);
    const [request] = batch.value.requests;

    // The "external" CA: openssl, a throwaway root, a leaf under a subject of its own.
    writeFileSync(join(work, 'device.csr'), request!.csr);
    writeFileSync(join(work, 'root.cnf'), '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = OpenSSL External Root\n[v3_root]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n');
    writeFileSync(join(work, 'leaf.ext'), 'basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n');
    openssl(work, 'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-config', 'root.cnf', '-extensions', 'v3_root', '-days', '30');
    openssl(work, 'x509', '-req', '-sha256', '-in', 'device.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'device.pem', '-days', '30', '-extfile', 'leaf.ext', '-subj', '/CN=renamed-by-the-ca');
    const devicePem = readFileSync(join(work, 'device.pem'), 'utf8');
    const deviceDer = decodePemOne(devicePem, 'CERTIFICATE');
    if (!deviceDer.ok) throw new Error(deviceDer.error.message);
    const fingerprint = await certificateFingerprint(deviceDer.value);

    await page.getByLabel('Choose certificates…').setInputFiles({ name: 'device.pem', mimeType: 'application/x-pem-file', buffer: Buffer.from(devicePem) });
    await page.getByLabel('Root the certificates must verify to').selectOption({ label: 'A root certificate file…' });
    await page.getByLabel('Choose root…').setInputFiles(join(work, 'root.pem'));
    await page.getByRole('button', { name: 'Match certificates' }).click();
    const matched = page.getByTestId(`matched-${request!.deviceId}`);
    await expect(matched).toContainText('matched');
    await expect(matched).toContainText('CN=renamed-by-the-ca');
    await expect(matched).toContainText('subject changed by the CA');

    await matched.getByRole('button', { name: 'Store on the connected board' }).click();
    await expect(page.getByTestId('store-verdict')).toContainText(/read back identical; the chain verifies to CN=OpenSSL External Root/);
    await expect(matched).toContainText('Stored, read back and verified');
    await expect(page.getByTestId('csr-batch')).toContainText('Certificate stored');

    // The batch, with the device marked done, survives a reload (the simulated board does not).
    await page.reload();
    await expect(page.getByTestId('csr-batch')).toContainText(/CN=asked-for-by-imprint.*Certificate stored/s);

    await nav(page, 'Audit').click();
    const { problems, records } = await exportAuditLog(page, 'export-jsonl');
    expect(problems).toEqual([]);
    const stored = records.filter((record) => record.action === 'keys.cert-store' && record.phase === 'outcome' && record.certFingerprint === fingerprint);
    expect(stored.map((record) => [record.result, record.deviceId])).toEqual([['ok', request!.deviceId]]);
    expect(records.some((record) => record.action === 'external-ca.csr' && record.phase === 'outcome' && record.result === 'ok')).toBe(true);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
