/**
 * A device profile: what one product's provisioning run does, as data — the key plan (which keys,
 * at which ids, made where, certified how), the subject template, the CA and the keys group id —
 * or, for boards with only Zephyr's standard groups, which values go into which settings.
 * Profiles travel as JSON (`exportProfile` / `parseProfile`); parsing checks every field and
 * names the one that is wrong. A profile never holds a secret: known key values come from the
 * operator at run time.
 */
import { GENERATE_ALGS, IMPORT_ALGS, KEY_ALG_USAGE, KEY_USAGE, KEYS_MGMT_GROUP_DEFAULT, isUserKeyId } from '../device/keys-ids';
import { MAX_DEVICE_VALIDITY_DAYS } from '../pki';
import { type Result, ok, err } from '../smp/result';

export const PROFILE_FORMAT = 'imprint-profile/1';

/** Where a key's value comes from: made by the board (never leaves it), made in the browser, or given by the operator; the last two arrive sealed (HPKE). */
export type KeySource = 'board' | 'browser' | 'operator';
export const KEY_SOURCES: readonly KeySource[] = ['board', 'browser', 'operator'];

/**
 * How a key gets its certificate. `generate-csr`: the board returns the CSR with the new key
 * (firmware that can only sign a CSR while it holds the new key). `csr`: the board builds one for
 * the key. `proof-of-possession`: the board signs a fresh challenge and the CA certifies the bare
 * public key. `auto`: `csr`, or proof of possession when the board cannot build CSRs.
 */
export type CertificatePath = 'none' | 'generate-csr' | 'csr' | 'proof-of-possession' | 'auto';
export const CERTIFICATE_PATHS: readonly CertificatePath[] = ['none', 'generate-csr', 'csr', 'proof-of-possession', 'auto'];

/** Algorithms a profile key may have: the ones a board can both hold and, for P-256, sign with. */
export type ProfileKeyAlg = 'p256' | 'x25519';
const PROFILE_KEY_ALGS: readonly ProfileKeyAlg[] = ['p256', 'x25519'];

export interface ProfileKey {
  /** Names the key in the plan, the result, the audit log and the operator's known values: `[a-z][a-z0-9-]*`, up to 32. */
  label: string;
  /** PSA user key id, or null: the run picks the lowest id free on the board and in the plan. */
  id: number | null;
  alg: ProfileKeyAlg;
  /** PSA usage flags; the algorithm's default when left out. */
  usage?: number;
  source: KeySource;
  certificate: CertificatePath;
  /** This key's certificate subject, when it differs from the profile's. */
  subjectTemplate?: string;
}

/** What a settings value holds. `operator-secret`: bytes the operator gives at run time under `label`. */
export type SettingContent = 'private-key' | 'certificate' | 'chain' | 'counter' | 'operator-secret';
export const SETTING_CONTENTS: readonly SettingContent[] = ['private-key', 'certificate', 'chain', 'counter', 'operator-secret'];

export interface ProfileSetting {
  /** The settings name, `root/leaf` (Zephyr settings). */
  name: string;
  content: SettingContent;
  /** For `operator-secret`: the name the operator's value is given under. */
  label?: string;
}

interface ProfileBase {
  format: typeof PROFILE_FORMAT;
  /** `[a-z][a-z0-9-]*`, up to 64. */
  id: string;
  name: string;
  description?: string;
  /** e.g. `CN={deviceId}, serialNumber={boardSerial}`; see `renderSubject` (pki). */
  subjectTemplate: string;
  /** The CA that must issue (its id: SHA-256 of its intermediate), or null for the one chosen at run time. */
  caId: string | null;
  validityDays: number;
  /** Initial session counter, or null to leave it alone. Never lowered. */
  counter: number | null;
}

/** A board with Imprint's keys group. */
export interface KeysGroupProfile extends ProfileBase {
  kind: 'keys-group';
  /** The keys group's SMP group id on this product (default 64). */
  keysGroup: number;
  keys: ProfileKey[];
  /** Lock the board at the end (irreversible: no more imports, destroys, counter writes). */
  lock: boolean;
}

/** A board with only Zephyr's standard groups: values go through the settings group, in the clear. */
export interface SettingsProfile extends ProfileBase {
  kind: 'settings';
  /** The device's P-256 key: made in the browser, or given by the operator (label `device`). */
  keySource: 'browser' | 'operator';
  settings: ProfileSetting[];
}

export type Profile = KeysGroupProfile | SettingsProfile;

export type ProfileErrorCode = 'profile-not-json' | 'profile-format' | 'profile-invalid-field' | 'profile-duplicate' | 'profile-bad-combination';
export interface ProfileError {
  code: ProfileErrorCode;
  message: string;
  /** The field at fault, as a path: `keys[2].source`. */
  field?: string;
}

/** The label an operator's device key goes under in a settings profile. */
export const SETTINGS_KEY_LABEL = 'device';
/** The default subject template: the board's device id and the serial the operator scanned. */
export const DEFAULT_SUBJECT_TEMPLATE = 'CN={deviceId}, serialNumber={boardSerial}';
/** Longest settings name we write; Zephyr's `CONFIG_SETTINGS_MAX_NAME_LEN` is larger by default. */
const SETTING_NAME_MAX = 64;
const LABEL = /^[a-z][a-z0-9-]{0,31}$/;
const PROFILE_ID = /^[a-z][a-z0-9-]{0,63}$/;
const SETTING_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+$/;
const CA_ID = /^[0-9a-f]{64}$/;

/**
 * Reads a profile from JSON text or an already-parsed value, checking every field.
 * @example const profile = parseProfile(await file.text()); if (!profile.ok) show(profile.error.message);
 */
export function parseProfile(input: string | unknown): Result<Profile, ProfileError> {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (caught) {
      return err({ code: 'profile-not-json', message: `profile: not JSON (${caught instanceof Error ? caught.message : String(caught)})` });
    }
  }
  return validateProfile(value);
}

/** The profile as JSON, fields in a fixed order, for download and for `parseProfile`. */
export function exportProfile(profile: Profile): string {
  return JSON.stringify(profile, null, 2) + '\n';
}

/** Checks a profile value field by field and returns a clean copy (unknown fields refused). */
export function validateProfile(value: unknown): Result<Profile, ProfileError> {
  const reader = new FieldReader();
  try {
    return ok(readProfile(reader, value));
  } catch (caught) {
    if (caught instanceof ProfileFieldError) return err(caught.error);
    throw caught;
  }
}

class ProfileFieldError extends Error {
  constructor(readonly error: ProfileError) {
    super(error.message);
  }
}

function refuse(code: ProfileErrorCode, field: string | undefined, message: string): never {
  throw new ProfileFieldError({ code, message: field ? `profile: ${field}: ${message}` : `profile: ${message}`, ...(field ? { field } : {}) });
}

/** Reads fields off plain objects, refusing what is missing, mistyped or unknown. */
class FieldReader {
  object(value: unknown, field: string, known: readonly string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse('profile-invalid-field', field || undefined, 'must be an object');
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!known.includes(key)) refuse('profile-invalid-field', join(field, key), 'is not a profile field');
    return record;
  }

  text(record: Record<string, unknown>, field: string, key: string, pattern?: RegExp, form?: string): string {
    const value = record[key];
    if (typeof value !== 'string' || value.length === 0) refuse('profile-invalid-field', join(field, key), 'must be non-empty text');
    if (pattern && !pattern.test(value)) refuse('profile-invalid-field', join(field, key), `must be ${form}`);
    return value;
  }

  optionalText(record: Record<string, unknown>, field: string, key: string): string | undefined {
    return record[key] === undefined ? undefined : this.text(record, field, key);
  }

  integer(record: Record<string, unknown>, field: string, key: string, min: number, max: number): number {
    const value = record[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) refuse('profile-invalid-field', join(field, key), `must be a whole number from ${min} to ${max}`);
    return value;
  }

  oneOf<T extends string>(record: Record<string, unknown>, field: string, key: string, values: readonly T[]): T {
    const value = record[key];
    if (typeof value !== 'string' || !values.includes(value as T)) refuse('profile-invalid-field', join(field, key), `must be one of ${values.join(', ')}`);
    return value as T;
  }

  boolean(record: Record<string, unknown>, field: string, key: string): boolean {
    const value = record[key];
    if (typeof value !== 'boolean') refuse('profile-invalid-field', join(field, key), 'must be true or false');
    return value;
  }

  array(record: Record<string, unknown>, field: string, key: string): unknown[] {
    const value = record[key];
    if (!Array.isArray(value) || value.length === 0) refuse('profile-invalid-field', join(field, key), 'must be a non-empty list');
    return value;
  }
}

function join(field: string, key: string): string {
  return field ? `${field}.${key}` : key;
}

const BASE_FIELDS = ['format', 'id', 'name', 'description', 'kind', 'subjectTemplate', 'caId', 'validityDays', 'counter'] as const;

function readProfile(reader: FieldReader, value: unknown): Profile {
  const kind = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).kind : undefined;
  const extra = kind === 'settings' ? ['keySource', 'settings'] : ['keysGroup', 'keys', 'lock'];
  const record = reader.object(value, '', [...BASE_FIELDS, ...extra]);
  if (record.format !== PROFILE_FORMAT) refuse('profile-format', 'format', `must be "${PROFILE_FORMAT}" (this is not an Imprint profile, or a newer one)`);
  const profileKind = reader.oneOf(record, '', 'kind', ['keys-group', 'settings'] as const);
  // Field order here is the order `exportProfile` writes.
  const base = {
    format: PROFILE_FORMAT,
    id: reader.text(record, '', 'id', PROFILE_ID, 'lowercase letters, digits and dashes, starting with a letter (up to 64)'),
    name: reader.text(record, '', 'name'),
    ...(record.description !== undefined ? { description: reader.text(record, '', 'description') } : {}),
    kind: profileKind,
    subjectTemplate: reader.text(record, '', 'subjectTemplate'),
    caId: record.caId === null ? null : reader.text(record, '', 'caId', CA_ID, 'null or 64 lowercase hex characters (the CA id)'),
    validityDays: reader.integer(record, '', 'validityDays', 1, MAX_DEVICE_VALIDITY_DAYS),
    counter: record.counter === null ? null : reader.integer(record, '', 'counter', 0, Number.MAX_SAFE_INTEGER),
  } as const;
  if (profileKind === 'settings') {
    const settings = reader.array(record, '', 'settings').map((item, index) => readSetting(reader, item, `settings[${index}]`));
    const names = new Set<string>();
    settings.forEach((setting, index) => {
      if (names.has(setting.name)) refuse('profile-duplicate', `settings[${index}].name`, `"${setting.name}" is written twice`);
      names.add(setting.name);
    });
    if (!settings.some((setting) => setting.content === 'private-key')) refuse('profile-bad-combination', 'settings', 'a settings profile must write the device key (content "private-key")');
    if (base.counter === null && settings.some((setting) => setting.content === 'counter')) refuse('profile-bad-combination', 'counter', 'a "counter" setting needs an initial counter value');
    return { ...base, kind: 'settings', keySource: reader.oneOf(record, '', 'keySource', ['browser', 'operator'] as const), settings };
  }
  const keys = reader.array(record, '', 'keys').map((item, index) => readKey(reader, item, `keys[${index}]`));
  const labels = new Set<string>();
  const ids = new Set<number>();
  keys.forEach((key, index) => {
    if (labels.has(key.label)) refuse('profile-duplicate', `keys[${index}].label`, `"${key.label}" names two keys`);
    labels.add(key.label);
    if (key.id !== null) {
      if (ids.has(key.id)) refuse('profile-duplicate', `keys[${index}].id`, `key id ${key.id} is planned twice`);
      ids.add(key.id);
    }
  });
  return {
    ...base,
    kind: 'keys-group',
    keysGroup: record.keysGroup === undefined ? KEYS_MGMT_GROUP_DEFAULT : reader.integer(record, '', 'keysGroup', KEYS_MGMT_GROUP_DEFAULT, 0xffff),
    keys,
    lock: record.lock === undefined ? false : reader.boolean(record, '', 'lock'),
  };
}

function readKey(reader: FieldReader, value: unknown, field: string): ProfileKey {
  const record = reader.object(value, field, ['label', 'id', 'alg', 'usage', 'source', 'certificate', 'subjectTemplate']);
  const label = reader.text(record, field, 'label', LABEL, 'lowercase letters, digits and dashes, starting with a letter (up to 32)');
  const id = record.id === null ? null : record.id;
  if (id !== null && !isUserKeyId(id)) refuse('profile-invalid-field', `${field}.id`, 'must be null or a PSA user key id (1 to 0x3FFFFFFF)');
  const alg = reader.oneOf(record, field, 'alg', PROFILE_KEY_ALGS);
  const source = reader.oneOf(record, field, 'source', KEY_SOURCES);
  const certificate = reader.oneOf(record, field, 'certificate', CERTIFICATE_PATHS);
  const subjectTemplate = reader.optionalText(record, field, 'subjectTemplate');
  let usage: number | undefined;
  if (record.usage !== undefined) {
    usage = reader.integer(record, field, 'usage', 1, 0xffffffff);
    if (usage & KEY_USAGE.EXPORT) refuse('profile-bad-combination', `${field}.usage`, 'the export bit is refused: private keys never leave the board');
    if ((usage & ~KEY_ALG_USAGE[alg].allowed) !== 0) refuse('profile-bad-combination', `${field}.usage`, `has bits a ${alg} key cannot have`);
  }
  if (source === 'board' && !GENERATE_ALGS.includes(alg)) refuse('profile-bad-combination', `${field}.source`, `${alg} keys cannot be generated on the board`);
  if (source !== 'board' && !IMPORT_ALGS.includes(alg)) refuse('profile-bad-combination', `${field}.source`, `${alg} keys cannot be imported`);
  if (certificate !== 'none' && alg !== 'p256') refuse('profile-bad-combination', `${field}.certificate`, `only P-256 keys get certificates (this key is ${alg}); use "none"`);
  if (certificate === 'generate-csr' && source !== 'board') refuse('profile-bad-combination', `${field}.certificate`, '"generate-csr" needs a key generated on the board (source "board")');
  if (certificate !== 'none' && usage !== undefined && (usage & KEY_USAGE.SIGN_HASH) === 0) {
    refuse('profile-bad-combination', `${field}.usage`, 'a certified key must be able to sign (SIGN_HASH, 0x1000) for its CSR and proof of possession');
  }
  return { label, id, alg, ...(usage !== undefined ? { usage } : {}), source, certificate, ...(subjectTemplate !== undefined ? { subjectTemplate } : {}) };
}

function readSetting(reader: FieldReader, value: unknown, field: string): ProfileSetting {
  const record = reader.object(value, field, ['name', 'content', 'label']);
  const name = reader.text(record, field, 'name', SETTING_NAME, `a settings name like "imprint/key" (root/leaf, letters, digits, _ . -, up to ${SETTING_NAME_MAX})`);
  if (name.length > SETTING_NAME_MAX) refuse('profile-invalid-field', `${field}.name`, `is longer than ${SETTING_NAME_MAX} characters`);
  const content = reader.oneOf(record, field, 'content', SETTING_CONTENTS);
  if (content === 'operator-secret') return { name, content, label: reader.text(record, field, 'label', LABEL, 'lowercase letters, digits and dashes (up to 32)') };
  if (record.label !== undefined) refuse('profile-invalid-field', `${field}.label`, 'is only for "operator-secret" settings');
  return { name, content };
}
