/**
 * Object identifiers the PKI layer reads or writes, each with the document that assigns it.
 */

/** Algorithms: RFC 5480 §2.1.1 (ecPublicKey, secp256r1) and RFC 5758 §3.2 (ecdsa-with-SHA256). */
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_P256 = '1.2.840.10045.3.1.7';
export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** Certificate and CRL extensions, RFC 5280 §4.2.1 and §5.2. */
export const OID_EXT = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
  crlReason: '2.5.29.21',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  policyConstraints: '2.5.29.36',
  extKeyUsage: '2.5.29.37',
  inhibitAnyPolicy: '2.5.29.54',
} as const;

/** Extensions whose meaning `verifyChain` enforces or that carry no constraint; any other critical one fails a chain. */
export const HANDLED_EXTENSIONS: ReadonlySet<string> = new Set([
  OID_EXT.subjectKeyIdentifier,
  OID_EXT.keyUsage,
  OID_EXT.subjectAltName,
  OID_EXT.basicConstraints,
  OID_EXT.authorityKeyIdentifier,
  OID_EXT.extKeyUsage,
]);

/** Extended key usage purposes, RFC 5280 §4.2.1.12. */
export const OID_KP = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  OCSPSigning: '1.3.6.1.5.5.7.3.9',
} as const;
