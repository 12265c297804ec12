/**
 * PEM (RFC 7468) ↔ DER. Decoding is a parser of outside text (pasted, uploaded, from an external
 * CA), so it never throws: every refusal is a `PemError` naming the block and what is wrong.
 * Text outside `-----BEGIN …-----`/`-----END …-----` lines is explanatory and ignored (RFC 7468 §2),
 * which is how our CSR bundles label each block with its device. Only the labels Imprint handles
 * are accepted; RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, legacy OpenSSL encryption) are refused.
 */
import { base64ToBytes, bytesToBase64, utf8 } from '../util/bytes';
import { type Result, ok } from '../smp/result';
import { fail, type PkiError } from './errors';

export const PEM_LABELS = ['CERTIFICATE', 'CERTIFICATE REQUEST', 'PUBLIC KEY', 'PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'X509 CRL'] as const;
export type PemLabel = (typeof PEM_LABELS)[number];

export interface PemBlock {
  label: PemLabel;
  der: Uint8Array;
  /** Explanatory text between the previous block (or the start) and this one, trimmed. */
  preamble: string;
}

export type PemErrorCode =
  | 'pem-empty'
  | 'pem-missing-begin'
  | 'pem-missing-end'
  | 'pem-label-mismatch'
  | 'pem-unknown-label'
  | 'pem-wrong-label'
  | 'pem-headers'
  | 'pem-bad-base64'
  | 'pem-count';
export type PemError = PkiError<PemErrorCode>;

/** Labels other tools write for keys we cannot take as they are, with what to do instead. */
const LABEL_HINTS: Record<string, string> = {
  'EC PRIVATE KEY': 'convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in key.pem`',
  'EC PARAMETERS': 'remove the EC PARAMETERS block (use `openssl ecparam -genkey -noout`)',
  'NEW CERTIFICATE REQUEST': 'rename the label to CERTIFICATE REQUEST',
  'RSA PRIVATE KEY': 'Imprint CAs use P-256 keys only',
};

const LINE_WIDTH = 64;
const BEGIN = /^-----BEGIN ([^-]*)-----$/;
const END = /^-----END ([^-]*)-----$/;

/**
 * @example encodePem('CERTIFICATE', der) // '-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n'
 */
export function encodePem(label: PemLabel, der: Uint8Array): string {
  const body = bytesToBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += LINE_WIDTH) lines.push(body.slice(i, i + LINE_WIDTH));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}${lines.length ? '\n' : ''}-----END ${label}-----\n`;
}

/** Every block in `text`, in order. At least one block, or `pem-empty`. */
export function decodePem(text: string): Result<PemBlock[], PemError> {
  const lines = text.split(/\r\n|\r|\n/);
  const blocks: PemBlock[] = [];
  let preamble: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (END.test(line)) return fail('pem-missing-begin', `PEM: line ${i + 1} ends a block that was never begun (${line})`);
    const begin = BEGIN.exec(line);
    if (!begin) {
      preamble.push(lines[i]!);
      continue;
    }
    const label = begin[1]!;
    const where = `PEM block ${blocks.length + 1} (${label}, line ${i + 1})`;
    const body: string[] = [];
    let closed = false;
    for (i++; i < lines.length; i++) {
      const inner = lines[i]!.trim();
      if (BEGIN.test(inner)) return fail('pem-missing-end', `${where}: a new BEGIN line at line ${i + 1} before -----END ${label}-----`);
      const end = END.exec(inner);
      if (end) {
        if (end[1] !== label) return fail('pem-label-mismatch', `${where}: begins as ${label} but ends as ${end[1]}`);
        closed = true;
        break;
      }
      if (inner.includes(':')) return fail('pem-headers', `${where}: has a header line (${inner.slice(0, 40)}); encrypted legacy PEM is not supported`);
      body.push(inner);
    }
    if (!closed) return fail('pem-missing-end', `${where}: no -----END ${label}----- line`);
    if (!isPemLabel(label)) {
      const hint = LABEL_HINTS[label];
      return fail('pem-unknown-label', `${where}: label ${label} is not one Imprint reads${hint ? `; ${hint}` : ''}`);
    }
    const base64 = body.join('');
    if (base64.length === 0) return fail('pem-empty', `${where}: the block has no content`);
    const der = base64ToBytes(base64);
    if (!der) return fail('pem-bad-base64', `${where}: the content is not valid base64`);
    blocks.push({ label, der, preamble: preamble.join('\n').trim() });
    preamble = [];
  }
  if (blocks.length === 0) {
    return fail('pem-empty', text.trim() === '' ? 'PEM: the input is empty' : 'PEM: no -----BEGIN …----- line found');
  }
  return ok(blocks);
}

/** All blocks, each of which must carry `label`. */
export function decodePemAs(text: string, label: PemLabel): Result<Uint8Array[], PemError> {
  const decoded = decodePem(text);
  if (!decoded.ok) return decoded;
  for (const [index, block] of decoded.value.entries()) {
    if (block.label !== label) return fail('pem-wrong-label', `PEM block ${index + 1}: expected ${label}, found ${block.label}${wrongLabelHint(label, block.label)}`);
  }
  return ok(decoded.value.map((block) => block.der));
}

/** Exactly one block, carrying `label`. */
export function decodePemOne(text: string, label: PemLabel): Result<Uint8Array, PemError> {
  const decoded = decodePemAs(text, label);
  if (!decoded.ok) return decoded;
  if (decoded.value.length !== 1) return fail('pem-count', `PEM: expected one ${label} block, found ${decoded.value.length}`);
  return ok(decoded.value[0]!);
}

/**
 * DER from bytes or text: a string, or bytes that start with `-----BEGIN`, are read as PEM with
 * `label`; other bytes are taken as DER unchanged (the structure is checked by the parser).
 */
export function toDer(input: Uint8Array | string, label: PemLabel): Result<Uint8Array, PemError> {
  if (typeof input === 'string') return decodePemOne(input, label);
  if (input.length === 0) return fail('pem-empty', `${label}: the input is empty`);
  if (looksLikePem(input)) return decodePemOne(utf8.decode(input), label);
  return ok(input);
}

function looksLikePem(bytes: Uint8Array): boolean {
  const head = utf8.decode(bytes.subarray(0, 64)).trimStart();
  return head.startsWith('-----BEGIN');
}

function isPemLabel(label: string): label is PemLabel {
  return (PEM_LABELS as readonly string[]).includes(label);
}

function wrongLabelHint(expected: PemLabel, found: PemLabel): string {
  if (expected === 'PRIVATE KEY' && found === 'ENCRYPTED PRIVATE KEY') {
    return '; decrypt it first (`openssl pkcs8 -in encrypted.pem -out key.pem`) or import an Imprint backup instead';
  }
  return '';
}
