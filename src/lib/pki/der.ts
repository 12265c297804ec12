/**
 * A minimal, strict DER reader and the few DER writers the PKI layer needs. @peculiar/x509 decodes
 * BER leniently (it accepts trailing bytes and non-minimal lengths); we walk the outer structure of
 * certificates, CSRs, CRLs, SPKIs and ECDSA signatures ourselves so we can take the exact
 * to-be-signed bytes and refuse anything that is not DER. Internal to `pki/`.
 */
import { concatBytes } from '../util/bytes';
import { type Result, ok } from '../smp/result';
import { fail, type PkiError } from './errors';

/** X.690 identifier bytes used here (universal tags, and the one context tag we read). */
export const DER_TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** `[0] EXPLICIT`, constructed: the certificate version (RFC 5280 §4.1). */
  EXPLICIT_0: 0xa0,
} as const;

export type DerErrorCode = 'der-malformed';
export type DerError = PkiError<DerErrorCode>;

/** One tag-length-value, as offsets into the buffer it was read from. */
export interface Tlv {
  tag: number;
  /** Offset of the identifier byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset one past the last content byte. */
  end: number;
}

/** Reads the TLV at `offset`, which must end at or before `limit`. Definite, minimal lengths only. */
export function readTlv(bytes: Uint8Array, offset: number, limit = bytes.length): Result<Tlv, DerError> {
  if (offset + 2 > limit) return fail('der-malformed', `DER: truncated header at offset ${offset}`);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) return fail('der-malformed', `DER: multi-byte tag at offset ${offset} is not supported`);
  const first = bytes[offset + 1]!;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) return fail('der-malformed', `DER: indefinite length at offset ${offset}`);
    if (count > 4) return fail('der-malformed', `DER: length of ${count} bytes at offset ${offset} is too large`);
    if (offset + 2 + count > limit) return fail('der-malformed', `DER: truncated length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
    if (bytes[offset + 2]! === 0 || length < 0x80) return fail('der-malformed', `DER: non-minimal length at offset ${offset}`);
    contentStart = offset + 2 + count;
  }
  const end = contentStart + length;
  if (end > limit) return fail('der-malformed', `DER: value at offset ${offset} runs past its container (${end} > ${limit})`);
  return ok({ tag, start: offset, contentStart, end });
}

/** The whole buffer must be exactly one TLV with tag `tag`. */
export function readOnly(bytes: Uint8Array, tag: number, what: string): Result<Tlv, DerError> {
  const tlv = readTlv(bytes, 0);
  if (!tlv.ok) return tlv;
  if (tlv.value.tag !== tag) return fail('der-malformed', `${what}: expected tag 0x${hex2(tag)}, found 0x${hex2(tlv.value.tag)}`);
  if (tlv.value.end !== bytes.length) return fail('der-malformed', `${what}: ${bytes.length - tlv.value.end} trailing byte(s) after the DER value`);
  return tlv;
}

/** The TLVs that exactly fill `parent`'s content. */
export function readChildren(bytes: Uint8Array, parent: Tlv): Result<Tlv[], DerError> {
  const children: Tlv[] = [];
  let offset = parent.contentStart;
  while (offset < parent.end) {
    const child = readTlv(bytes, offset, parent.end);
    if (!child.ok) return child;
    children.push(child.value);
    offset = child.value.end;
  }
  return ok(children);
}

export function tlvBytes(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.start, tlv.end);
}

export function contentBytes(bytes: Uint8Array, tlv: Tlv): Uint8Array {
  return bytes.subarray(tlv.contentStart, tlv.end);
}

/** Dotted form of an OBJECT IDENTIFIER's content; null when the encoding is not minimal base-128. */
export function decodeOid(content: Uint8Array): string | null {
  if (content.length === 0) return null;
  const arcs: number[] = [];
  let value = 0;
  let inArc = false;
  for (const byte of content) {
    if (!inArc && byte === 0x80) return null;
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) return null;
    inArc = (byte & 0x80) !== 0;
    if (!inArc) {
      arcs.push(value);
      value = 0;
    }
  }
  if (inArc) return null;
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** The content of a BIT STRING that must have no unused bits (keys and signatures). */
export function bitStringBytes(bytes: Uint8Array, tlv: Tlv, what: string): Result<Uint8Array, DerError> {
  if (tlv.tag !== DER_TAG.BIT_STRING) return fail('der-malformed', `${what}: expected a BIT STRING`);
  const content = contentBytes(bytes, tlv);
  if (content.length === 0 || content[0] !== 0) return fail('der-malformed', `${what}: BIT STRING with unused bits`);
  return ok(content.subarray(1));
}

/** DER-encodes one TLV. */
export function derEncode(tag: number, content: Uint8Array): Uint8Array {
  const length = content.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else {
    const lengthBytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) lengthBytes.unshift(rest % 256);
    header = [tag, 0x80 | lengthBytes.length, ...lengthBytes];
  }
  return concatBytes(new Uint8Array(header), content);
}

/** A non-negative INTEGER from a big-endian unsigned magnitude, minimally encoded. */
export function derUnsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let content = magnitude.subarray(start);
  if (content.length === 0) content = new Uint8Array([0]);
  if (content[0]! & 0x80) content = concatBytes(new Uint8Array([0]), content);
  return derEncode(DER_TAG.INTEGER, content);
}

/** A non-negative INTEGER from a JavaScript integer (CRL numbers). */
export function derIntegerFromNumber(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`derIntegerFromNumber: not a non-negative safe integer: ${value}`);
  const magnitude: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) magnitude.unshift(rest % 256);
  return derUnsignedInteger(new Uint8Array(magnitude));
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, '0');
}
