/**
 * COSE_Sign1 (RFC 9052 §4.2) as bytes and back: decoding a message (tagged 18 or untagged) into
 * its parts with every structural refusal named, the Sig_structure that is signed (§4.4), and
 * encoding a message (for the simulated board and tests). Verification is `verify.ts`.
 *
 * The tag is read from the message's first head here rather than by the CBOR decoder, so another
 * tag (the COSE WG's sign-fail-01 uses 998) is "not a COSE_Sign1", not "CBOR we cannot read".
 */
import { encode } from 'cborg';
import { type Result, ok } from '../smp/result';
import { concatBytes, utf8 } from '../util/bytes';
import { type CborLimits, type CoseCborMap, type CoseCborValue, bstrHead, DEFAULT_CBOR_LIMITS, decodeCoseCbor, isCoseMap, typeHead } from './cbor';
import { type CoseError, coseFail } from './errors';
import { COSE_HEADER, COSE_SIGN1_TAG, SIGNATURE1_CONTEXT, UNDERSTOOD_LABELS } from './ids';

export type CoseLabel = number | string;
export type CoseHeaderMap = Map<CoseLabel, CoseCborValue>;

export interface CoseSign1 {
  /** Whether the message carried tag 18. */
  tagged: boolean;
  /** The protected header exactly as sent: the signature covers these bytes, not a re-encoding. */
  protectedBytes: Uint8Array;
  protectedHeader: CoseHeaderMap;
  unprotectedHeader: CoseHeaderMap;
  /** null for a detached payload. */
  payload: Uint8Array | null;
  signature: Uint8Array;
}

const TAG_HEAD_SIGN1 = typeHead(6, COSE_SIGN1_TAG);
const MAJOR_TAG = 6;

/**
 * @example const message = decodeCoseSign1(bytes); if (message.ok) message.value.payload
 */
export function decodeCoseSign1(bytes: Uint8Array, limits: CborLimits = DEFAULT_CBOR_LIMITS): Result<CoseSign1, CoseError> {
  if (bytes.length > limits.maxBytes) return coseFail('cose-too-large', `the message is ${bytes.length} bytes; at most ${limits.maxBytes} are accepted`);
  let body = bytes;
  let tagged = false;
  if (bytes.length > 0 && bytes[0]! >> 5 === MAJOR_TAG) {
    const tag = readTag(bytes);
    if (tag === null) return coseFail('cose-not-cbor', 'the message starts with a truncated or malformed tag');
    if (tag.number !== COSE_SIGN1_TAG) return coseFail('cose-not-sign1', `tag ${tag.number} is not COSE_Sign1 (tag ${COSE_SIGN1_TAG})`);
    body = bytes.subarray(tag.length);
    tagged = true;
  }
  const decoded = decodeCoseCbor(body, limits);
  if (!decoded.ok) {
    const code = decoded.error.code === 'cbor-too-large' || decoded.error.code === 'cbor-too-deep' || decoded.error.code === 'cbor-too-many-items' ? 'cose-too-large' : 'cose-not-cbor';
    return coseFail(code, decoded.error.message);
  }
  const value = decoded.value;
  if (!Array.isArray(value) || value.length !== 4) return coseFail('cose-not-sign1', `a COSE_Sign1 is an array of 4 elements; this is ${describe(value)}`);
  const [protectedBytes, unprotected, payload, signature] = value;
  if (!(protectedBytes instanceof Uint8Array)) return coseFail('cose-not-sign1', `the protected header must be a byte string, not ${describe(protectedBytes)}`);
  if (!isCoseMap(unprotected)) return coseFail('cose-not-sign1', `the unprotected header must be a map, not ${describe(unprotected)}`);
  if (!(payload instanceof Uint8Array) && payload !== null) return coseFail('cose-not-sign1', `the payload must be a byte string or nil, not ${describe(payload)}`);
  if (!(signature instanceof Uint8Array)) return coseFail('cose-not-sign1', `the signature must be a byte string, not ${describe(signature)}`);

  const protectedHeader = decodeProtected(protectedBytes, limits);
  if (!protectedHeader.ok) return protectedHeader;
  const unprotectedHeader = headerMap(unprotected, 'unprotected');
  if (!unprotectedHeader.ok) return unprotectedHeader;
  const checked = checkBuckets(protectedHeader.value, unprotectedHeader.value);
  if (!checked.ok) return checked;
  return ok({ tagged, protectedBytes, protectedHeader: protectedHeader.value, unprotectedHeader: unprotectedHeader.value, payload, signature });
}

/** The header parameter `label` from the protected bucket, else the unprotected one (they are disjoint). */
export function headerParameter(message: Pick<CoseSign1, 'protectedHeader' | 'unprotectedHeader'>, label: CoseLabel): CoseCborValue | undefined {
  return message.protectedHeader.has(label) ? message.protectedHeader.get(label) : message.unprotectedHeader.get(label);
}

/**
 * The protected bytes Sig_structure takes: the ones received, except that a header with no
 * parameters is always a zero-length string (RFC 9052 §4.4), even when sent as an encoded empty
 * map `a0` (the COSE WG's sign-pass-01 checks exactly this).
 */
export function bodyProtected(message: Pick<CoseSign1, 'protectedBytes' | 'protectedHeader'>): Uint8Array {
  return message.protectedHeader.size === 0 ? new Uint8Array(0) : message.protectedBytes;
}

/**
 * Sig_structure = ["Signature1", body_protected, external_aad, payload] (RFC 9052 §4.4), encoded
 * by hand so the protected bytes are the ones received, byte for byte.
 * @example sigStructure(hexToBytes('a10126'), new Uint8Array(), payload) // 84 6a 5369676e617475726531 43 a10126 40 …
 */
export function sigStructure(protectedBytes: Uint8Array, externalAad: Uint8Array, payload: Uint8Array): Uint8Array {
  const context = utf8.encode(SIGNATURE1_CONTEXT);
  return concatBytes(
    typeHead(4, 4),
    typeHead(3, context.length),
    context,
    bstrHead(protectedBytes.length),
    protectedBytes,
    bstrHead(externalAad.length),
    externalAad,
    bstrHead(payload.length),
    payload,
  );
}

export interface EncodeSign1Input {
  /** Encoded protected header (`encodeHeaderMap(new Map([[1, -7]]))`); empty for none. */
  protectedBytes: Uint8Array;
  unprotectedHeader?: CoseHeaderMap;
  payload: Uint8Array;
  signature: Uint8Array;
  /** Default true: tag 18. */
  tagged?: boolean;
}

/** A COSE_Sign1 message from its parts. */
export function encodeCoseSign1(input: EncodeSign1Input): Uint8Array {
  const unprotected = encodeHeaderMap(input.unprotectedHeader ?? new Map());
  const parts = [
    typeHead(4, 4),
    bstrHead(input.protectedBytes.length),
    input.protectedBytes,
    unprotected,
    bstrHead(input.payload.length),
    input.payload,
    bstrHead(input.signature.length),
    input.signature,
  ];
  return concatBytes(...(input.tagged === false ? parts : [TAG_HEAD_SIGN1, ...parts]));
}

/** A header map in CBOR (cborg's encoder: integer labels first in length-first order, as RFC 8949 §4.2.3). */
export function encodeHeaderMap(header: CoseHeaderMap): Uint8Array {
  return encode(header);
}

function readTag(bytes: Uint8Array): { number: number; length: number } | null {
  const info = bytes[0]! & 0x1f;
  if (info < 24) return { number: info, length: 1 };
  if (info > 27) return null;
  const size = 1 << (info - 24);
  if (bytes.length < 1 + size) return null;
  let number = 0;
  for (let i = 1; i <= size; i++) number = number * 256 + bytes[i]!;
  return { number, length: 1 + size };
}

function decodeProtected(bytes: Uint8Array, limits: CborLimits): Result<CoseHeaderMap, CoseError> {
  // RFC 9052 §3: an empty protected header is a zero-length byte string (an encoded empty map, a0, is accepted too).
  if (bytes.length === 0) return ok(new Map());
  const decoded = decodeCoseCbor(bytes, limits);
  if (!decoded.ok) return coseFail('cose-bad-header', `the protected header is not CBOR: ${decoded.error.message}`);
  if (!isCoseMap(decoded.value)) return coseFail('cose-bad-header', `the protected header must encode a map, not ${describe(decoded.value)}`);
  return headerMap(decoded.value, 'protected');
}

function headerMap(map: CoseCborMap, bucket: string): Result<CoseHeaderMap, CoseError> {
  for (const label of map.keys()) {
    if (typeof label !== 'number' && typeof label !== 'string') return coseFail('cose-bad-header', `the ${bucket} header has a label that is neither an integer nor text (${describe(label)})`);
  }
  return ok(map as CoseHeaderMap);
}

/** RFC 9052 §3: the buckets are disjoint; `crit` is protected, a non-empty array of labels present in the protected bucket, each one understood. */
function checkBuckets(protectedHeader: CoseHeaderMap, unprotectedHeader: CoseHeaderMap): Result<void, CoseError> {
  for (const label of unprotectedHeader.keys()) {
    if (protectedHeader.has(label)) return coseFail('cose-bad-header', `header parameter ${String(label)} is in both the protected and the unprotected header`);
  }
  if (unprotectedHeader.has(COSE_HEADER.CRIT)) return coseFail('cose-bad-header', 'crit (2) must be in the protected header');
  if (!protectedHeader.has(COSE_HEADER.CRIT)) return ok(undefined);
  const crit = protectedHeader.get(COSE_HEADER.CRIT);
  if (!Array.isArray(crit) || crit.length === 0) return coseFail('cose-bad-header', 'crit (2) must be a non-empty array of labels');
  for (const label of crit) {
    if (typeof label !== 'number' && typeof label !== 'string') return coseFail('cose-bad-header', `crit names ${describe(label)}, which is not a label`);
    if (!protectedHeader.has(label)) return coseFail('cose-bad-header', `crit names header parameter ${String(label)}, which the protected header does not carry`);
    if (!UNDERSTOOD_LABELS.has(label)) return coseFail('cose-unknown-critical', `header parameter ${String(label)} is marked critical and this verifier does not understand it`);
  }
  return ok(undefined);
}

function describe(value: unknown): string {
  if (value === null) return 'nil';
  if (value instanceof Uint8Array) return `a byte string of ${value.length} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Map) return `a map of ${value.size}`;
  return `a ${typeof value}`;
}
