/**
 * Cross-checks with a tool nobody here wrote: /usr/bin/openssl, over temp files.
 * - what Imprint makes (chains, device certificates, CSR bundles, CRLs) passes `openssl verify`,
 *   `openssl req -verify` and `openssl crl -verify`, and revocation works in `verify -crl_check`;
 * - what openssl makes (a P-256 CSR, a root → intermediate → leaf chain built with extension files,
 *   PKCS#8 keys) is parsed and verified by Imprint, imported as a CA, and issued from.
 * Skipped, with the reason in the title, when openssl is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  certificateFingerprint,
  createCa,
  createCrl,
  encodePem,
  exportCsrBatch,
  importCa,
  issueDeviceCertificate,
  parseCertificate,
  parseCsr,
  revokeCertificate,
  spkiFingerprint,
  verifyChain,
  verifyCrl,
  verifyCsr,
} from '../../src/lib/pki';
import { bytesToHex } from '../../src/lib/util/bytes';
import { deviceKeys, flipByte, indexOfText, makeCsr, OPENSSL, opensslAvailable, opensslWorkspace } from './support/pki';

const title = opensslAvailable ? `openssl (${OPENSSL}) cross-checks` : `openssl cross-checks skipped: ${OPENSSL} not found (apt-get install openssl)`;

describe.skipIf(!opensslAvailable)(title, () => {
  const ws = opensslAvailable ? opensslWorkspace() : undefined!;
  afterAll(() => ws?.cleanup());
  let ca: CertificateAuthority;
  beforeAll(async () => {
    const created = await createCa({ label: 'Imprint Test', organization: 'Acme' });
    if (!created.ok) throw new Error(created.error.message);
    ca = created.value.ca;
    ws.write('root.pem', encodePem('CERTIFICATE', ca.root.certificate));
    ws.write('intermediate.pem', encodePem('CERTIFICATE', ca.intermediate.certificate));
  });

  function ok(...args: string[]): string {
    const result = ws.run(...args);
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${result.status}):\n${result.output}`);
    return result.output;
  }

  describe('what Imprint makes, openssl accepts', () => {
    it('openssl verify -x509_strict -purpose sslclient -CAfile root.pem -untrusted intermediate.pem device.pem', async () => {
      const issued = await issueDeviceCertificate({
        ca,
        csr: await makeCsr(await deviceKeys()),
        subjectTemplate: 'CN={deviceId}, serialNumber={boardSerial}, O={org}',
        subjectValues: { deviceId: 'dev-0001', boardSerial: 'A1B2C3', org: 'Acme' },
        validityDays: 365,
      });
      if (!issued.ok) throw new Error(issued.error.message);
      ws.write('device.pem', issued.value.pem);
      expect(ok('verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'device.pem')).toContain('device.pem: OK');
      expect(ok('verify', '-x509_strict', '-CAfile', 'root.pem', 'intermediate.pem')).toContain('intermediate.pem: OK');
      const text = ok('x509', '-in', 'device.pem', '-noout', '-text', '-nameopt', 'RFC2253');
      expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature/);
      expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication/);
      expect(text).toContain('Subject: O=Acme,serialNumber=A1B2C3,CN=dev-0001');
      const fingerprint = ok('x509', '-in', 'device.pem', '-noout', '-fingerprint', '-sha256');
      expect(fingerprint.split('=')[1]!.trim().replace(/:/g, '').toLowerCase()).toBe(issued.value.fingerprint);
      const rootText = ok('x509', '-in', 'root.pem', '-noout', '-text');
      expect(rootText).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
      expect(rootText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
      expect(ok('x509', '-in', 'intermediate.pem', '-noout', '-text')).toMatch(/CA:TRUE, pathlen:0/);
    });

    it('openssl refuses a device certificate from another CA, as Imprint does', async () => {
      const other = await createCa({ label: 'Imprint Test', organization: 'Acme' });
      if (!other.ok) throw new Error(other.error.message);
      const foreign = await issueDeviceCertificate({ ca: other.value.ca, csr: await makeCsr(await deviceKeys()), subjectTemplate: 'CN={id}', subjectValues: { id: 'x' }, validityDays: 1 });
      if (!foreign.ok) throw new Error(foreign.error.message);
      ws.write('foreign.pem', foreign.value.pem);
      const openssl = ws.run('verify', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'foreign.pem');
      expect(openssl.status).not.toBe(0);
      const imprint = await verifyChain({ chain: [foreign.value.der, ca.intermediate.certificate], root: ca.root.certificate });
      expect(imprint.ok ? 'verified' : imprint.error.code).toBe('chain-key-id-mismatch');
    });

    it('openssl req -verify accepts every CSR of an exported batch', async () => {
      const exported = await exportCsrBatch([
        { deviceId: 'dev-a', csr: await makeCsr(await deviceKeys(), 'CN=dev-a') },
        { deviceId: 'dev-b', csr: await makeCsr(await deviceKeys(), 'CN=dev-b') },
      ]);
      if (!exported.ok) throw new Error(exported.error.message);
      for (const request of exported.value.batch.requests) {
        ws.write(`${request.deviceId}.csr`, request.csr);
        expect(ok('req', '-in', `${request.deviceId}.csr`, '-noout', '-verify')).toMatch(/verify OK|Certificate request self-signature verify OK/);
      }
      ws.write('bundle.pem', exported.value.pem);
      expect(ok('req', '-in', 'bundle.pem', '-noout', '-verify', '-subject')).toContain('dev-a');
    });

    it('openssl crl -verify accepts the CRL, and verify -crl_check sees the revocation', async () => {
      const devices = [];
      for (const id of ['revoked', 'kept']) {
        const issued = await issueDeviceCertificate({ ca, csr: await makeCsr(await deviceKeys()), subjectTemplate: 'CN={id}', subjectValues: { id }, validityDays: 30 });
        if (!issued.ok) throw new Error(issued.error.message);
        ws.write(`${id}.pem`, issued.value.pem);
        devices.push(issued.value);
      }
      const revocation = await revokeCertificate(ca, { certificate: devices[0]!.der }, { reason: 'keyCompromise' });
      if (!revocation.ok) throw new Error(revocation.error.message);
      const crl = await createCrl({ ca, revocations: [revocation.value], crlNumber: 42 });
      if (!crl.ok) throw new Error(crl.error.message);
      ws.write('crl.pem', crl.value.pem);
      ws.write('crl.der', crl.value.der);
      expect(ok('crl', '-in', 'crl.pem', '-CAfile', 'intermediate.pem', '-noout', '-verify')).toContain('verify OK');
      expect(ok('crl', '-in', 'crl.der', '-inform', 'DER', '-CAfile', 'intermediate.pem', '-noout', '-verify')).toContain('verify OK');
      const text = ok('crl', '-in', 'crl.pem', '-noout', '-text');
      expect(text).toMatch(/X509v3 CRL Number:\s+42/);
      expect(text.replace(/\s/g, '').toLowerCase()).toContain(`serialnumber:${devices[0]!.serialNumber}`);
      expect(text).toContain('Key Compromise');
      const revoked = ws.run('verify', '-crl_check', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', '-CRLfile', 'crl.pem', 'revoked.pem');
      expect(revoked.status).not.toBe(0);
      expect(revoked.output).toContain('certificate revoked');
      expect(ok('verify', '-crl_check', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', '-CRLfile', 'crl.pem', 'kept.pem')).toContain('kept.pem: OK');
    });
  });

  describe('what openssl makes, Imprint reads and verifies', () => {
    it('a P-256 CSR from `openssl req -new`: parsed, signature verified, a certificate issued that openssl verifies', async () => {
      ok('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=dev1', '-keyout', 'dev1.key', '-out', 'dev1.csr');
      const csrPem = ws.read('dev1.csr').toString('utf8');
      const parsed = parseCsr(csrPem);
      expect(parsed.ok && parsed.value.subject.text).toBe('CN=dev1');
      expect(parsed.ok && parsed.value.publicKey.algorithm).toBe('P-256');
      expect((await verifyCsr(csrPem)).ok).toBe(true);
      ok('pkey', '-in', 'dev1.key', '-pubout', '-outform', 'DER', '-out', 'dev1.spki');
      expect(parsed.ok && (await spkiFingerprint(parsed.value.publicKey.spki))).toBe(await spkiFingerprint(new Uint8Array(ws.read('dev1.spki'))));

      const der = parsed.ok ? parsed.value.der : new Uint8Array();
      const tampered = await verifyCsr(flipByte(der, indexOfText(der, 'dev1') + 3));
      expect(tampered.ok ? 'verified' : tampered.error.code).toBe('csr-bad-signature');

      const issued = await issueDeviceCertificate({ ca, csr: csrPem, subjectTemplate: 'CN={id}', subjectValues: { id: 'dev1' }, validityDays: 90 });
      if (!issued.ok) throw new Error(issued.error.message);
      ws.write('dev1.pem', issued.value.pem);
      expect(ok('verify', '-x509_strict', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'dev1.pem')).toContain('dev1.pem: OK');
      // The certificate carries the key openssl generated: openssl's own key matches it.
      expect(ok('x509', '-in', 'dev1.pem', '-noout', '-pubkey')).toBe(ok('pkey', '-in', 'dev1.key', '-pubout'));
    });

    describe('a chain built by openssl with extension files', () => {
      beforeAll(() => {
        ws.write('root.cnf', '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = OpenSSL Root\nO = Elsewhere\n[v3_root]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n');
        ws.write('ca.ext', 'basicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n');
        ws.write('leaf.ext', 'basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n');
        ok('req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'o-root.key', '-out', 'o-root.pem', '-config', 'root.cnf', '-extensions', 'v3_root', '-days', '3650');
        ok('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'o-int.key', '-out', 'o-int.csr', '-subj', '/CN=OpenSSL Issuing/O=Elsewhere');
        ok('x509', '-req', '-sha256', '-in', 'o-int.csr', '-CA', 'o-root.pem', '-CAkey', 'o-root.key', '-CAcreateserial', '-out', 'o-int.pem', '-days', '1825', '-extfile', 'ca.ext');
        ok('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'o-leaf.key', '-out', 'o-leaf.csr', '-subj', '/CN=openssl-device/serialNumber=XYZ-9');
        ok('x509', '-req', '-sha256', '-in', 'o-leaf.csr', '-CA', 'o-int.pem', '-CAkey', 'o-int.key', '-CAcreateserial', '-out', 'o-leaf.pem', '-days', '365', '-extfile', 'leaf.ext');
        // A CA below the pathlen:0 intermediate, and a leaf under it: both tools must refuse.
        ok('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'o-sub.key', '-out', 'o-sub.csr', '-subj', '/CN=OpenSSL Sub CA');
        ok('x509', '-req', '-sha256', '-in', 'o-sub.csr', '-CA', 'o-int.pem', '-CAkey', 'o-int.key', '-CAcreateserial', '-out', 'o-sub.pem', '-days', '365', '-extfile', 'ca.ext');
        ok('x509', '-req', '-sha256', '-in', 'o-leaf.csr', '-CA', 'o-sub.pem', '-CAkey', 'o-sub.key', '-CAcreateserial', '-out', 'o-deep.pem', '-days', '365', '-extfile', 'leaf.ext');
      });
      const pem = (name: string) => ws.read(name).toString('utf8');

      it('parses every certificate with the extensions openssl wrote, and verifies the chain (openssl agrees)', async () => {
        expect(ok('verify', '-CAfile', 'o-root.pem', '-untrusted', 'o-int.pem', 'o-leaf.pem')).toContain('o-leaf.pem: OK');
        const leaf = parseCertificate(pem('o-leaf.pem'));
        const intermediate = parseCertificate(pem('o-int.pem'));
        if (!leaf.ok || !intermediate.ok) throw new Error('parse failed');
        expect(leaf.value.subject.text).toBe('CN=openssl-device, serialNumber=XYZ-9');
        expect(leaf.value.extensions).toMatchObject({ basicConstraints: { ca: false, critical: true }, keyUsage: { usages: ['digitalSignature'] }, extendedKeyUsage: { usages: ['clientAuth'] } });
        expect(leaf.value.extensions.authorityKeyId).toBe(intermediate.value.extensions.subjectKeyId);
        expect(intermediate.value.extensions.basicConstraints).toEqual({ ca: true, pathLength: 0, critical: true });
        const serial = ok('x509', '-in', 'o-leaf.pem', '-noout', '-serial').split('=')[1]!.trim().toLowerCase();
        expect(leaf.value.serialNumber).toBe(serial);
        const fingerprint = ok('x509', '-in', 'o-leaf.pem', '-noout', '-fingerprint', '-sha256').split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
        expect(await certificateFingerprint(leaf.value.der)).toBe(fingerprint);
        const verified = await verifyChain({ chain: [pem('o-leaf.pem'), pem('o-int.pem')], root: pem('o-root.pem') });
        expect(verified.ok).toBe(true);
      });

      it('refuses the chain one CA too deep, as openssl does', async () => {
        const openssl = ws.run('verify', '-CAfile', 'o-root.pem', '-untrusted', 'o-int.pem', '-untrusted', 'o-sub.pem', 'o-deep.pem');
        expect(openssl.status).not.toBe(0);
        expect(openssl.output).toContain('path length constraint exceeded');
        const imprint = await verifyChain({ chain: [pem('o-deep.pem'), pem('o-sub.pem'), pem('o-int.pem')], root: pem('o-root.pem') });
        expect(imprint.ok ? 'verified' : [imprint.error.code, imprint.error.certificate?.subject]).toEqual(['chain-path-length', 'CN=OpenSSL Issuing, O=Elsewhere']);
      });

      it('imports the openssl intermediate + PKCS#8 key as a CA; its device certificates pass openssl verify', async () => {
        const imported = await importCa({ kind: 'pkcs8', certificates: pem('o-int.pem') + pem('o-root.pem'), privateKey: pem('o-int.key') });
        if (!imported.ok) throw new Error(imported.error.message);
        const issued = await issueDeviceCertificate({ ca: imported.value.ca, csr: await makeCsr(await deviceKeys()), subjectTemplate: 'CN={id}', subjectValues: { id: 'from-imported' }, validityDays: 30 });
        if (!issued.ok) throw new Error(issued.error.message);
        const issuedCertificate = parseCertificate(issued.value.der);
        const intermediate = parseCertificate(pem('o-int.pem'));
        expect(issuedCertificate.ok && intermediate.ok && bytesToHex(issuedCertificate.value.issuer.der)).toBe(intermediate.ok ? bytesToHex(intermediate.value.subject.der) : '');
        ws.write('from-imported.pem', issued.value.pem);
        expect(ok('verify', '-x509_strict', '-CAfile', 'o-root.pem', '-untrusted', 'o-int.pem', 'from-imported.pem')).toContain('from-imported.pem: OK');

        const crl = await createCrl({ ca: imported.value.ca, revocations: [], crlNumber: 1 });
        if (!crl.ok) throw new Error(crl.error.message);
        ws.write('imported-crl.pem', crl.value.pem);
        expect(ok('crl', '-in', 'imported-crl.pem', '-CAfile', 'o-int.pem', '-noout', '-verify')).toContain('verify OK');
        expect((await verifyCrl(crl.value.pem, pem('o-int.pem'))).ok).toBe(true);

        const wrongKey = await importCa({ kind: 'pkcs8', certificates: pem('o-int.pem') + pem('o-root.pem'), privateKey: pem('o-leaf.key') });
        expect(wrongKey.ok ? 'imported' : wrongKey.error.code).toBe('import-key-mismatch');
        ok('ec', '-in', 'o-int.key', '-out', 'o-int.sec1.key');
        const sec1 = await importCa({ kind: 'pkcs8', certificates: pem('o-int.pem') + pem('o-root.pem'), privateKey: pem('o-int.sec1.key') });
        expect(sec1.ok ? 'imported' : [sec1.error.code, sec1.error.message.includes('openssl pkcs8 -topk8')]).toEqual(['pem-unknown-label', true]);
      });
    });
  });
});
