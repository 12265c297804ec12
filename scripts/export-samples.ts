/**
 * The samples in docs/exports.md, made by the export code itself: a fresh CA, two devices with
 * certificates from it and one without (a Supervisor-style board: an X25519 key, no certificate),
 * as Registry page rows, then every export of them. Prints the samples; with `--write FILE` puts
 * them into FILE's `<!-- sample: ID -->` blocks. tests/unit/registry-export-docs.test.ts checks
 * that the blocks in the docs are exactly what the code makes of the rows the JSON sample holds.
 *
 *   npx tsx scripts/export-samples.ts --write docs/exports.md
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type CertificateAuthority, createCa, issueDeviceCertificate } from '../src/lib/pki';
import { checkRegistration } from '../src/lib/registry';
import { REGISTRY_EXPORT_FORMATS } from '../src/lib/state/registry-export-formats';
import { AWS_BULK_TEMPLATE } from '../src/lib/state/registry-exports';
import type { RegistryRow } from '../src/lib/state/registry-view.svelte';
import { bytesToHex } from '../src/lib/util/bytes';

const STATION = '3f2a9c0d5e6b7a81';

async function certifiedRow(ca: CertificateAuthority, boardSerial: string, time: string, counter: number): Promise<RegistryRow> {
  const deviceId = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
  const issued = await issueDeviceCertificate({ ca, publicKey, proofOfPossession: 'checked-by-caller', subjectTemplate: 'CN={deviceId}, serialNumber={boardSerial}', subjectValues: { deviceId, boardSerial }, validityDays: 3650 });
  if (!issued.ok) throw new Error(issued.error.message);
  const registered = await checkRegistration({ chain: [issued.value.der, ...issued.value.chain], root: ca.root.certificate, source: 'provisioning' });
  if (!registered.ok) throw new Error(registered.error.message);
  const key = { keyId: '0x00000003', keyFingerprint: issued.value.spkiFingerprint, certSerial: issued.value.serialNumber, certFingerprint: issued.value.fingerprint, destroyed: false };
  return { deviceId, boardSerials: [boardSerial], stations: [STATION], keys: [key], counter, first: time, last: time, runs: 1, registered: registered.value, keyMatches: true };
}

async function main(): Promise<void> {
  const created = await createCa({ label: 'Acme Line 1', organization: 'Acme' });
  if (!created.ok) throw new Error(created.error.message);
  const ca = created.value.ca;
  const rows: RegistryRow[] = [
    await certifiedRow(ca, 'SN-0002', '2026-11-23T09:41:07.512Z', 1),
    await certifiedRow(ca, 'SN-0001', '2026-11-23T09:40:31.204Z', 1),
    {
      deviceId: bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
      boardSerials: ['SN-0003'],
      stations: [STATION],
      keys: [{ keyId: '0x00000010', keyFingerprint: bytesToHex(crypto.getRandomValues(new Uint8Array(32))), destroyed: false }],
      counter: 1,
      first: '2026-11-23T09:39:52.880Z',
      last: '2026-11-23T09:39:52.880Z',
      runs: 1,
      registered: null,
      keyMatches: null,
    },
  ];
  const samples = new Map<string, string>([['aws-template', `${JSON.stringify(AWS_BULK_TEMPLATE, null, 2)}\n`]]);
  for (const format of REGISTRY_EXPORT_FORMATS) {
    const built = format.build(rows);
    // The generic CSV's CRLF line ends are kept out of the Markdown file; the docs say so.
    samples.set(format.id, built.text.replace(/\r\n/g, '\n'));
    if (built.skipped.length > 0) samples.set(`${format.id}-skipped`, `${built.skipped.map((entry) => `${entry.deviceId}: ${entry.reason}`).join('\n')}\n`);
  }

  const target = process.argv.indexOf('--write');
  if (target < 0) {
    for (const [id, text] of samples) process.stdout.write(`--- ${id}\n${text}`);
    return;
  }
  const file = process.argv[target + 1]!;
  let doc = readFileSync(file, 'utf8');
  for (const [id, text] of samples) {
    const block = new RegExp(`(<!-- sample: ${id} -->\\n\`\`\`[a-z]*\\n)[\\s\\S]*?(\`\`\`\\n)`);
    if (!block.test(doc)) continue;
    doc = doc.replace(block, (_, open: string, close: string) => `${open}${text}${close}`);
  }
  writeFileSync(file, doc);
  console.log(`wrote ${samples.size} samples into ${file}`);
}

await main();
