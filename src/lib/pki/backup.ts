/**
 * Backup and restore of CA private keys, only ever wrapped: PBKDF2-HMAC-SHA256 (≥ 600,000
 * iterations, OWASP 2023; the count is stored) over the NFC-normalised passphrase with a random
 * 16-byte salt gives an AES-256-GCM key; a random 12-byte IV; the plaintext is DER
 * `SEQUENCE { intermediate PrivateKeyInfo, root PrivateKeyInfo OPTIONAL }` (PKCS#8), so no key
 * material passes through JavaScript strings. Every other field of the blob is the GCM additional
 * data, so certificates, label and KDF parameters cannot be swapped without failing decryption.
 *
 * A backup can only be made while the key bytes are in hand: when a CA is created
 * (`createCa({ backupPassphrase })`) or imported from PKCS#8. Afterwards the keys are
 * non-extractable. A lost passphrase loses the CA: nothing here can recover it.
 */
import { base64ToBytes, bytesToBase64, concatBytes, utf8 } from '../util/bytes';
import { type Result, ok } from '../smp/result';
import { type CertificateAuthority, caIdFor, checkCaCertificates } from './authority';
import { DER_TAG, derEncode, readChildren, readOnly, tlvBytes } from './der';
import { describeCaught, fail, type PkiError } from './errors';
import { type ParsedCertificate, parseCertificate } from './parse';
import { encodePem } from './pem';
import { importP256SigningKey, privateKeyMatches } from './signing-key';
import { bufferSource, randomBytes } from './webcrypto';

export const CA_BACKUP_FORMAT = 'imprint-ca-backup/1';
export const BACKUP_KDF = 'PBKDF2-SHA256';
export const BACKUP_CIPHER = 'AES-256-GCM';
/** OWASP Password Storage Cheat Sheet (2023): PBKDF2-HMAC-SHA256, 600,000 iterations. */
export const PBKDF2_MIN_ITERATIONS = 600_000;
/** A backup asking for more is refused rather than left to freeze the tab. */
export const PBKDF2_MAX_ITERATIONS = 10_000_000;
export const MIN_PASSPHRASE_LENGTH = 12;
const SALT_LENGTH = 16;
const IV_LENGTH = 12;

export interface CaBackup {
  format: typeof CA_BACKUP_FORMAT;
  label: string;
  /** ISO 8601. */
  createdAt: string;
  kdf: typeof BACKUP_KDF;
  iterations: number;
  /** Base64. */
  salt: string;
  cipher: typeof BACKUP_CIPHER;
  /** Base64. */
  iv: string;
  /** Base64 of the AES-GCM output (ciphertext ‖ 16-byte tag). */
  ciphertext: string;
  /** PEM, public: the CA can be inspected without the passphrase. */
  certificates: { root: string; intermediate: string; chain: string[] };
}

export type BackupErrorCode =
  | 'backup-malformed'
  | 'backup-unsupported'
  | 'backup-weak-passphrase'
  | 'backup-wrong-passphrase'
  | 'backup-key-mismatch'
  | 'backup-bad-chain';
export type BackupError = PkiError<BackupErrorCode>;

export interface SealCaBackupInput {
  label: string;
  createdAt: Date;
  certificates: { root: Uint8Array; intermediate: Uint8Array; chain: readonly Uint8Array[] };
  /** PKCS#8 DER of the private keys; the root's may be absent (an imported CA whose root lives elsewhere). */
  keys: { intermediate: Uint8Array; root?: Uint8Array };
  passphrase: string;
  iterations?: number;
}

/** Refuses a passphrase too short to stand against an offline guess, and returns it NFC-normalised. */
export function checkPassphrase(passphrase: string): Result<string, BackupError> {
  const normalized = passphrase.normalize('NFC');
  if ([...normalized].length < MIN_PASSPHRASE_LENGTH) {
    return fail('backup-weak-passphrase', `backup passphrase: use at least ${MIN_PASSPHRASE_LENGTH} characters (a lost passphrase loses the CA; a short one does not protect it)`);
  }
  return ok(normalized);
}

/** Wraps the CA keys with `passphrase`. */
export async function sealCaBackup(input: SealCaBackupInput): Promise<Result<CaBackup, BackupError>> {
  const passphrase = checkPassphrase(input.passphrase);
  if (!passphrase.ok) return passphrase;
  const iterations = input.iterations ?? PBKDF2_MIN_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < PBKDF2_MIN_ITERATIONS || iterations > PBKDF2_MAX_ITERATIONS) {
    return fail('backup-unsupported', `backup: iterations must be an integer from ${PBKDF2_MIN_ITERATIONS} to ${PBKDF2_MAX_ITERATIONS}, got ${iterations}`);
  }
  const salt = randomBytes(SALT_LENGTH);
  const iv = randomBytes(IV_LENGTH);
  const header: Omit<CaBackup, 'ciphertext'> = {
    format: CA_BACKUP_FORMAT,
    label: input.label,
    createdAt: input.createdAt.toISOString(),
    kdf: BACKUP_KDF,
    iterations,
    salt: bytesToBase64(salt),
    cipher: BACKUP_CIPHER,
    iv: bytesToBase64(iv),
    certificates: {
      root: encodePem('CERTIFICATE', input.certificates.root),
      intermediate: encodePem('CERTIFICATE', input.certificates.intermediate),
      chain: input.certificates.chain.map((der) => encodePem('CERTIFICATE', der)),
    },
  };
  const plaintext = derEncode(DER_TAG.SEQUENCE, concatBytes(input.keys.intermediate, input.keys.root ?? new Uint8Array()));
  const key = await deriveKey(passphrase.value, salt, iterations, 'encrypt');
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: additionalData(header) }, key, bufferSource(plaintext));
  plaintext.fill(0);
  return ok({ ...header, ciphertext: bytesToBase64(new Uint8Array(ciphertext)) });
}

export function serializeCaBackup(backup: CaBackup): string {
  return `${JSON.stringify(backup, null, 2)}\n`;
}

/** Reads a backup file's text; checks its shape, not the passphrase. */
export function parseCaBackup(text: string): Result<CaBackup, BackupError> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (caught) {
    return fail('backup-malformed', `backup: not JSON (${describeCaught(caught)})`);
  }
  return checkShape(value);
}

/**
 * Unwraps a backup into a CA whose keys are non-extractable. A wrong passphrase (or a changed
 * file: AES-GCM cannot tell the two apart) is `backup-wrong-passphrase`; nothing is stored here,
 * the caller saves the result.
 * @example const restored = await restoreCaBackup(fileText, passphrase);
 *   if (restored.ok) await store.saveCa(restored.value);
 */
export async function restoreCaBackup(backup: CaBackup | string, passphrase: string): Promise<Result<CertificateAuthority, BackupError>> {
  const shaped = typeof backup === 'string' ? parseCaBackup(backup) : checkShape(backup);
  if (!shaped.ok) return shaped;
  const blob = shaped.value;
  if (blob.format !== CA_BACKUP_FORMAT || blob.kdf !== BACKUP_KDF || blob.cipher !== BACKUP_CIPHER) {
    return fail('backup-unsupported', `backup: format ${blob.format} with ${blob.kdf} and ${blob.cipher} is not one this version reads (${CA_BACKUP_FORMAT}, ${BACKUP_KDF}, ${BACKUP_CIPHER})`);
  }
  if (!Number.isInteger(blob.iterations) || blob.iterations < PBKDF2_MIN_ITERATIONS || blob.iterations > PBKDF2_MAX_ITERATIONS) {
    return fail('backup-unsupported', `backup: ${blob.iterations} PBKDF2 iterations is outside ${PBKDF2_MIN_ITERATIONS}–${PBKDF2_MAX_ITERATIONS}`);
  }
  const salt = base64ToBytes(blob.salt);
  const iv = base64ToBytes(blob.iv);
  const ciphertext = base64ToBytes(blob.ciphertext);
  if (!salt || salt.length !== SALT_LENGTH || !iv || iv.length !== IV_LENGTH || !ciphertext) return fail('backup-malformed', 'backup: salt, iv or ciphertext is not valid base64 of the right length');
  const certificates = parseBackupCertificates(blob);
  if (!certificates.ok) return certificates;
  const { root, intermediate, chain } = certificates.value;
  const chainChecked = await checkCaCertificates(intermediate, chain, root);
  if (!chainChecked.ok) return fail('backup-bad-chain', `backup: the certificates do not form a CA chain: ${chainChecked.error.message}`);

  const { ciphertext: _, ...header } = blob;
  const key = await deriveKey(passphrase.normalize('NFC'), salt, blob.iterations, 'decrypt');
  let plaintext: Uint8Array;
  try {
    plaintext = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bufferSource(iv), additionalData: additionalData(header) }, key, bufferSource(ciphertext)));
  } catch {
    return fail('backup-wrong-passphrase', 'backup: wrong passphrase, or the file was changed after it was made');
  }
  try {
    const keys = readKeys(plaintext);
    if (!keys.ok) return keys;
    const intermediateKey = await importKeyFor(keys.value.intermediate, intermediate, 'intermediate');
    if (!intermediateKey.ok) return intermediateKey;
    const rootKey = keys.value.root ? await importKeyFor(keys.value.root, root, 'root') : undefined;
    if (rootKey && !rootKey.ok) return rootKey;
    return ok({
      id: await caIdFor(intermediate.der),
      label: blob.label,
      createdAt: new Date(blob.createdAt),
      origin: 'restored',
      backup: 'passphrase-backup',
      root: { certificate: root.der, ...(rootKey ? { privateKey: rootKey.value } : {}) },
      intermediate: { certificate: intermediate.der, privateKey: intermediateKey.value },
      chain: chain.map((certificate) => certificate.der),
    });
  } finally {
    plaintext.fill(0);
  }
}

async function deriveKey(passphrase: string, salt: Uint8Array, iterations: number, usage: KeyUsage): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', bufferSource(utf8.encode(passphrase)), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: bufferSource(salt), iterations }, material, { name: 'AES-GCM', length: 256 }, false, [usage]);
}

/** Every field but the ciphertext, in a fixed order: the GCM additional data. */
function additionalData(header: Omit<CaBackup, 'ciphertext'>): Uint8Array<ArrayBuffer> {
  const { format, label, createdAt, kdf, iterations, salt, cipher, iv, certificates } = header;
  return bufferSource(utf8.encode(JSON.stringify([format, label, createdAt, kdf, iterations, salt, cipher, iv, certificates.root, certificates.intermediate, certificates.chain])));
}

function readKeys(plaintext: Uint8Array): Result<{ intermediate: Uint8Array; root?: Uint8Array }, BackupError> {
  const sequence = readOnly(plaintext, DER_TAG.SEQUENCE, 'backup keys');
  const children = sequence.ok ? readChildren(plaintext, sequence.value) : sequence;
  if (!children.ok || children.value.length < 1 || children.value.length > 2) return fail('backup-malformed', 'backup: the decrypted keys are not SEQUENCE { PrivateKeyInfo, PrivateKeyInfo? }');
  const [intermediate, root] = children.value;
  return ok({ intermediate: tlvBytes(plaintext, intermediate!), ...(root ? { root: tlvBytes(plaintext, root) } : {}) });
}

async function importKeyFor(pkcs8: Uint8Array, certificate: ParsedCertificate, role: string): Promise<Result<CryptoKey, BackupError>> {
  let key: CryptoKey;
  try {
    key = await importP256SigningKey(pkcs8);
  } catch (caught) {
    return fail('backup-malformed', `backup: the ${role} key is not a P-256 PKCS#8 key (${describeCaught(caught)})`);
  }
  if (!certificate.publicKey.point || !(await privateKeyMatches(key, certificate.publicKey.point))) {
    return fail('backup-key-mismatch', `backup: the ${role} key does not belong to the ${role} certificate '${certificate.subject.text}'`);
  }
  return ok(key);
}

function parseBackupCertificates(blob: CaBackup): Result<{ root: ParsedCertificate; intermediate: ParsedCertificate; chain: ParsedCertificate[] }, BackupError> {
  const read = (pem: string, what: string): Result<ParsedCertificate, BackupError> => {
    const parsed = parseCertificate(pem);
    return parsed.ok ? parsed : fail('backup-malformed', `backup: ${what} certificate: ${parsed.error.message}`);
  };
  const root = read(blob.certificates.root, 'root');
  if (!root.ok) return root;
  const intermediate = read(blob.certificates.intermediate, 'intermediate');
  if (!intermediate.ok) return intermediate;
  const chain: ParsedCertificate[] = [];
  for (const [index, pem] of blob.certificates.chain.entries()) {
    const parsed = read(pem, `chain ${index + 1}`);
    if (!parsed.ok) return parsed;
    chain.push(parsed.value);
  }
  return ok({ root: root.value, intermediate: intermediate.value, chain });
}

function checkShape(value: unknown): Result<CaBackup, BackupError> {
  const record = value as Record<string, unknown> | null;
  const certificates = record?.certificates as Record<string, unknown> | undefined;
  const strings = ['format', 'label', 'createdAt', 'kdf', 'salt', 'cipher', 'iv', 'ciphertext'] as const;
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return fail('backup-malformed', 'backup: not a JSON object');
  for (const field of strings) if (typeof record[field] !== 'string') return fail('backup-malformed', `backup: field ${field} is missing or not a string`);
  if (typeof record.iterations !== 'number') return fail('backup-malformed', 'backup: field iterations is missing or not a number');
  if (Number.isNaN(new Date(record.createdAt as string).getTime())) return fail('backup-malformed', 'backup: createdAt is not a date');
  if (
    typeof certificates !== 'object' ||
    certificates === null ||
    typeof certificates.root !== 'string' ||
    typeof certificates.intermediate !== 'string' ||
    !Array.isArray(certificates.chain) ||
    !certificates.chain.every((item) => typeof item === 'string')
  ) {
    return fail('backup-malformed', 'backup: certificates must be { root, intermediate, chain[] } in PEM');
  }
  return ok(value as CaBackup);
}
