/**
 * The external-CA hand-off: a batch of CSRs out (JSON + PEM bundle), certificates back, matched by
 * public key. The "external CA" here is a second Imprint CA that rewrites subjects, as real ones do.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  createCa,
  decodePem,
  exportCsrBatch,
  type ExportedCsrBatch,
  importSignedCertificates,
  issueDeviceCertificate,
  parseCsrBatch,
  encodePem,
} from '../../src/lib/pki';
import { deviceKeys, flipByte, makeCsr } from './support/pki';

async function newCa(label: string): Promise<CertificateAuthority> {
  const created = await createCa({ label });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.ca;
}
async function sign(ca: CertificateAuthority, csr: Uint8Array, cn: string): Promise<Uint8Array> {
  const issued = await issueDeviceCertificate({ ca, csr, subjectTemplate: 'CN={cn}', subjectValues: { cn }, validityDays: 30 });
  if (!issued.ok) throw new Error(issued.error.message);
  return issued.value.der;
}

let external: CertificateAuthority;
let rogue: CertificateAuthority;
const csrs: Record<string, Uint8Array> = {};
let exported: ExportedCsrBatch;
beforeAll(async () => {
  external = await newCa('External');
  rogue = await newCa('Rogue');
  for (const id of ['dev-1', 'dev-2', 'dev-3', 'dev-4']) csrs[id] = await makeCsr(await deviceKeys(), `CN=${id}`);
  const result = await exportCsrBatch(Object.entries(csrs).map(([deviceId, csr]) => ({ deviceId, csr })), { now: new Date('2030-01-01T00:00:00Z') });
  if (!result.ok) throw new Error(result.error.message);
  exported = result.value;
});

describe('exportCsrBatch', () => {
  it('writes JSON with each device, subject, key fingerprint and CSR, and a PEM bundle with a label line per block', async () => {
    expect(exported.batch.format).toBe('imprint-csr-batch/1');
    expect(exported.batch.requests.map((request) => [request.deviceId, request.subject])).toEqual([
      ['dev-1', 'CN=dev-1'],
      ['dev-2', 'CN=dev-2'],
      ['dev-3', 'CN=dev-3'],
      ['dev-4', 'CN=dev-4'],
    ]);
    for (const request of exported.batch.requests) expect(request.spkiSha256).toMatch(/^[0-9a-f]{64}$/);
    const blocks = decodePem(exported.pem);
    expect(blocks.ok && blocks.value.map((block) => [block.label, block.preamble])).toEqual(
      ['dev-1', 'dev-2', 'dev-3', 'dev-4'].map((id) => ['CERTIFICATE REQUEST', `deviceId: ${id}\nsubject: CN=${id}`]),
    );
    const reread = await parseCsrBatch(exported.json);
    expect(reread).toEqual({ ok: true, value: exported.batch });
  });

  it('refuses a CSR with a bad signature, duplicate devices or keys, and a batch file whose fingerprints were edited', async () => {
    const bad = await exportCsrBatch([{ deviceId: 'x', csr: flipByte(csrs['dev-1']!, -1) }]);
    expect(bad.ok ? 'exported' : bad.error).toMatchObject({ code: 'csr-bad-signature' });
    expect(bad.ok ? '' : bad.error.message).toMatch(/^device x: /);
    const twice = await exportCsrBatch([{ deviceId: 'a', csr: csrs['dev-1']! }, { deviceId: 'a', csr: csrs['dev-2']! }]);
    expect(twice.ok ? 'exported' : twice.error.code).toBe('batch-duplicate');
    const sameKey = await exportCsrBatch([{ deviceId: 'a', csr: csrs['dev-1']! }, { deviceId: 'b', csr: csrs['dev-1']! }]);
    expect(sameKey.ok ? 'exported' : sameKey.error.code).toBe('batch-duplicate');
    const empty = await exportCsrBatch([]);
    expect(empty.ok ? 'exported' : empty.error.code).toBe('batch-empty');
    const edited = exported.json.replace(exported.batch.requests[0]!.spkiSha256, '0'.repeat(64));
    const reread = await parseCsrBatch(edited);
    expect(reread.ok ? 'parsed' : reread.error.code).toBe('batch-malformed');
    const notBatch = await parseCsrBatch('{"format":"something-else"}');
    expect(notBatch.ok ? 'parsed' : notBatch.error.code).toBe('batch-malformed');
  });
});

describe('importSignedCertificates', () => {
  it('matches by public key whatever the order and subject, and reports unmatched, mismatched, missing and invalid', async () => {
    const unrelated = await sign(external, await makeCsr(await deviceKeys()), 'stranger');
    const returned = [
      encodePem('CERTIFICATE', await sign(external, csrs['dev-2']!, 'renamed-by-ca')),
      'garbage before a block is explanatory text\n',
      encodePem('CERTIFICATE', await sign(external, csrs['dev-1']!, 'dev-1')),
      encodePem('CERTIFICATE', unrelated),
      encodePem('CERTIFICATE', external.intermediate.certificate),
      encodePem('CERTIFICATE', await sign(rogue, csrs['dev-3']!, 'dev-3')),
      encodePem('CERTIFICATE', await sign(external, csrs['dev-1']!, 'dev-1-again')),
      encodePem('CERTIFICATE', new Uint8Array([0x30, 0x00])),
      encodePem('CERTIFICATE REQUEST', csrs['dev-4']!),
    ].join('');
    const report = await importSignedCertificates({ batch: exported.batch, certificates: returned, trust: { root: external.root.certificate } });
    expect(report.ok).toBe(true);
    if (!report.ok) return;
    const { matched, mismatched, unmatched, missing, invalid, caCertificates } = report.value;
    expect(matched.map((match) => [match.deviceId, match.certificate.subject.text, match.subjectChanged])).toEqual([
      ['dev-2', 'CN=renamed-by-ca', true],
      ['dev-1', 'CN=dev-1', false],
    ]);
    expect(mismatched.map((entry) => [entry.deviceId, entry.reason.code])).toEqual([
      ['dev-3', 'chain-unknown-root'],
      ['dev-1', 'duplicate'],
    ]);
    expect(unmatched.map((entry) => entry.certificate.subject.text)).toEqual(['CN=stranger']);
    expect(caCertificates.map((certificate) => certificate.subject.text)).toEqual(['CN=External Issuing CA']);
    expect(missing).toEqual(['dev-3', 'dev-4']);
    expect(invalid.map((entry) => [entry.index, entry.error.code])).toEqual([
      [6, 'parse-malformed'],
      [7, 'pem-wrong-label'],
    ]);
  });

  it('without a trust root, matches by key only; a malformed file is a typed error', async () => {
    const report = await importSignedCertificates({ batch: exported.batch, certificates: [await sign(rogue, csrs['dev-4']!, 'dev-4')] });
    expect(report.ok && report.value.matched.map((match) => match.deviceId)).toEqual(['dev-4']);
    const broken = await importSignedCertificates({ batch: exported.batch, certificates: '-----BEGIN CERTIFICATE-----\nAAAA\n' });
    expect(broken.ok ? 'imported' : broken.error.code).toBe('pem-missing-end');
  });
});
