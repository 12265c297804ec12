/**
 * Certificates, CSRs and SubjectPublicKeyInfo from DER or PEM into plain objects. These are
 * parsers of outside bytes: they never throw. The outer structure (to-be-signed bytes, signature,
 * names, public key) is walked with our strict DER reader, so signatures are checked over exactly
 * the bytes that were signed and BER or trailing bytes are refused; @peculiar/x509 decodes dates,
 * serial numbers and extensions, and its exceptions come back as `parse-malformed`.
 */
import { bytesToHex, concatBytes, equalBytes, hexToBytes } from '../util/bytes';
import { type Result, ok } from '../smp/result';
import { bitStringBytes, contentBytes, decodeOid, DER_TAG, readChildren, readOnly, readTlv, type Tlv, tlvBytes } from './der';
import { describeCaught, fail, type PkiError } from './errors';
import { attributeDisplayName, formatAttributes } from './name';
import { HANDLED_EXTENSIONS, OID_EC_PUBLIC_KEY, OID_KP, OID_P256 } from './oids';
import { type PemErrorCode, type PemLabel, toDer } from './pem';
import { bufferSource, sha256Hex } from './webcrypto';
import { x509 } from './x509';

export type ParseErrorCode = PemErrorCode | 'parse-malformed';
export type ParseError = PkiError<ParseErrorCode>;

/** Bytes that were signed, and the signature over them, as found in a certificate, CSR or CRL. */
export interface SignedStructure {
  der: Uint8Array;
  tbs: Uint8Array;
  /** Dotted OID of the outer signature algorithm. */
  signatureAlgorithm: string;
  /** The BIT STRING content: a DER ECDSA-Sig-Value for ECDSA. */
  signature: Uint8Array;
}

export interface ParsedName {
  /** The Name exactly as encoded, for byte-wise issuer/subject chaining. */
  der: Uint8Array;
  /** `CN=dev-1, serialNumber=A1, O=Acme`, in encoding order. */
  text: string;
  attributes: { oid: string; type: string; value: string }[];
}

export interface PublicKeyInfo {
  /** The whole SubjectPublicKeyInfo DER; its SHA-256 is the key's fingerprint. */
  spki: Uint8Array;
  /** `P-256` for an id-ecPublicKey on secp256r1 with an uncompressed point; anything else is `unsupported`. */
  algorithm: 'P-256' | 'unsupported';
  algorithmOid: string;
  parametersOid?: string;
  /** 65-byte SEC1 uncompressed point, for P-256 keys. */
  point?: Uint8Array;
}

/** KeyUsage bits in RFC 5280 §4.2.1.3 order (digitalSignature is bit 0). */
export const KEY_USAGE_NAMES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageName = (typeof KEY_USAGE_NAMES)[number];

export interface CertificateExtensions {
  basicConstraints?: { ca: boolean; pathLength?: number; critical: boolean };
  keyUsage?: { usages: KeyUsageName[]; critical: boolean };
  /** Purpose names (`clientAuth`) or dotted OIDs for purposes without a name here. */
  extendedKeyUsage?: { usages: string[]; critical: boolean };
  /** Hex. */
  subjectKeyId?: string;
  /** Hex (the keyIdentifier field; issuer+serial forms are not used for chaining). */
  authorityKeyId?: string;
  /** OIDs of critical extensions whose meaning Imprint does not enforce. */
  unhandledCritical: string[];
}

export interface ParsedCertificate extends SignedStructure {
  kind: 'certificate';
  /** 1, 2 or 3. */
  version: number;
  /** Lowercase hex of the positive value (the DER sign byte 00 dropped), as OpenSSL shows it. */
  serialNumber: string;
  issuer: ParsedName;
  subject: ParsedName;
  notBefore: Date;
  notAfter: Date;
  publicKey: PublicKeyInfo;
  extensions: CertificateExtensions;
  /** Subject and issuer are the same name (a root, or a CA re-keying itself). */
  selfIssued: boolean;
}

export interface ParsedCsr extends SignedStructure {
  kind: 'csr';
  subject: ParsedName;
  publicKey: PublicKeyInfo;
  /** Extensions asked for in the extensionRequest attribute; the CA decides what it grants. */
  requestedExtensions: CertificateExtensions;
}

/** RFC 5480 SubjectPublicKeyInfo prefix for an uncompressed P-256 point (algorithm id-ecPublicKey, curve secp256r1). */
const P256_SPKI_PREFIX = hexToBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200');

/** A certificate as DER, PEM, or already parsed. */
export type CertificateInput = Uint8Array | string | ParsedCertificate;

/** Parses `input` unless it already is a parsed certificate. */
export function toParsedCertificate(input: CertificateInput): Result<ParsedCertificate, ParseError> {
  return typeof input === 'object' && !(input instanceof Uint8Array) ? ok(input) : parseCertificate(input);
}

/**
 * @example const parsed = parseCertificate(pemText);
 *   if (parsed.ok) console.log(parsed.value.subject.text, parsed.value.notAfter);
 */
export function parseCertificate(input: Uint8Array | string): Result<ParsedCertificate, ParseError> {
  return parseOutside(input, 'CERTIFICATE', 'certificate', parseCertificateDer);
}

/** @example const csr = parseCsr(csrPemFromBoard); if (csr.ok) csr.value.publicKey.point; */
export function parseCsr(input: Uint8Array | string): Result<ParsedCsr, ParseError> {
  return parseOutside(input, 'CERTIFICATE REQUEST', 'CSR', parseCsrDer);
}

/**
 * DER or PEM (`label`) through `parse`, with anything @peculiar/x509 throws turned into
 * `parse-malformed`: the one place the parsers of outside bytes are made throw-proof.
 */
export function parseOutside<T, E extends PkiError<string>>(
  input: Uint8Array | string,
  label: PemLabel,
  what: string,
  parse: (der: Uint8Array) => Result<T, E | ParseError>,
): Result<T, E | ParseError> {
  const der = toDer(input, label);
  if (!der.ok) return der;
  try {
    // A copy: parsed objects (and CAs stored from them) must not share, or keep alive, the caller's buffer.
    return parse(der.value.slice());
  } catch (caught) {
    return fail('parse-malformed', `${what}: ${describeCaught(caught)}`);
  }
}

/** @example const key = parseSpki(publicKeyPem); if (key.ok && key.value.point) use(key.value.point); */
export function parseSpki(input: Uint8Array | string): Result<PublicKeyInfo, ParseError> {
  return parseOutside(input, 'PUBLIC KEY', 'public key', (der) => {
    const tlv = readOnly(der, DER_TAG.SEQUENCE, 'SubjectPublicKeyInfo');
    return tlv.ok ? readSpki(der, tlv.value) : fail('parse-malformed', tlv.error.message);
  });
}

/** A DER Name (e.g. a CRL's issuer) into the same shape certificates use. */
export function parseName(der: Uint8Array): Result<ParsedName, ParseError> {
  const tlv = readOnly(der, DER_TAG.SEQUENCE, 'Name');
  if (!tlv.ok) return fail('parse-malformed', tlv.error.message);
  return readName(der, tlv.value, 'name');
}

/** SubjectPublicKeyInfo DER for a 65-byte SEC1 P-256 point (not checked to be on the curve). */
export function spkiFromP256Point(point: Uint8Array): Uint8Array {
  return concatBytes(P256_SPKI_PREFIX, point);
}

/** RFC 8410 SubjectPublicKeyInfo prefix for a raw 32-byte X25519 public key (algorithm id-X25519, 1.3.101.110). */
const X25519_SPKI_PREFIX = hexToBytes('302a300506032b656e032100');

/** SubjectPublicKeyInfo DER for a raw 32-byte X25519 public key, so X25519 keys get the same fingerprint form as P-256 ones. */
export function spkiFromX25519(publicKey: Uint8Array): Uint8Array {
  return concatBytes(X25519_SPKI_PREFIX, publicKey);
}

/**
 * Cuts DER certificates stored back to back (a board's chain: its own certificate first) into
 * one DER value each, without parsing them. Refuses anything but whole DER SEQUENCEs.
 * @example const parts = splitCertificateChain(chainFromBoard); if (parts.ok) verifyChain({ chain: parts.value, root });
 */
export function splitCertificateChain(chain: Uint8Array): Result<Uint8Array[], ParseError> {
  const parts: Uint8Array[] = [];
  for (let offset = 0; offset < chain.length; ) {
    const tlv = readTlv(chain, offset);
    if (!tlv.ok) return fail('parse-malformed', `certificate chain: ${tlv.error.message}`);
    if (tlv.value.tag !== DER_TAG.SEQUENCE) return fail('parse-malformed', `certificate chain: the value at offset ${offset} is not a SEQUENCE`);
    parts.push(chain.slice(offset, tlv.value.end));
    offset = tlv.value.end;
  }
  if (parts.length === 0) return fail('parse-malformed', 'certificate chain: empty');
  return ok(parts);
}

/** SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex: how devices are matched and audited. */
export function spkiFingerprint(spkiDer: Uint8Array): Promise<string> {
  return sha256Hex(spkiDer);
}

/** SHA-256 of the certificate DER, lowercase hex (what `openssl x509 -fingerprint -sha256` shows). */
export function certificateFingerprint(certificateDer: Uint8Array): Promise<string> {
  return sha256Hex(certificateDer);
}

/** `SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }`, shared by certificates, CSRs and CRLs. */
export function readSigned(der: Uint8Array, what: string): Result<SignedStructure & { tbsTlv: Tlv }, ParseError> {
  const outer = readOnly(der, DER_TAG.SEQUENCE, what);
  if (!outer.ok) return fail('parse-malformed', outer.error.message);
  const parts = readChildren(der, outer.value);
  if (!parts.ok) return fail('parse-malformed', `${what}: ${parts.error.message}`);
  const [tbs, algorithm, signature] = parts.value;
  if (parts.value.length !== 3 || tbs?.tag !== DER_TAG.SEQUENCE || algorithm?.tag !== DER_TAG.SEQUENCE || !signature) {
    return fail('parse-malformed', `${what}: expected SEQUENCE { to-be-signed, algorithm, signature }`);
  }
  const algorithmOid = readAlgorithmOid(der, algorithm);
  if (!algorithmOid) return fail('parse-malformed', `${what}: unreadable signature algorithm`);
  const signatureBytes = bitStringBytes(der, signature, `${what} signature`);
  if (!signatureBytes.ok) return fail('parse-malformed', signatureBytes.error.message);
  return ok({ der, tbs: tlvBytes(der, tbs), tbsTlv: tbs, signatureAlgorithm: algorithmOid, signature: signatureBytes.value });
}

function parseCertificateDer(der: Uint8Array): Result<ParsedCertificate, ParseError> {
  const signed = readSigned(der, 'certificate');
  if (!signed.ok) return signed;
  const fields = readChildren(der, signed.value.tbsTlv);
  if (!fields.ok) return fail('parse-malformed', `certificate: ${fields.error.message}`);
  // TBSCertificate (RFC 5280 §4.1): [0] version?, serial, signature, issuer, validity, subject, spki, [1]?, [2]?, [3] extensions?
  const explicitVersion = fields.value[0]?.tag === DER_TAG.EXPLICIT_0 ? fields.value[0] : undefined;
  const list = explicitVersion ? fields.value.slice(1) : fields.value;
  const [serial, innerAlgorithm, issuer, validity, subject, spki] = list;
  if (!serial || serial.tag !== DER_TAG.INTEGER || innerAlgorithm?.tag !== DER_TAG.SEQUENCE || !issuer || !validity || !subject || !spki) {
    return fail('parse-malformed', 'certificate: the to-be-signed part is missing fields');
  }
  if (readAlgorithmOid(der, innerAlgorithm) !== signed.value.signatureAlgorithm) {
    return fail('parse-malformed', 'certificate: the inner and outer signature algorithms differ');
  }
  const issuerName = readName(der, issuer, 'issuer');
  if (!issuerName.ok) return issuerName;
  const subjectName = readName(der, subject, 'subject');
  if (!subjectName.ok) return subjectName;
  const publicKey = readSpki(der, spki);
  if (!publicKey.ok) return publicKey;
  const certificate = new x509.X509Certificate(bufferSource(der));
  const extensions = readExtensions(certificate.extensions, 'certificate');
  if (!extensions.ok) return extensions;
  const { tbsTlv: _, ...signedFields } = signed.value;
  return ok({
    kind: 'certificate',
    ...signedFields,
    version: explicitVersion ? readVersion(der, explicitVersion) : 1,
    serialNumber: serialHex(contentBytes(der, serial)),
    issuer: issuerName.value,
    subject: subjectName.value,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    publicKey: publicKey.value,
    extensions: extensions.value,
    selfIssued: equalBytes(issuerName.value.der, subjectName.value.der),
  });
}

function parseCsrDer(der: Uint8Array): Result<ParsedCsr, ParseError> {
  const signed = readSigned(der, 'CSR');
  if (!signed.ok) return signed;
  const fields = readChildren(der, signed.value.tbsTlv);
  if (!fields.ok) return fail('parse-malformed', `CSR: ${fields.error.message}`);
  // CertificationRequestInfo (RFC 2986 §4.1): version, subject, subjectPKInfo, [0] attributes
  const [version, subject, spki] = fields.value;
  if (version?.tag !== DER_TAG.INTEGER || !subject || !spki) return fail('parse-malformed', 'CSR: the request info is missing fields');
  const subjectName = readName(der, subject, 'subject');
  if (!subjectName.ok) return subjectName;
  const publicKey = readSpki(der, spki);
  if (!publicKey.ok) return publicKey;
  const request = new x509.Pkcs10CertificateRequest(bufferSource(der));
  const extensions = readExtensions(request.extensions, 'CSR');
  if (!extensions.ok) return extensions;
  const { tbsTlv: _, ...signedFields } = signed.value;
  return ok({ kind: 'csr', ...signedFields, subject: subjectName.value, publicKey: publicKey.value, requestedExtensions: extensions.value });
}

/** The INTEGER content as hex, without the 00 that only marks a high first byte as positive. */
export function serialHex(content: Uint8Array): string {
  return bytesToHex(content.length > 1 && content[0] === 0 && content[1]! >= 0x80 ? content.subarray(1) : content);
}

function readVersion(der: Uint8Array, explicit: Tlv): number {
  const inner = readChildren(der, explicit);
  const integer = inner.ok ? inner.value[0] : undefined;
  const content = integer ? contentBytes(der, integer) : new Uint8Array();
  return content.length === 1 ? content[0]! + 1 : 0;
}

function readAlgorithmOid(der: Uint8Array, algorithm: Tlv): string | null {
  const parts = readChildren(der, algorithm);
  const oid = parts.ok ? parts.value[0] : undefined;
  return oid?.tag === DER_TAG.OID ? decodeOid(contentBytes(der, oid)) : null;
}

function readSpki(der: Uint8Array, spki: Tlv): Result<PublicKeyInfo, ParseError> {
  const parts = readChildren(der, spki);
  if (!parts.ok) return fail('parse-malformed', `public key: ${parts.error.message}`);
  const [algorithm, key] = parts.value;
  if (spki.tag !== DER_TAG.SEQUENCE || parts.value.length !== 2 || algorithm?.tag !== DER_TAG.SEQUENCE || !key) {
    return fail('parse-malformed', 'public key: expected SEQUENCE { algorithm, subjectPublicKey }');
  }
  const algorithmParts = readChildren(der, algorithm);
  const [oid, parameters] = algorithmParts.ok ? algorithmParts.value : [];
  const algorithmOid = oid?.tag === DER_TAG.OID ? decodeOid(contentBytes(der, oid)) : null;
  if (!algorithmOid) return fail('parse-malformed', 'public key: unreadable algorithm');
  const parametersOid = parameters?.tag === DER_TAG.OID ? (decodeOid(contentBytes(der, parameters)) ?? undefined) : undefined;
  const bits = bitStringBytes(der, key, 'public key');
  if (!bits.ok) return fail('parse-malformed', bits.error.message);
  const info: PublicKeyInfo = { spki: tlvBytes(der, spki), algorithm: 'unsupported', algorithmOid, ...(parametersOid ? { parametersOid } : {}) };
  if (algorithmOid === OID_EC_PUBLIC_KEY && parametersOid === OID_P256 && bits.value.length === 65 && bits.value[0] === 0x04) {
    return ok({ ...info, algorithm: 'P-256', point: bits.value });
  }
  return ok(info);
}

/** Name ::= SEQUENCE OF SET OF { type OID, value DirectoryString } (RFC 5280 §4.1.2.4). */
function readName(der: Uint8Array, name: Tlv, what: string): Result<ParsedName, ParseError> {
  if (name.tag !== DER_TAG.SEQUENCE) return fail('parse-malformed', `${what}: not a Name`);
  const attributes: ParsedName['attributes'] = [];
  const rdns = readChildren(der, name);
  if (!rdns.ok) return fail('parse-malformed', `${what}: ${rdns.error.message}`);
  for (const rdn of rdns.value) {
    const members = rdn.tag === DER_TAG.SET ? readChildren(der, rdn) : null;
    if (!members?.ok) return fail('parse-malformed', `${what}: malformed relative distinguished name`);
    for (const member of members.value) {
      const pair = readChildren(der, member);
      const [type, value] = pair.ok ? pair.value : [];
      const oid = type?.tag === DER_TAG.OID ? decodeOid(contentBytes(der, type)) : null;
      const text = value ? decodeDirectoryString(value.tag, contentBytes(der, value)) : null;
      if (member.tag !== DER_TAG.SEQUENCE || !oid || text === null) return fail('parse-malformed', `${what}: malformed attribute`);
      attributes.push({ oid, type: attributeDisplayName(oid), value: text });
    }
  }
  return ok({ der: tlvBytes(der, name), text: formatAttributes(attributes.map(({ type, value }) => ({ type, value }))), attributes });
}

/** The ASN.1 string types found in names; null for a type we do not decode. */
function decodeDirectoryString(tag: number, content: Uint8Array): string | null {
  switch (tag) {
    case 0x0c: // UTF8String
      return new TextDecoder('utf-8', { fatal: false }).decode(content);
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: {
      // TeletexString, read as Latin-1 as most tools do
      let text = '';
      for (const byte of content) text += String.fromCharCode(byte);
      return text;
    }
    case 0x1e: {
      // BMPString, UTF-16BE
      let text = '';
      for (let i = 0; i + 1 < content.length; i += 2) text += String.fromCharCode((content[i]! << 8) | content[i + 1]!);
      return text;
    }
    default:
      return null;
  }
}

function readExtensions(list: readonly InstanceType<typeof x509.Extension>[], what: string): Result<CertificateExtensions, ParseError> {
  const extensions: CertificateExtensions = { unhandledCritical: [] };
  const seen = new Set<string>();
  for (const extension of list) {
    if (seen.has(extension.type)) return fail('parse-malformed', `${what}: extension ${extension.type} appears twice`);
    seen.add(extension.type);
    if (extension.critical && !HANDLED_EXTENSIONS.has(extension.type)) extensions.unhandledCritical.push(extension.type);
    if (extension instanceof x509.BasicConstraintsExtension) {
      extensions.basicConstraints = { ca: extension.ca, critical: extension.critical, ...(extension.pathLength !== undefined ? { pathLength: extension.pathLength } : {}) };
    } else if (extension instanceof x509.KeyUsagesExtension) {
      extensions.keyUsage = { usages: KEY_USAGE_NAMES.filter((_, bit) => (extension.usages & (1 << bit)) !== 0), critical: extension.critical };
    } else if (extension instanceof x509.ExtendedKeyUsageExtension) {
      extensions.extendedKeyUsage = { usages: Array.from(extension.usages, (usage) => purposeName(String(usage))), critical: extension.critical };
    } else if (extension instanceof x509.SubjectKeyIdentifierExtension) {
      extensions.subjectKeyId = extension.keyId.toLowerCase();
    } else if (extension instanceof x509.AuthorityKeyIdentifierExtension) {
      if (extension.keyId) extensions.authorityKeyId = extension.keyId.toLowerCase();
    }
  }
  return ok(extensions);
}

const PURPOSE_NAMES: Record<string, string> = Object.fromEntries(Object.entries(OID_KP).map(([name, oid]) => [oid, name]));

function purposeName(oid: string): string {
  return PURPOSE_NAMES[oid] ?? oid;
}
