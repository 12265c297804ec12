/**
 * Certificate profiles as data, and the one function that builds a certificate from a profile.
 * docs/pki.md carries the same table for people. Extensions follow RFC 5280 §4.2.1: CA
 * certificates have basicConstraints CA:true (critical) and keyUsage keyCertSign+cRLSign
 * (critical); the intermediate allows no CA below it (pathLen 0); device certificates are
 * CA:false, digitalSignature (critical), clientAuth. SKI is RFC 5280 method 1 (SHA-1 of the key);
 * the AKI copies the issuer's SKI so chains built by other tools still link.
 */
import { bytesToHex } from '../util/bytes';
import { KEY_USAGE_NAMES, type KeyUsageName } from './parse';
import { OID_KP } from './oids';
import { bufferSource, randomBytes } from './webcrypto';
import { ECDSA_SHA256 } from './ecdsa';
import { x509 } from './x509';

export interface CertificateProfile {
  ca: boolean;
  /** basicConstraints pathLenConstraint; undefined = no limit. */
  pathLength?: number;
  keyUsage: readonly KeyUsageName[];
  extendedKeyUsage?: readonly (keyof typeof OID_KP)[];
}

export const PROFILES = {
  root: { ca: true, keyUsage: ['keyCertSign', 'cRLSign'] },
  intermediate: { ca: true, pathLength: 0, keyUsage: ['keyCertSign', 'cRLSign'] },
  device: { ca: false, keyUsage: ['digitalSignature'], extendedKeyUsage: ['clientAuth'] },
} as const satisfies Record<string, CertificateProfile>;

/** Validity of CA certificates, in years from creation. Device validity is the operator's choice, capped by the issuer. */
export const ROOT_VALIDITY_YEARS = 20;
export const INTERMEDIATE_VALIDITY_YEARS = 10;
/** Serial numbers: 16 CSPRNG bytes, positive (RFC 5280 §4.1.2.2 allows up to 20 octets; CA/B asks ≥ 64 random bits). */
export const SERIAL_LENGTH = 16;


export interface BuildCertificateInput {
  profile: CertificateProfile;
  /** The subject Name: DER, or @peculiar/x509's JSON form (see `subjectToJsonName`). */
  subject: Uint8Array | ConstructorParameters<typeof x509.Name>[0];
  /**
   * The issuer's subject Name DER, its SPKI DER and its subject key id (hex; computed from the
   * SPKI when the issuer certificate has none), or `self` for a root (which carries no AKI).
   */
  issuer: { name: Uint8Array; publicKey: Uint8Array; keyId?: string } | 'self';
  /** SubjectPublicKeyInfo DER of the certified key. */
  publicKey: Uint8Array;
  signingKey: CryptoKey;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** Signs a certificate for `profile`; returns its DER. */
export async function buildCertificate(input: BuildCertificateInput): Promise<Uint8Array> {
  const publicKey = new x509.PublicKey(bufferSource(input.publicKey));
  const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey);
  const { profile } = input;
  const extensions: InstanceType<typeof x509.Extension>[] = [
    new x509.BasicConstraintsExtension(profile.ca, profile.pathLength, true),
    // @peculiar/x509's KeyUsageFlags are 1 << (position in KEY_USAGE_NAMES).
    new x509.KeyUsagesExtension(profile.keyUsage.reduce((flags, usage) => flags | (1 << KEY_USAGE_NAMES.indexOf(usage)), 0), true),
  ];
  if (profile.extendedKeyUsage) extensions.push(new x509.ExtendedKeyUsageExtension(profile.extendedKeyUsage.map((purpose) => OID_KP[purpose]), false));
  extensions.push(ski);
  if (input.issuer !== 'self') {
    const keyId = input.issuer.keyId ?? (await x509.SubjectKeyIdentifierExtension.create(new x509.PublicKey(bufferSource(input.issuer.publicKey)))).keyId;
    extensions.push(new x509.AuthorityKeyIdentifierExtension(keyId, false));
  }
  const subject = input.subject instanceof Uint8Array ? new x509.Name(bufferSource(input.subject)) : new x509.Name(input.subject);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: input.serialNumber,
    subject,
    issuer: input.issuer === 'self' ? subject : new x509.Name(bufferSource(input.issuer.name)),
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    publicKey,
    signingKey: input.signingKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions,
  });
  return new Uint8Array(certificate.rawData);
}

/** 16 random bytes as hex, high bit clear (positive) and first byte non-zero (so DER keeps all 16). */
export function randomSerialNumber(): string {
  const bytes = randomBytes(SERIAL_LENGTH);
  bytes[0] = bytes[0]! & 0x7f;
  while (bytes[0] === 0) bytes[0] = randomBytes(1)[0]! & 0x7f;
  return bytesToHex(bytes);
}

/** Whole seconds: certificates carry no fractions, and comparisons with parsed dates must agree. */
export function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export function addYears(date: Date, years: number): Date {
  const out = new Date(date.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
}
