/**
 * A provisioning plan: the profile turned into the ordered list of typed steps a run will take,
 * known before the board is touched, so the UI can show the checklist (and the clear-text warning)
 * before the operator presses the button. `runProvisioning` walks exactly these steps.
 */
import { type Result, ok, err } from '../smp/result';
import { provisioningError, type ProvisioningError } from './errors';
import { type KeysGroupProfile, type Profile, type ProfileKey, SETTINGS_KEY_LABEL, type SettingsProfile, validateProfile } from './profile';

export type StepKind =
  /** keys group: `info` (device id, algorithms, slots, counter, lock); settings: MCUmgr parameters. */
  | 'identity'
  /** `list`: planned ids free (or chosen to be replaced), auto ids picked. */
  | 'key-ids'
  /** The board's X25519 key that import wraps are sealed to. */
  | 'transport-key'
  /** `generate` on the board, or `import` of a sealed browser/operator value. */
  | 'create-key'
  /** A CSR (from `generate`, or `csr`) or proof of possession (`sign` of a fresh challenge). */
  | 'certify'
  /** The in-browser CA issues the device certificate. */
  | 'issue'
  | 'store-certificate'
  | 'read-back'
  /** The chain read back verifies to the CA root, and the board signs a fresh challenge with the certified key. */
  | 'verify'
  | 'counter'
  | 'lock'
  /** settings: are the planned names free? */
  | 'settings-check'
  /** settings: the device key, made in the browser or given by the operator. */
  | 'settings-key'
  | 'settings-write'
  | 'settings-save'
  | 'settings-read-back'
  | 'settings-commit';

export interface PlanStep {
  /** Unique in the plan: the kind, and the key label for per-key steps (`create-key:random`). */
  id: string;
  kind: StepKind;
  title: string;
  /** The key (label) the step is about. */
  key?: string;
  /** Whether the step sends anything to the board. */
  touchesBoard: boolean;
}

export interface Plan {
  profile: Profile;
  steps: PlanStep[];
  /** Secrets cross the cable unencrypted (settings profiles): warn before the run; the audit records it. */
  clearTextSecrets: boolean;
  /** The operator chose re-provisioning: keys or settings already on the board are replaced. */
  reprovision: boolean;
  /** Labels of the values the operator must give at run time (`RunInput.knownValues`). */
  operatorValues: string[];
  /** The key whose certificate is "the board's certificate": the first certified key. */
  primaryKey: string | null;
  /** Whether the run issues certificates (and so needs a CA). */
  needsCa: boolean;
}

export interface PlanOptions {
  /** Replace keys or settings the board already has (`replace: true`): only when the operator chose to re-provision. */
  reprovision?: boolean;
}

/**
 * @example const plan = planProvisioning(TFM_SAMPLE_PROFILE); if (plan.ok) plan.value.steps.map((step) => step.title)
 */
export function planProvisioning(profile: Profile, options: PlanOptions = {}): Result<Plan, ProvisioningError> {
  const checked = validateProfile(profile);
  if (!checked.ok) return err(provisioningError('profile-invalid', checked.error.message));
  const valid = checked.value;
  const reprovision = options.reprovision === true;
  return ok(valid.kind === 'settings' ? settingsPlan(valid, reprovision) : keysPlan(valid, reprovision));
}

function keysPlan(profile: KeysGroupProfile, reprovision: boolean): Plan {
  const step = (kind: StepKind, title: string, key?: ProfileKey): PlanStep => ({ id: key ? `${kind}:${key.label}` : kind, kind, title, ...(key ? { key: key.label } : {}), touchesBoard: kind !== 'issue' });
  const steps: PlanStep[] = [
    step('identity', 'Read the board identity (device id, algorithms, slots, counter)'),
    step('key-ids', reprovision ? 'Check the key ids (existing keys will be replaced)' : 'Check that the key ids are free'),
  ];
  if (profile.keys.some((key) => key.source !== 'board')) steps.push(step('transport-key', "Fetch the board's transport key for sealed imports"));
  for (const key of profile.keys) {
    const at = key.id === null ? 'at the next free id' : `at ${formatKeyId(key.id)}`;
    steps.push(step('create-key', key.source === 'board' ? `Generate ${key.alg} key "${key.label}" on the board ${at}${key.certificate === 'generate-csr' ? ', with its CSR' : ''}` : `Import ${key.alg} key "${key.label}" ${at}, sealed to the board (${key.source === 'browser' ? 'made in the browser' : "the operator's value"})`, key));
    if (key.certificate === 'none') continue;
    const certify = { 'generate-csr': 'Check the CSR from the generate answer', csr: 'Have the board build a CSR', 'proof-of-possession': 'Check proof of possession (the board signs a fresh challenge)', auto: 'Have the board build a CSR (or prove possession)' }[key.certificate];
    steps.push(step('certify', `${certify} for "${key.label}"`, key));
    steps.push(step('issue', `Issue the certificate for "${key.label}" from the CA`, key));
    steps.push(step('store-certificate', `Store the certificate chain of "${key.label}" on the board`, key));
    steps.push(step('read-back', `Read the chain of "${key.label}" back and compare`, key));
    steps.push(step('verify', `Verify the chain to the CA root and a fresh signature by "${key.label}"`, key));
  }
  if (profile.counter !== null) steps.push(step('counter', `Set the initial session counter (${profile.counter})`));
  if (profile.lock) steps.push(step('lock', 'Lock the board (ends provisioning, irreversible)'));
  const certified = profile.keys.filter((key) => key.certificate !== 'none');
  return {
    profile,
    steps,
    clearTextSecrets: false,
    reprovision,
    operatorValues: profile.keys.filter((key) => key.source === 'operator').map((key) => key.label),
    primaryKey: certified[0]?.label ?? null,
    needsCa: certified.length > 0,
  };
}

function settingsPlan(profile: SettingsProfile, reprovision: boolean): Plan {
  const step = (kind: StepKind, title: string, touchesBoard = true): PlanStep => ({ id: kind, kind, title, touchesBoard });
  const names = profile.settings.map((setting) => setting.name).join(', ');
  const certified = profile.settings.some((setting) => setting.content === 'certificate' || setting.content === 'chain');
  const steps: PlanStep[] = [
    step('identity', 'Check that the board answers (MCUmgr parameters)'),
    step('settings-check', reprovision ? `Read ${names} (existing values will be replaced)` : `Check that ${names} are not set yet`),
    step('settings-key', profile.keySource === 'browser' ? 'Make the device key (P-256) in the browser' : "Read the operator's device key (P-256)", false),
  ];
  if (certified) steps.push(step('issue', 'Issue the device certificate from the CA', false));
  steps.push(
    step('settings-write', `Write ${names} — in the clear`),
    step('settings-save', 'Save the settings to the board\'s storage'),
    step('settings-read-back', 'Read every value back and compare'),
  );
  if (certified) steps.push(step('verify', 'Verify the written chain to the CA root and the key', false));
  steps.push(step('settings-commit', 'Commit the settings (the firmware applies them)'));
  return {
    profile,
    steps,
    clearTextSecrets: true,
    reprovision,
    operatorValues: [
      ...(profile.keySource === 'operator' ? [SETTINGS_KEY_LABEL] : []),
      ...profile.settings.flatMap((setting) => (setting.content === 'operator-secret' && setting.label ? [setting.label] : [])),
    ],
    primaryKey: certified ? SETTINGS_KEY_LABEL : null,
    needsCa: certified,
  };
}

/** PSA key ids as firmware prints them: `0x00000001`. */
export function formatKeyId(id: number): string {
  return `0x${id.toString(16).padStart(8, '0')}`;
}
