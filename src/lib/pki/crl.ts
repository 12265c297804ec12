/**
 * Revocation: a device certificate (or a bare serial) becomes a `Revocation` entry, and the
 * intermediate signs a CRL (RFC 5280 §5, v2) listing them, with the CRL number and authority key
 * identifier extensions, downloadable as DER and PEM. `parseCrl`/`verifyCrl` read one back (ours
 * or an external CA's). Entries are kept by `store.ts`; CRL numbers come from
 * `store.nextCrlNumber`, so they only ever grow.
 */
import { bytesToHex, hexToBytes } from '../util/bytes';
import { type Result, ok } from '../smp/result';
import { type CertificateAuthority } from './authority';
import { contentBytes, DER_TAG, derIntegerFromNumber, readChildren, readOnly } from './der';
import { fail, type PkiError } from './errors';
import { OID_EXT } from './oids';
import { type CertificateInput, type ParsedCertificate, type ParsedName, parseCertificate, parseName, parseOutside, readSigned, serialHex, type ParseErrorCode, type SignedStructure, toParsedCertificate } from './parse';
import { encodePem } from './pem';
import { wholeSeconds } from './profile';
import { ECDSA_SHA256 } from './ecdsa';
import { checkSignature, sameName } from './verify';
import { bufferSource } from './webcrypto';
import { x509 } from './x509';

/** RFC 5280 §5.3.1 reason codes that apply to device certificates (CA and attribute-authority reasons left out). */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/** Default time until the next CRL is due. */
export const CRL_VALIDITY_DAYS = 30;
/** RFC 5280 §4.1.2.2: serial numbers are at most 20 octets. */
const MAX_SERIAL_BYTES = 20;
const DAY_MS = 86_400_000;

export interface Revocation {
  /** Lowercase hex of the positive serial, as in `ParsedCertificate.serialNumber`. */
  serialNumber: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface ParsedCrl extends SignedStructure {
  issuer: ParsedName;
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: number;
  authorityKeyId?: string;
  entries: { serialNumber: string; revokedAt: Date; reason?: string }[];
}

export interface CreatedCrl {
  der: Uint8Array;
  pem: string;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
}

export type CrlErrorCode =
  | ParseErrorCode
  | 'crl-bad-serial'
  | 'crl-bad-reason'
  | 'crl-not-issued-by-ca'
  | 'crl-bad-dates'
  | 'crl-issuer-cannot-sign'
  | 'crl-wrong-issuer'
  | 'crl-bad-signature';
export type CrlError = PkiError<CrlErrorCode>;

export type RevokeTarget = { certificate: Uint8Array | string } | { serialNumber: string };

/**
 * A revocation entry for a certificate this CA issued (checked: issuer name, key id and
 * signature), or for a bare serial number (only its form is checked).
 * @example const revocation = await revokeCertificate(ca, { certificate: deviceDer }, { reason: 'keyCompromise' });
 *   if (revocation.ok) await store.addRevocation(ca.id, revocation.value);
 */
export async function revokeCertificate(
  ca: CertificateAuthority,
  target: RevokeTarget,
  options: { reason?: RevocationReason; at?: Date } = {},
): Promise<Result<Revocation, CrlError>> {
  const revokedAt = wholeSeconds(options.at ?? new Date());
  const reason = options.reason ?? 'unspecified';
  if (!Object.prototype.hasOwnProperty.call(REVOCATION_REASONS, reason)) return fail('crl-bad-reason', `revocation reason ${String(reason)} is not one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
  if ('serialNumber' in target) {
    const serialNumber = normalizeSerial(target.serialNumber);
    if (!serialNumber.ok) return serialNumber;
    return ok({ serialNumber: serialNumber.value, revokedAt, reason });
  }
  const certificate = parseCertificate(target.certificate);
  if (!certificate.ok) return certificate;
  const issuer = parseCertificate(ca.intermediate.certificate);
  if (!issuer.ok) return issuer;
  const issued = await issuedBy(certificate.value, issuer.value);
  if (!issued) return fail('crl-not-issued-by-ca', `certificate '${certificate.value.subject.text}' (serial ${certificate.value.serialNumber}) was not issued by '${issuer.value.subject.text}'`);
  return ok({ serialNumber: certificate.value.serialNumber, revokedAt, reason });
}

/**
 * Signs a CRL with the CA's intermediate. `crlNumber` must grow with every CRL (take it from
 * `store.nextCrlNumber`); nextUpdate defaults to 30 days and never passes the issuer's notAfter.
 */
export async function createCrl(input: {
  ca: CertificateAuthority;
  revocations: readonly Revocation[];
  crlNumber: number;
  thisUpdate?: Date;
  nextUpdate?: Date;
}): Promise<Result<CreatedCrl, CrlError>> {
  const issuer = parseCertificate(input.ca.intermediate.certificate);
  if (!issuer.ok) return issuer;
  const usage = issuer.value.extensions.keyUsage;
  if (usage && !usage.usages.includes('cRLSign')) return fail('crl-issuer-cannot-sign', `'${issuer.value.subject.text}' may not sign CRLs (keyUsage lacks cRLSign)`);
  if (!Number.isSafeInteger(input.crlNumber) || input.crlNumber < 1) return fail('crl-bad-dates', `CRL number must be a positive integer, got ${input.crlNumber}`);
  const thisUpdate = wholeSeconds(input.thisUpdate ?? new Date());
  const wanted = wholeSeconds(input.nextUpdate ?? new Date(thisUpdate.getTime() + CRL_VALIDITY_DAYS * DAY_MS));
  const nextUpdate = wanted > issuer.value.notAfter ? issuer.value.notAfter : wanted;
  if (nextUpdate <= thisUpdate) return fail('crl-bad-dates', `nextUpdate ${nextUpdate.toISOString()} is not after thisUpdate ${thisUpdate.toISOString()}`);
  const serials = new Set<string>();
  for (const revocation of input.revocations) {
    const serial = normalizeSerial(revocation.serialNumber);
    if (!serial.ok) return serial;
    if (serials.has(serial.value)) return fail('crl-bad-serial', `serial ${serial.value} is listed twice`);
    serials.add(serial.value);
  }
  const issuerKeyId = issuer.value.extensions.subjectKeyId ?? (await x509.SubjectKeyIdentifierExtension.create(new x509.PublicKey(bufferSource(issuer.value.publicKey.spki)))).keyId;
  const crl = await x509.X509CrlGenerator.create({
    issuer: new x509.Name(bufferSource(issuer.value.subject.der)),
    thisUpdate,
    nextUpdate,
    signingAlgorithm: ECDSA_SHA256,
    signingKey: input.ca.intermediate.privateKey,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(issuerKeyId, false),
      new x509.Extension(OID_EXT.crlNumber, false, bufferSource(derIntegerFromNumber(input.crlNumber))),
    ],
    entries: input.revocations.map((revocation) => ({
      serialNumber: revocation.serialNumber,
      revocationDate: wholeSeconds(revocation.revokedAt),
      reason: REVOCATION_REASONS[revocation.reason],
    })),
  });
  const der = new Uint8Array(crl.rawData);
  return ok({ der, pem: encodePem('X509 CRL', der), crlNumber: input.crlNumber, thisUpdate, nextUpdate });
}

/** Reads a CRL from DER or PEM (`X509 CRL`). Never throws. */
export function parseCrl(input: Uint8Array | string): Result<ParsedCrl, CrlError> {
  return parseOutside(input, 'X509 CRL', 'CRL', parseCrlDer);
}

/** Checks a CRL was signed by `issuer` (names, key ids, cRLSign, ECDSA P-256 signature). */
export async function verifyCrl(crlInput: Uint8Array | string | ParsedCrl, issuerInput: CertificateInput): Promise<Result<ParsedCrl, CrlError>> {
  const crl = typeof crlInput === 'object' && !(crlInput instanceof Uint8Array) ? ok(crlInput) : parseCrl(crlInput);
  if (!crl.ok) return crl;
  const issuer = toParsedCertificate(issuerInput);
  if (!issuer.ok) return issuer;
  const { subject, extensions } = issuer.value;
  if (!sameName(crl.value.issuer, subject)) return fail('crl-wrong-issuer', `the CRL is issued by '${crl.value.issuer.text}', not '${subject.text}'`);
  if (crl.value.authorityKeyId && extensions.subjectKeyId && crl.value.authorityKeyId !== extensions.subjectKeyId) {
    return fail('crl-wrong-issuer', `the CRL's authority key id ${crl.value.authorityKeyId} is not '${subject.text}''s key id ${extensions.subjectKeyId}`);
  }
  if (extensions.keyUsage && !extensions.keyUsage.usages.includes('cRLSign')) return fail('crl-issuer-cannot-sign', `'${subject.text}' may not sign CRLs (keyUsage lacks cRLSign)`);
  const signature = await checkSignature(crl.value, issuer.value.publicKey);
  if (!signature.ok) return fail('crl-bad-signature', `CRL signature by '${subject.text}': ${signature.error.message}`);
  return crl;
}

/** Lowercase hex of a positive serial, at most 20 octets; an odd number of digits gets a leading zero. */
export function normalizeSerial(text: string): Result<string, CrlError> {
  const clean = text.replace(/[\s:]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(clean)) return fail('crl-bad-serial', `serial "${text.slice(0, 60)}" is not hexadecimal`);
  let bytes = hexToBytes(clean.length % 2 ? `0${clean}` : clean);
  while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
  if (bytes.every((byte) => byte === 0)) return fail('crl-bad-serial', 'serial 0 is not a valid certificate serial number');
  if (bytes.length > MAX_SERIAL_BYTES) return fail('crl-bad-serial', `serial ${clean} is longer than ${MAX_SERIAL_BYTES} octets`);
  return ok(bytesToHex(bytes));
}

async function issuedBy(certificate: ParsedCertificate, issuer: ParsedCertificate): Promise<boolean> {
  if (!sameName(certificate.issuer, issuer.subject)) return false;
  const aki = certificate.extensions.authorityKeyId;
  const ski = issuer.extensions.subjectKeyId;
  if (aki && ski && aki !== ski) return false;
  return (await checkSignature(certificate, issuer.publicKey)).ok;
}

function parseCrlDer(der: Uint8Array): Result<ParsedCrl, CrlError> {
  const signed = readSigned(der, 'CRL');
  if (!signed.ok) return signed;
  const fields = readChildren(der, signed.value.tbsTlv);
  if (!fields.ok) return fail('parse-malformed', `CRL: ${fields.error.message}`);
  // TBSCertList (RFC 5280 §5.1): version?, signature, issuer, thisUpdate, nextUpdate?, revokedCertificates?, [0] crlExtensions?
  const list = fields.value[0]?.tag === DER_TAG.INTEGER ? fields.value.slice(1) : fields.value;
  const issuerTlv = list[1];
  if (list[0]?.tag !== DER_TAG.SEQUENCE || issuerTlv?.tag !== DER_TAG.SEQUENCE) return fail('parse-malformed', 'CRL: the to-be-signed part is missing its issuer');
  const issuer = parseName(der.subarray(issuerTlv.start, issuerTlv.end));
  if (!issuer.ok) return fail('parse-malformed', `CRL issuer: ${issuer.error.message}`);
  const crl = new x509.X509Crl(bufferSource(der));
  const numberExtension = crl.getExtension(OID_EXT.crlNumber);
  const akiExtension = crl.getExtension(x509.AuthorityKeyIdentifierExtension);
  const crlNumber = numberExtension ? readSmallInteger(new Uint8Array(numberExtension.value)) : undefined;
  const { tbsTlv: _, ...signedFields } = signed.value;
  return ok({
    ...signedFields,
    issuer: issuer.value,
    thisUpdate: crl.thisUpdate,
    ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
    ...(crlNumber !== undefined ? { crlNumber } : {}),
    ...(akiExtension?.keyId ? { authorityKeyId: akiExtension.keyId.toLowerCase() } : {}),
    entries: crl.entries.map((entry) => ({
      serialNumber: serialHex(hexToBytes(entry.serialNumber.length % 2 ? `0${entry.serialNumber}` : entry.serialNumber)),
      revokedAt: entry.revocationDate,
      ...(entry.reason !== undefined ? { reason: x509.X509CrlReason[entry.reason] } : {}),
    })),
  });
}

function readSmallInteger(der: Uint8Array): number | undefined {
  const integer = readOnly(der, DER_TAG.INTEGER, 'CRL number');
  if (!integer.ok) return undefined;
  const content = contentBytes(der, integer.value);
  if (content.length > 6 || content.length === 0 || content[0]! & 0x80) return undefined;
  return content.reduce((value, byte) => value * 256 + byte, 0);
}
