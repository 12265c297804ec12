/**
 * Revocation and CRLs signed by the intermediate: entries, CRL number, AKI, dates, verification
 * against the right and the wrong issuer, and the refusals.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type CertificateAuthority, createCa, createCrl, issueDeviceCertificate, normalizeSerial, parseCertificate, parseCrl, revokeCertificate, verifyCrl } from '../../src/lib/pki';
import { deviceKeys, flipByte, makeCsr } from './support/pki';

async function newCa(label: string): Promise<CertificateAuthority> {
  const created = await createCa({ label });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.ca;
}
async function deviceCertificate(ca: CertificateAuthority): Promise<Uint8Array> {
  const issued = await issueDeviceCertificate({ ca, csr: await makeCsr(await deviceKeys()), subjectTemplate: 'CN={id}', subjectValues: { id: 'dev' }, validityDays: 30 });
  if (!issued.ok) throw new Error(issued.error.message);
  return issued.value.der;
}

let ca: CertificateAuthority;
let other: CertificateAuthority;
beforeAll(async () => {
  ca = await newCa('Revoking');
  other = await newCa('Other');
});

describe('revokeCertificate', () => {
  it('takes a certificate this CA issued, with reason and time', async () => {
    const der = await deviceCertificate(ca);
    const at = new Date('2031-05-06T07:08:09.999Z');
    const revocation = await revokeCertificate(ca, { certificate: der }, { reason: 'keyCompromise', at });
    const serial = parseCertificate(der);
    expect(revocation).toEqual({ ok: true, value: { serialNumber: serial.ok ? serial.value.serialNumber : '', reason: 'keyCompromise', revokedAt: new Date('2031-05-06T07:08:09Z') } });
  });

  it('refuses a certificate from another CA, a malformed serial and an unknown reason', async () => {
    const foreign = await revokeCertificate(ca, { certificate: await deviceCertificate(other) });
    expect(foreign.ok ? 'revoked' : foreign.error.code).toBe('crl-not-issued-by-ca');
    for (const serial of ['xyz', '', '00', '01'.repeat(21)]) {
      const bad = await revokeCertificate(ca, { serialNumber: serial });
      expect(bad.ok ? 'revoked' : bad.error.code).toBe('crl-bad-serial');
    }
    const reason = await revokeCertificate(ca, { serialNumber: '01' }, { reason: 'toString' as never });
    expect(reason.ok ? 'revoked' : reason.error.code).toBe('crl-bad-reason');
  });

  it('normalises serials the way certificates show them', () => {
    expect(normalizeSerial('00:8A:bc')).toEqual({ ok: true, value: '8abc' });
    expect(normalizeSerial('abc')).toEqual({ ok: true, value: '0abc' });
  });
});

describe('createCrl / parseCrl / verifyCrl', () => {
  it('signs a v2 CRL with the intermediate that lists every revocation and verifies against it', async () => {
    const first = await revokeCertificate(ca, { certificate: await deviceCertificate(ca) }, { reason: 'superseded', at: new Date('2030-01-01T00:00:00Z') });
    const second = await revokeCertificate(ca, { serialNumber: '7f00aa' }, { at: new Date('2030-01-02T00:00:00Z') });
    if (!first.ok || !second.ok) throw new Error('revocations failed');
    const thisUpdate = new Date('2030-02-01T00:00:00Z');
    const crl = await createCrl({ ca, revocations: [first.value, second.value], crlNumber: 7, thisUpdate });
    expect(crl.ok).toBe(true);
    if (!crl.ok) return;
    expect(crl.value.pem).toMatch(/^-----BEGIN X509 CRL-----\n/);
    expect(crl.value.nextUpdate).toEqual(new Date('2030-03-03T00:00:00Z'));
    const parsed = parseCrl(crl.value.pem);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const intermediate = parseCertificate(ca.intermediate.certificate);
    expect(parsed.value.issuer.text).toBe(intermediate.ok ? intermediate.value.subject.text : '');
    expect(parsed.value.crlNumber).toBe(7);
    expect(parsed.value.authorityKeyId).toBe(intermediate.ok ? intermediate.value.extensions.subjectKeyId : '');
    expect(parsed.value.thisUpdate).toEqual(thisUpdate);
    expect(parsed.value.entries).toEqual([
      { serialNumber: first.value.serialNumber, revokedAt: first.value.revokedAt, reason: 'superseded' },
      { serialNumber: '7f00aa', revokedAt: second.value.revokedAt },
    ]);
    expect((await verifyCrl(crl.value.der, ca.intermediate.certificate)).ok).toBe(true);
    const wrongIssuer = await verifyCrl(crl.value.der, ca.root.certificate);
    expect(wrongIssuer.ok ? 'verified' : wrongIssuer.error.code).toBe('crl-wrong-issuer');
    const tampered = await verifyCrl(flipByte(crl.value.der, -1), ca.intermediate.certificate);
    expect(tampered.ok ? 'verified' : tampered.error.code).toBe('crl-bad-signature');
    const otherCa = await verifyCrl(crl.value.der, other.intermediate.certificate);
    expect(otherCa.ok ? 'verified' : otherCa.error.code).toBe('crl-wrong-issuer');
  });

  it('refuses duplicate serials, a bad CRL number and nextUpdate before thisUpdate; caps nextUpdate at the issuer', async () => {
    const entry = { serialNumber: '01', revokedAt: new Date(), reason: 'unspecified' as const };
    const twice = await createCrl({ ca, revocations: [entry, { ...entry, serialNumber: '0001' }], crlNumber: 1 });
    expect(twice.ok ? 'made' : twice.error.code).toBe('crl-bad-serial');
    const zero = await createCrl({ ca, revocations: [], crlNumber: 0 });
    expect(zero.ok ? 'made' : zero.error.code).toBe('crl-bad-dates');
    const backwards = await createCrl({ ca, revocations: [], crlNumber: 1, thisUpdate: new Date('2030-01-02'), nextUpdate: new Date('2030-01-01') });
    expect(backwards.ok ? 'made' : backwards.error.code).toBe('crl-bad-dates');
    const far = await createCrl({ ca, revocations: [], crlNumber: 2, nextUpdate: new Date('2199-01-01') });
    const intermediate = parseCertificate(ca.intermediate.certificate);
    expect(far.ok && intermediate.ok && far.value.nextUpdate.getTime()).toBe(intermediate.ok ? intermediate.value.notAfter.getTime() : -1);
  });

  it('parseCrl refuses what is not a CRL', () => {
    const notCrl = parseCrl(ca.root.certificate);
    expect(notCrl.ok ? 'parsed' : notCrl.error.code).toBe('parse-malformed');
    const wrongLabel = parseCrl('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(wrongLabel.ok ? 'parsed' : wrongLabel.error.code).toBe('pem-wrong-label');
  });
});
