/**
 * PKCS#10 certificate requests (RFC 2986) built on the simulated board, as firmware with a small
 * DER writer builds them: the subject from the request's `CN=…,O=…` text, the key's
 * SubjectPublicKeyInfo (RFC 5480 for P-256, RFC 8410 for Ed25519), no attributes, signed
 * ECDSA-with-SHA256 (DER signature) or Ed25519. Deterministic signatures (RFC 6979, EdDSA), so
 * the same key and subject give the same bytes: the spec's examples rely on that.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { KEY_ALG, SUBJECT_MAX, type KeyAlg } from '../../device/keys-ids';
import { type Result, ok, err } from '../../smp/result';
import { concatBytes, utf8 } from '../../util/bytes';

/** Object identifiers used here (RFC 5480, RFC 5758, RFC 8410, X.520). */
const OID = {
  EC_PUBLIC_KEY: '1.2.840.10045.2.1',
  PRIME256V1: '1.2.840.10045.3.1.7',
  ECDSA_WITH_SHA256: '1.2.840.10045.4.3.2',
  ED25519: '1.3.101.112',
} as const;

const DER_TAG = { INTEGER: 0x02, BIT_STRING: 0x03, OID: 0x06, UTF8_STRING: 0x0c, PRINTABLE_STRING: 0x13, SEQUENCE: 0x30, SET: 0x31, ATTRIBUTES: 0xa0 } as const;

/** Subject attribute types the board accepts, by their short name (case-insensitive), with X.520's upper bounds. */
const SUBJECT_ATTRIBUTES: Readonly<Record<string, { oid: string; printable: boolean; max: number; min?: number }>> = {
  CN: { oid: '2.5.4.3', printable: false, max: 64 },
  SERIALNUMBER: { oid: '2.5.4.5', printable: true, max: 64 },
  C: { oid: '2.5.4.6', printable: true, max: 2, min: 2 },
  L: { oid: '2.5.4.7', printable: false, max: 128 },
  ST: { oid: '2.5.4.8', printable: false, max: 128 },
  O: { oid: '2.5.4.10', printable: false, max: 64 },
  OU: { oid: '2.5.4.11', printable: false, max: 64 },
};

/** X.680 PrintableString characters. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export interface SubjectAttribute {
  type: string;
  value: string;
}

/**
 * Reads `CN=dev-1,O=Acme` into attributes in the order written, which is their order in the
 * DER Name (as `mbedtls_x509_string_to_names` takes it). `\` escapes the next character.
 * @example parseSubject('CN=dev-1, serialNumber=SIM-0001') // ok: [{type:'CN',…}, {type:'SERIALNUMBER',…}]
 */
export function parseSubject(text: string): Result<SubjectAttribute[], string> {
  if (text.length === 0 || text.length > SUBJECT_MAX) return err(`subject must have 1..${SUBJECT_MAX} characters`);
  const attributes: SubjectAttribute[] = [];
  let key = '';
  let value = '';
  let inValue = false;
  const finish = (): string | null => {
    const type = key.trim().toUpperCase();
    const spec = SUBJECT_ATTRIBUTES[type];
    if (!inValue) return `subject: "${key.trim()}" has no "=value"`;
    if (!spec) return `subject: "${key.trim()}" is not one of CN, serialNumber, C, L, ST, O, OU`;
    const trimmed = value.trim();
    if (trimmed.length < (spec.min ?? 1) || trimmed.length > spec.max) return `subject: ${key.trim()} must have ${spec.min ?? 1}..${spec.max} characters`;
    if (spec.printable && !PRINTABLE.test(trimmed)) return `subject: ${key.trim()} allows only PrintableString characters`;
    attributes.push({ type, value: trimmed });
    key = '';
    value = '';
    inValue = false;
    return null;
  };
  for (let i = 0; i < text.length; i++) {
    let char = text[i]!;
    if (char === '\\' && i + 1 < text.length) char = text[++i]!;
    else if (char === ',') {
      const problem = finish();
      if (problem) return err(problem);
      continue;
    } else if (char === '=' && !inValue) {
      inValue = true;
      continue;
    }
    if (inValue) value += char;
    else key += char;
  }
  const problem = finish();
  return problem ? err(problem) : ok(attributes);
}

/** DER of a CSR for `alg` (p256 or ed25519) signed with `secret`. */
export function buildCsr(alg: KeyAlg, secret: Uint8Array, publicKey: Uint8Array, subject: SubjectAttribute[]): Uint8Array {
  const name = sequence(...subject.map(({ type, value }) => rdn(type, value)));
  const isP256 = alg === KEY_ALG.P256;
  const keyAlgorithm = isP256 ? sequence(oid(OID.EC_PUBLIC_KEY), oid(OID.PRIME256V1)) : sequence(oid(OID.ED25519));
  const spki = sequence(keyAlgorithm, bitString(publicKey));
  const version = tlv(DER_TAG.INTEGER, new Uint8Array([0]));
  const info = sequence(version, name, spki, tlv(DER_TAG.ATTRIBUTES, new Uint8Array(0)));
  const signatureAlgorithm = sequence(oid(isP256 ? OID.ECDSA_WITH_SHA256 : OID.ED25519));
  const signature = isP256 ? p256.sign(info, secret, { format: 'der' }) : ed25519.sign(info, secret);
  return sequence(info, signatureAlgorithm, bitString(signature));
}

function rdn(type: string, value: string): Uint8Array {
  const spec = SUBJECT_ATTRIBUTES[type]!;
  const text = tlv(spec.printable ? DER_TAG.PRINTABLE_STRING : DER_TAG.UTF8_STRING, utf8.encode(value));
  return tlv(DER_TAG.SET, sequence(oid(spec.oid), text));
}

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const length = content.length;
  // A CSR is far below 64 KiB: short form, or long form with one or two length bytes.
  const header = length < 0x80 ? [tag, length] : length < 0x100 ? [tag, 0x81, length] : [tag, 0x82, length >> 8, length & 0xff];
  return concatBytes(new Uint8Array(header), content);
}

function sequence(...parts: Uint8Array[]): Uint8Array {
  return tlv(DER_TAG.SEQUENCE, concatBytes(...parts));
}

function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(DER_TAG.BIT_STRING, concatBytes(new Uint8Array([0]), bytes));
}

function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const base128: number[] = [arc & 0x7f];
    for (let rest = arc >>> 7; rest > 0; rest >>>= 7) base128.unshift((rest & 0x7f) | 0x80);
    out.push(...base128);
  }
  return tlv(DER_TAG.OID, new Uint8Array(out));
}
