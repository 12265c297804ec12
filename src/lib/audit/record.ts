/**
 * The audit record: what one provisioning step leaves behind, and the two gates every record
 * passes before it is hashed or stored.
 *
 * 1. `refuseSecrets` walks whatever it is given (before any shape check, so a private key in the
 *    wrong field is still called a secret) and refuses secret-looking field names, PEM/DER
 *    private keys, JWKs with private members, raw bytes, private CryptoKeys and any secret the
 *    flow registered in `KnownSecrets`.
 * 2. `validateRecord` checks each field against the table `RECORD_FIELDS` (data, not code) and
 *    returns a clean copy holding only known fields, in table order.
 *
 * Fields are text or unsigned integers and `details` is a small text→text map: that keeps the
 * canonical encoding (canonical.ts) trivial and the JSON/CSV exports lossless.
 */
import { type Result, ok, err } from '../smp/result';
import { bytesToBase64, hexToBytes } from '../util/bytes';
import { type AuditError, auditError } from './errors';
import type { KnownSecrets } from './known-secrets';

export type AuditPhase = 'intent' | 'outcome';
export type AuditResult = 'ok' | 'failed' | 'unknown';

export interface AuditRecord {
  /** 1, 2, 3 … per station, assigned by the store; also the record's Merkle leaf index + 1. */
  seq: number;
  /** UTC, `Date.toISOString()` form: `2025-06-01T10:00:00.000Z`. */
  time: string;
  /** 16 lowercase hex: the first 8 bytes of SHA-256 of the station's public key (SPKI). */
  stationId: string;
  appBuild: string;
  operator?: string;
  boardSerial?: string;
  deviceId?: string;
  /** What was done, dotted lowercase: `keys.generate`, `keys.cert-store`, `counter.set`. */
  action: string;
  phase: AuditPhase;
  /** For outcomes: the seq of the intent this outcome closes. */
  intentSeq?: number;
  keyId?: string;
  /** SHA-256 of the public key's SubjectPublicKeyInfo DER, 64 lowercase hex. */
  keyFingerprint?: string;
  /** Certificate serial number, lowercase hex without separators. */
  certSerial?: string;
  /** SHA-256 of the certificate DER, 64 lowercase hex. */
  certFingerprint?: string;
  /** The device's session counter. */
  counter?: number;
  /** Outcomes only: `unknown` when the board could not be asked (reconciliation after a crash). */
  result?: AuditResult;
  errorCode?: string;
  errorMessage?: string;
  details?: Record<string, string>;
}

/** What a caller supplies; the store assigns seq, time, stationId and appBuild. */
export type AuditDraft = Omit<AuditRecord, 'seq' | 'time' | 'stationId' | 'appBuild'>;

type FieldSpec =
  | { kind: 'uint'; required: boolean; min: number }
  | { kind: 'text'; required: boolean; maxLength: number; pattern?: RegExp; form?: string }
  | { kind: 'enum'; required: boolean; values: readonly string[] }
  | { kind: 'details' };

const HEX64 = { pattern: /^[0-9a-f]{64}$/, form: '64 lowercase hex characters' };
const FREE_TEXT = 256;

/** Every field, in the order exports list them. */
export const RECORD_FIELDS = {
  seq: { kind: 'uint', required: true, min: 1 },
  time: { kind: 'text', required: true, maxLength: 24, pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, form: 'an ISO 8601 UTC time like 2025-06-01T10:00:00.000Z' },
  stationId: { kind: 'text', required: true, maxLength: 16, pattern: /^[0-9a-f]{16}$/, form: '16 lowercase hex characters' },
  appBuild: { kind: 'text', required: true, maxLength: 64 },
  operator: { kind: 'text', required: false, maxLength: 128 },
  boardSerial: { kind: 'text', required: false, maxLength: 128 },
  deviceId: { kind: 'text', required: false, maxLength: 128 },
  action: { kind: 'text', required: true, maxLength: 64, pattern: /^[a-z][a-z0-9._-]*$/, form: 'dotted lowercase like keys.generate' },
  phase: { kind: 'enum', required: true, values: ['intent', 'outcome'] },
  intentSeq: { kind: 'uint', required: false, min: 1 },
  keyId: { kind: 'text', required: false, maxLength: 64 },
  keyFingerprint: { kind: 'text', required: false, maxLength: 64, ...HEX64 },
  certSerial: { kind: 'text', required: false, maxLength: 64, pattern: /^[0-9a-f]+$/, form: 'lowercase hex without separators' },
  certFingerprint: { kind: 'text', required: false, maxLength: 64, ...HEX64 },
  counter: { kind: 'uint', required: false, min: 0 },
  result: { kind: 'enum', required: false, values: ['ok', 'failed', 'unknown'] },
  errorCode: { kind: 'text', required: false, maxLength: 64, pattern: /^[a-z0-9][a-z0-9._:-]*$/, form: 'a lowercase error code like keys-no-such-key' },
  errorMessage: { kind: 'text', required: false, maxLength: 1024 },
  details: { kind: 'details' },
} as const satisfies Record<keyof AuditRecord, FieldSpec>;

export type AuditField = keyof typeof RECORD_FIELDS;
export const AUDIT_FIELDS = Object.keys(RECORD_FIELDS) as AuditField[];

/** `details` is for a few short facts (algorithm, slot, profile), not for blobs. */
export const DETAILS_LIMITS = { entries: 32, keyLength: 64, valueLength: FREE_TEXT, keyPattern: /^[A-Za-z][A-Za-z0-9_.-]*$/ } as const;

/**
 * Checks shape and cross-field rules; returns a copy with only the known fields, in table order.
 * Run `refuseSecrets` first: this function says nothing about secrets.
 */
export function validateRecord(value: unknown): Result<AuditRecord, AuditError> {
  if (!isPlainObject(value)) return err(invalid('record', 'a record must be an object'));
  for (const key of Object.keys(value)) {
    if (!(key in RECORD_FIELDS)) return err(invalid(key, `unknown field "${key}"`));
  }
  const out: Record<string, unknown> = {};
  for (const field of AUDIT_FIELDS) {
    const spec: FieldSpec = RECORD_FIELDS[field];
    const given = value[field];
    if (given === undefined) {
      if ('required' in spec && spec.required) return err(invalid(field, `${field} is required`));
      continue;
    }
    const problem = fieldProblem(field, spec, given);
    if (problem !== null) return err(invalid(field, problem));
    out[field] = spec.kind === 'details' ? { ...(given as Record<string, string>) } : given;
  }
  const record = out as unknown as AuditRecord;
  const rule = crossFieldProblem(record);
  if (rule !== null) return err(rule);
  return ok(record);
}

function fieldProblem(field: string, spec: FieldSpec, value: unknown): string | null {
  switch (spec.kind) {
    case 'uint':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < spec.min) return `${field} must be an integer ≥ ${spec.min} (and below 2^53)`;
      return null;
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value) ? null : `${field} must be one of ${spec.values.join(', ')}`;
    case 'text':
      return textProblem(field, value, spec.maxLength) ?? (spec.pattern && !spec.pattern.test(value as string) ? `${field} must be ${spec.form}` : null) ?? (field === 'time' ? timeProblem(value as string) : null);
    case 'details':
      return detailsProblem(value);
  }
}

function textProblem(field: string, value: unknown, maxLength: number): string | null {
  if (typeof value !== 'string') return `${field} must be text`;
  if (value.length === 0) return `${field} must not be empty (leave it out instead)`;
  if (value.length > maxLength) return `${field} is ${value.length} characters, at most ${maxLength} allowed`;
  // A lone surrogate would be replaced by U+FFFD in UTF-8: two different strings, one hash.
  if (!value.isWellFormed()) return `${field} contains a lone UTF-16 surrogate`;
  return null;
}

/**
 * The pattern has already fixed the form `YYYY-MM-DDTHH:MM:SS.mmmZ`; a real time also has a
 * month 1–12, a day that month has (Gregorian leap years) and hours, minutes and seconds in
 * range: exactly the strings `new Date(time).toISOString()` gives back unchanged, without a
 * Date per record (the tests hold the two to the same answers).
 */
function timeProblem(time: string): string | null {
  const year = Number(time.slice(0, 4));
  const month = Number(time.slice(5, 7));
  const day = Number(time.slice(8, 10));
  const real = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && Number(time.slice(11, 13)) < 24 && Number(time.slice(14, 16)) < 60 && Number(time.slice(17, 19)) < 60;
  return real ? null : `time "${time}" is not a real UTC time`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function detailsProblem(value: unknown): string | null {
  if (!isPlainObject(value)) return 'details must be an object of text values';
  const entries = Object.entries(value);
  if (entries.length > DETAILS_LIMITS.entries) return `details has ${entries.length} entries, at most ${DETAILS_LIMITS.entries} allowed`;
  for (const [key, item] of entries) {
    if (key.length > DETAILS_LIMITS.keyLength || !DETAILS_LIMITS.keyPattern.test(key)) return `details key "${key.slice(0, 80)}" must be a short identifier`;
    const problem = textProblem(`details.${key}`, item, DETAILS_LIMITS.valueLength);
    if (problem !== null) return problem;
  }
  return null;
}

function crossFieldProblem(record: AuditRecord): AuditError | null {
  if (record.phase === 'intent') {
    if (record.intentSeq !== undefined) return invalid('intentSeq', 'an intent has no intentSeq');
    if (record.result !== undefined) return invalid('result', 'an intent has no result (its outcome does)');
  } else {
    if (record.intentSeq === undefined) return invalid('intentSeq', 'an outcome must name the intent it closes (intentSeq)');
    if (record.intentSeq >= record.seq) return invalid('intentSeq', `intentSeq ${record.intentSeq} must come before the outcome's seq ${record.seq}`);
    if (record.result === undefined) return invalid('result', 'an outcome must have a result');
  }
  return null;
}

function invalid(field: string, message: string): AuditError {
  return auditError('audit-invalid-record', message, field);
}

// ---------------------------------------------------------------------------------------------
// The secret guard

/** Field names (lowercased, separators removed) that contain one of these are secrets. */
const SECRET_NAME_PARTS = ['privatekey', 'privkey', 'secret', 'passphrase', 'password', 'passwd', 'scalar', 'hmackey', 'aeskey', 'symmetrickey', 'sharedkey', 'mnemonic', 'seedphrase'];
/** Names too short to search inside others (`mapping` contains `pin`): secrets only when the whole name. */
const SECRET_NAMES_EXACT = ['seed', 'pin', 'psk', 'key', 'd', 'k', 'prk', 'ikm', 'okm'];

/** PEM armour of any private key: PKCS#8, encrypted PKCS#8, SEC1 EC, RSA, OpenSSH, PGP. */
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY/;
/** A JSON Web Key with a private (`d`) or symmetric (`k`) member (tested together with `"kty"`). */
const JWK_PRIVATE_MEMBER = /"[dk]"\s*:/;
/** A JSON member name inside a text value, e.g. `{"privateKey": …}` pasted into an error message. */
const JSON_MEMBER_NAME = /"([^"\\]{1,64})"\s*:/g;

/**
 * DER starts of private keys, as they appear in hex or in base64 of the whole DER
 * (RFC 5208 PKCS#8 with the algorithm OIDs of RFC 5480 / RFC 8410, and RFC 5915 SEC1).
 */
const DER_PRIVATE_KEY_STARTS = [
  '308187020100301306072a8648ce3d020106082a8648ce3d030107', // PKCS#8, P-256
  '302e020100300506032b657004220420', // PKCS#8, Ed25519
  '302e020100300506032b656e04220420', // PKCS#8, X25519
  '30770201010420', // SEC1 EC private key, 32-byte scalar
];
/** Inside longer DER (and so in any hex dump): PKCS#8's version 0 followed by an EC or EdDSA/ECDH algorithm. */
const PKCS8_INNER_HEX = ['020100301306072a8648ce3d0201', '020100300506032b6570', '020100300506032b656e'];

const DER_HEX = new RegExp([...DER_PRIVATE_KEY_STARTS, ...PKCS8_INNER_HEX].join('|'), 'i');
const DER_BASE64 = new RegExp(
  DER_PRIVATE_KEY_STARTS.map((hex) => {
    // Base64 of a DER start is stable only up to the last whole 3-byte group.
    const bytes = hexToBytes(hex);
    return bytesToBase64(bytes.subarray(0, bytes.length - (bytes.length % 3))).replace(/[+/]/g, '\\$&');
  }).join('|'),
);
/** The shortest marker above (SEC1's start in base64): shorter text cannot hold one. */
const DER_MARKER_MIN_LENGTH = 8;

/** Answers for names already seen: records repeat the same few field names (bounded, names are short). */
const secretNameCache = new Map<string, boolean>();
const SECRET_NAME_CACHE_SIZE = 1024;

/** Is this (record or details) field name one that only secrets have? */
export function isSecretName(name: string): boolean {
  const cached = secretNameCache.get(name);
  if (cached !== undefined) return cached;
  const compact = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const secret = SECRET_NAMES_EXACT.includes(compact) || SECRET_NAME_PARTS.some((part) => compact.includes(part));
  if (secretNameCache.size >= SECRET_NAME_CACHE_SIZE) secretNameCache.clear();
  secretNameCache.set(name, secret);
  return secret;
}

/** What secret material a text value looks like, or null. */
export function secretInText(text: string, known?: KnownSecrets): string | null {
  if (text.includes('-----') && PEM_PRIVATE_KEY.test(text)) return 'a PEM private key';
  if (text.includes('"')) {
    if (text.includes('"kty"') && JWK_PRIVATE_MEMBER.test(text)) return 'a JWK with a private member';
    for (const match of text.matchAll(JSON_MEMBER_NAME)) if (isSecretName(match[1]!)) return `a "${match[1]}" member`;
  }
  if (text.length >= DER_MARKER_MIN_LENGTH && (DER_HEX.test(text) || DER_BASE64.test(text))) return 'a DER private key (PKCS#8 or SEC1)';
  return known?.findIn(text) ?? null;
}

/**
 * Refuses anything that looks like secret material, anywhere in `value` (any depth, any field,
 * known or not). Returns the value unchanged when it is clean.
 * @example refuseSecrets({ ...draft, details: { privateKey: '…' } }) // → err audit-secret-refused, field details.privateKey
 */
export function refuseSecrets<T>(value: T, known?: KnownSecrets): Result<T, AuditError> {
  const stack: Array<{ path: string; name: string | null; item: unknown }> = [{ path: '', name: null, item: value }];
  while (stack.length > 0) {
    const { path, name, item } = stack.pop()!;
    const field = path === '' ? 'record' : path;
    if (name !== null && isSecretName(name)) return err(refused(field, `field name "${field}" is for secrets`));
    if (typeof item === 'string') {
      const found = secretInText(item, known);
      if (found !== null) return err(refused(field, `${field} holds ${found}`));
    } else if (item instanceof Uint8Array || item instanceof ArrayBuffer || ArrayBuffer.isView(item)) {
      return err(refused(field, `${field} holds raw bytes: log a fingerprint instead`));
    } else if (isCryptoKeyLike(item)) {
      if (item.type !== 'public') return err(refused(field, `${field} holds a ${item.type} CryptoKey`));
    } else if (Array.isArray(item)) {
      item.forEach((entry, i) => stack.push({ path: `${path}[${i}]`, name: null, item: entry }));
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, entry] of Object.entries(item)) stack.push({ path: path === '' ? key : `${path}.${key}`, name: key, item: entry });
    }
  }
  return ok(value);
}

function refused(field: string, message: string): AuditError {
  return auditError('audit-secret-refused', `refused to log secret material: ${message}`, field);
}

function isCryptoKeyLike(value: unknown): value is { type: string } {
  if (typeof CryptoKey !== 'undefined' && value instanceof CryptoKey) return true;
  return typeof value === 'object' && value !== null && 'algorithm' in value && 'extractable' in value && typeof (value as { type?: unknown }).type === 'string';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Both gates: secrets first (so a secret is named as such), then shape. */
export function admitRecord(value: unknown, known?: KnownSecrets): Result<AuditRecord, AuditError> {
  const clean = refuseSecrets(value, known);
  return clean.ok ? validateRecord(clean.value) : clean;
}
