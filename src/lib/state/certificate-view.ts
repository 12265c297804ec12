/**
 * A certificate as the pages show it: who it names and who signed it, when it is valid, its
 * SHA-256 fingerprint (what `openssl x509 -fingerprint -sha256` prints) and its PEM for download.
 * Made once from DER, so every page shows the same strings for the same certificate.
 */
import { certificateFingerprint, encodePem, parseCertificate, type ParseError } from '../pki';
import { type Result, ok } from '../smp/result';

export interface CertificateView {
  /** What the certificate is in its chain: `Root CA`, `Issuing CA`, `Device`, … */
  role: string;
  subject: string;
  issuer: string;
  /** Lowercase hex, as openssl shows it. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
  isCa: boolean;
  der: Uint8Array;
  pem: string;
}

/** @example const view = await describeCertificate(ca.root.certificate, 'Root CA'); if (view.ok) view.value.fingerprint */
export async function describeCertificate(der: Uint8Array, role: string): Promise<Result<CertificateView, ParseError>> {
  const parsed = parseCertificate(der);
  if (!parsed.ok) return parsed;
  const certificate = parsed.value;
  return ok({
    role,
    subject: certificate.subject.text,
    issuer: certificate.issuer.text,
    serialNumber: certificate.serialNumber,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    fingerprint: await certificateFingerprint(certificate.der),
    isCa: certificate.extensions.basicConstraints?.ca === true,
    der: certificate.der,
    pem: encodePem('CERTIFICATE', certificate.der),
  });
}

/** A file-name-safe slug: `Acme Line 1 Root CA` → `acme-line-1-root-ca`. */
export function fileSlug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'certificate'
  );
}

