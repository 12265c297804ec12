/**
 * The profiles Imprint ships. Each is plain data (see `profile.ts`), so an operator can export
 * one, change ids or templates, and import it back.
 *
 * - `tfm-sample`: the TF-M provisioning sample's three P-256 keys at fixed ids — one generated on
 *   the board with a random value, one with a pre-determined value imported wrapped, and one with
 *   a pre-determined value whose certificate joins the two-level chain (root → issuing CA →
 *   device). The pre-determined values come from the operator at run time.
 * - `supervisor`: an X25519 scalar generated on the board, its public key recorded, the initial
 *   session counter set. (Set the key's source to `operator` to import a known scalar wrapped.)
 * - `settings-only`: boards with only Zephyr's standard groups: a P-256 key made in the browser,
 *   its certificate and chain and the counter written through the settings group — in the clear.
 */
import { KEY_USAGE, KEYS_MGMT_GROUP_DEFAULT } from '../device/keys-ids';
import { DEFAULT_SUBJECT_TEMPLATE, type KeysGroupProfile, PROFILE_FORMAT, type Profile, type SettingsProfile } from './profile';

/** Ten years: a device certificate is cut at the issuing CA's notAfter anyway. */
const DEFAULT_VALIDITY_DAYS = 3650;

/** Sign and verify, hash and message: PSA's default for P-256, written out so the profile says it. */
const P256_SIGN = KEY_USAGE.SIGN_HASH | KEY_USAGE.SIGN_MESSAGE | KEY_USAGE.VERIFY_HASH | KEY_USAGE.VERIFY_MESSAGE;

export const TFM_SAMPLE_PROFILE: KeysGroupProfile = {
  format: PROFILE_FORMAT,
  id: 'tfm-sample',
  name: 'TF-M provisioning sample',
  description: 'Three P-256 keys at fixed ids: random (made on the board), known (imported wrapped), and known with a device certificate from the in-browser CA.',
  kind: 'keys-group',
  subjectTemplate: DEFAULT_SUBJECT_TEMPLATE,
  caId: null,
  validityDays: DEFAULT_VALIDITY_DAYS,
  counter: null,
  keysGroup: KEYS_MGMT_GROUP_DEFAULT,
  keys: [
    { label: 'random', id: 0x00000001, alg: 'p256', usage: P256_SIGN, source: 'board', certificate: 'none' },
    { label: 'known', id: 0x00000002, alg: 'p256', usage: P256_SIGN, source: 'operator', certificate: 'none' },
    { label: 'certified', id: 0x00000003, alg: 'p256', usage: P256_SIGN, source: 'operator', certificate: 'auto' },
  ],
  lock: false,
};

export const SUPERVISOR_PROFILE: KeysGroupProfile = {
  format: PROFILE_FORMAT,
  id: 'supervisor',
  name: 'Supervisor (X25519 + session counter)',
  description: 'An X25519 key agreement key made on the board, its public key recorded; the initial session counter set.',
  kind: 'keys-group',
  subjectTemplate: DEFAULT_SUBJECT_TEMPLATE,
  caId: null,
  validityDays: DEFAULT_VALIDITY_DAYS,
  counter: 1,
  keysGroup: KEYS_MGMT_GROUP_DEFAULT,
  keys: [{ label: 'supervisor', id: 0x00000010, alg: 'x25519', usage: KEY_USAGE.DERIVE, source: 'board', certificate: 'none' }],
  lock: false,
};

export const SETTINGS_ONLY_PROFILE: SettingsProfile = {
  format: PROFILE_FORMAT,
  id: 'settings-only',
  name: 'Settings only (Zephyr standard groups)',
  description: 'For firmware without the keys group: a P-256 key made in the browser, its certificate and chain, and the session counter written through the settings group. The key crosses the cable in the clear.',
  kind: 'settings',
  subjectTemplate: DEFAULT_SUBJECT_TEMPLATE,
  caId: null,
  validityDays: DEFAULT_VALIDITY_DAYS,
  counter: 1,
  keySource: 'browser',
  settings: [
    { name: 'imprint/key', content: 'private-key' },
    { name: 'imprint/cert', content: 'certificate' },
    { name: 'imprint/chain', content: 'chain' },
    { name: 'imprint/counter', content: 'counter' },
  ],
};

export const BUILTIN_PROFILES: readonly Profile[] = [TFM_SAMPLE_PROFILE, SUPERVISOR_PROFILE, SETTINGS_ONLY_PROFILE];

/** A shipped profile by id. */
export function builtinProfile(id: string): Profile | undefined {
  return BUILTIN_PROFILES.find((profile) => profile.id === id);
}
