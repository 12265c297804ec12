/**
 * Device certificates from the CA's intermediate. The device's key arrives either in a CSR (whose
 * self-signature is checked here) or as a bare SEC1 public key when the board cannot build a CSR;
 * then the caller must have checked proof of possession (the board signed a fresh challenge) and
 * says so with `proofOfPossession: 'checked-by-caller'`. The result records which path was used,
 * for the audit log.
 *
 * The subject comes from the operator's template, never from the CSR. Serial numbers are 16
 * CSPRNG bytes; notAfter is capped at the issuer's notAfter; issuing from an intermediate that is
 * not valid now is refused.
 */
import { type Result, ok } from '../smp/result';
import { type CertificateAuthority, issuerChain } from './authority';
import { isP256Point } from './ecdsa';
import { fail, type PkiError } from './errors';
import { renderSubject, type SubjectErrorCode, subjectToJsonName } from './name';
import { certificateFingerprint, parseCertificate, spkiFingerprint, spkiFromP256Point } from './parse';
import { encodePem } from './pem';
import { buildCertificate, PROFILES, randomSerialNumber, wholeSeconds } from './profile';
import { type CsrErrorCode, verifyCsr } from './verify';

/** Longest device validity accepted (100 years); the issuer's notAfter usually caps it far sooner. */
export const MAX_DEVICE_VALIDITY_DAYS = 36_500;
const DAY_MS = 86_400_000;

export type DeviceKeySource =
  | { csr: Uint8Array | string }
  | { publicKey: Uint8Array; proofOfPossession: 'checked-by-caller' };

export type IssueDeviceCertificateInput = DeviceKeySource & {
  ca: CertificateAuthority;
  /** e.g. `CN={deviceId}, serialNumber={boardSerial}, O={org}`; see `renderSubject`. */
  subjectTemplate: string;
  subjectValues: Readonly<Record<string, string | undefined>>;
  validityDays: number;
  now?: Date;
};

export interface IssuedCertificate {
  der: Uint8Array;
  pem: string;
  /** Lowercase hex. */
  serialNumber: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** notAfter was cut back to the issuer's notAfter. */
  truncated: boolean;
  /** SHA-256 of the certificate DER, hex. */
  fingerprint: string;
  /** SHA-256 of the device's SubjectPublicKeyInfo, hex (the key fingerprint the audit log records). */
  spkiFingerprint: string;
  keySource: 'csr' | 'public-key';
  /** The issuer chain to store with it on the device (intermediate first, root excluded). */
  chain: Uint8Array[];
}

export type IssueErrorCode = SubjectErrorCode | CsrErrorCode | 'issue-bad-public-key' | 'issue-bad-validity' | 'issue-issuer-not-valid';
export type IssueError = PkiError<IssueErrorCode>;

/**
 * @example const issued = await issueDeviceCertificate({ ca, csr: csrDer, subjectTemplate: 'CN={deviceId}',
 *   subjectValues: { deviceId: 'dev-1' }, validityDays: 3650 });
 */
export async function issueDeviceCertificate(input: IssueDeviceCertificateInput): Promise<Result<IssuedCertificate, IssueError>> {
  const subject = renderSubject(input.subjectTemplate, input.subjectValues);
  if (!subject.ok) return subject;
  if (!Number.isInteger(input.validityDays) || input.validityDays < 1 || input.validityDays > MAX_DEVICE_VALIDITY_DAYS) {
    return fail('issue-bad-validity', `validityDays must be a whole number from 1 to ${MAX_DEVICE_VALIDITY_DAYS}, got ${input.validityDays}`);
  }

  let spki: Uint8Array;
  if ('csr' in input) {
    const csr = await verifyCsr(input.csr);
    if (!csr.ok) return csr;
    spki = csr.value.publicKey.spki;
  } else {
    if (input.proofOfPossession !== 'checked-by-caller') return fail('issue-bad-public-key', 'publicKey: a bare public key needs proof of possession checked by the caller');
    if (!(await isP256Point(input.publicKey))) return fail('issue-bad-public-key', `publicKey: not a 65-byte uncompressed point on P-256 (${input.publicKey.length} bytes)`);
    spki = spkiFromP256Point(input.publicKey);
  }

  const issuer = parseCertificate(input.ca.intermediate.certificate);
  if (!issuer.ok) return fail('issue-issuer-not-valid', `the CA's intermediate certificate does not parse: ${issuer.error.message}`);
  const now = wholeSeconds(input.now ?? new Date());
  const { notBefore: issuerFrom, notAfter: issuerUntil } = issuer.value;
  if (now < issuerFrom || now > issuerUntil) {
    return fail('issue-issuer-not-valid', `the intermediate '${issuer.value.subject.text}' is valid from ${issuerFrom.toISOString()} to ${issuerUntil.toISOString()}, not at ${now.toISOString()}`);
  }
  const requestedUntil = new Date(now.getTime() + input.validityDays * DAY_MS);
  const truncated = requestedUntil > issuerUntil;
  const notAfter = truncated ? issuerUntil : requestedUntil;

  const serialNumber = randomSerialNumber();
  const der = await buildCertificate({
    profile: PROFILES.device,
    subject: subjectToJsonName(subject.value),
    issuer: { name: issuer.value.subject.der, publicKey: issuer.value.publicKey.spki, keyId: issuer.value.extensions.subjectKeyId },
    publicKey: spki,
    signingKey: input.ca.intermediate.privateKey,
    serialNumber,
    notBefore: now,
    notAfter,
  });
  return ok({
    der,
    pem: encodePem('CERTIFICATE', der),
    serialNumber,
    subject: subject.value.text,
    notBefore: now,
    notAfter,
    truncated,
    fingerprint: await certificateFingerprint(der),
    spkiFingerprint: await spkiFingerprint(spki),
    keySource: 'csr' in input ? 'csr' : 'public-key',
    chain: issuerChain(input.ca),
  });
}
