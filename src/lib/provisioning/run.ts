/**
 * `runProvisioning`: walks a plan's steps against a connected board, one at a time, each checked
 * before the next; emits a typed event for every step; audits the run as one intent/outcome pair
 * around the steps' own records; and on any failure cleans up (destroys what the run made, or
 * reports what it could not) so the board is left in a known state and the run can be retried.
 */
import { type Result, ok, err } from '../smp/result';
import { KeysFlow } from './keys-flow';
import { SettingsFlow } from './settings-flow';
import { errorFields, type Flow, RunContext, type RunInput } from './context';
import { provisioningError, type ProvisioningError, type ProvisioningErrorCode } from './errors';
import { readPrivateScalar } from '../pki';
import type { PlanStep } from './plan';
import { type ProfileKeyAlg, SETTINGS_KEY_LABEL } from './profile';
import type { BoardState, CleanupReport, ProvisioningFailure, ProvisioningResult, RunTimings } from './result';

/** Failures the operator must fix (profile, CA, inputs, board model) before a retry can succeed. */
const FIX_FIRST: readonly ProvisioningErrorCode[] = [
  'profile-invalid',
  'ca-missing',
  'ca-mismatch',
  'subject-invalid',
  'board-unsupported',
  'board-locked',
  'slots-insufficient',
  'known-value-missing',
  'known-value-invalid',
  'transport-key-unsupported',
];

/**
 * Provisions the connected board as `input.plan` says.
 * @example
 *   const plan = planProvisioning(TFM_SAMPLE_PROFILE);
 *   if (plan.ok) {
 *     const run = await runProvisioning({ board, plan: plan.value, ca, boardSerial: 'SN-0042', knownValues, audit, onEvent: (event) => view.push(event) });
 *     if (run.ok) show(run.value.certificate?.fingerprint); else show(run.error.message);
 *   }
 */
export async function runProvisioning(input: RunInput): Promise<Result<ProvisioningResult, ProvisioningFailure>> {
  const ctx = new RunContext(input);
  const started = performance.now();
  const { plan } = input;
  ctx.emit({ type: 'run-started', runId: ctx.runId, plan });

  const refused = checkInput(input);
  if (refused) return failed(ctx, started, null, refused, [], null);

  const flow = plan.profile.kind === 'settings' ? new SettingsFlow(ctx, plan.profile) : new KeysFlow(ctx, plan.profile);
  try {
    const opened = await ctx.openRun({
      ...ctx.auditBase({ keys: describeKeys(input), ...(plan.clearTextSecrets ? { plaintextOnWire: 'true' } : {}), ...(plan.reprovision ? { reprovision: 'true' } : {}) }),
    });
    if (!opened.ok) return failed(ctx, started, null, opened.error, [], flow);

    for (const [index, step] of plan.steps.entries()) {
      if (input.signal?.aborted) return failed(ctx, started, step, provisioningError('aborted', `${step.title}: cancelled before it started`), await cleanup(ctx, flow), flow);
      ctx.begin(step, index);
      const done = await flow.step(step);
      const timing = ctx.end();
      if (!done.ok) {
        ctx.emit({ type: 'step-failed', step, index, timing, error: done.error });
        return failed(ctx, started, step, done.error, await cleanup(ctx, flow), flow);
      }
      if ('skipped' in done.value) ctx.emit({ type: 'step-skipped', step, index, reason: done.value.skipped });
      else ctx.emit({ type: 'step-done', step, index, timing, detail: done.value.detail });
    }

    const result = buildResult(ctx, flow, started);
    const primary = result.keys.find((key) => key.label === result.primaryKey);
    const closed = await ctx.closeRun('ok', {
      ...ctx.auditBase({ path: result.path ?? 'none', keys: result.keys.map((key) => `${key.label}:${key.keyId}:${key.spkiFingerprint.slice(0, 16)}`).join(' ').slice(0, 256) }),
      ...(primary ? { keyId: primary.keyId, keyFingerprint: primary.spkiFingerprint } : {}),
      ...(result.certificate ? { certSerial: result.certificate.serialNumber, certFingerprint: result.certificate.fingerprint } : {}),
      ...(result.counter !== null ? { counter: result.counter } : {}),
    });
    if (!closed.ok) return failed(ctx, started, null, closed.error, [], flow);
    result.timings = totals(ctx, started);
    ctx.emit({ type: 'run-done', result });
    return ok(result);
  } finally {
    flow.dispose();
    ctx.releaseSecrets();
  }
}

/** Refusals before the board is touched: a CA where one is needed (and the profile's), a serial, the operator's values. */
function checkInput(input: RunInput): ProvisioningError | null {
  const { plan } = input;
  if (input.boardSerial.trim() === '') return provisioningError('subject-invalid', 'The board serial is empty: scan or type it first.');
  if (plan.needsCa && !input.ca) return provisioningError('ca-missing', `Profile "${plan.profile.id}" issues certificates: create or import a CA first.`);
  if (plan.needsCa && plan.profile.caId !== null && input.ca && input.ca.id !== plan.profile.caId) {
    return provisioningError('ca-mismatch', `Profile "${plan.profile.id}" is bound to CA ${plan.profile.caId.slice(0, 16)}…; the chosen CA is ${input.ca.id.slice(0, 16)}….`);
  }
  const missing = plan.operatorValues.filter((label) => input.knownValues?.[label] === undefined);
  if (missing.length > 0) return provisioningError('known-value-missing', `Profile "${plan.profile.id}" needs the operator's value${missing.length === 1 ? '' : 's'} for ${missing.map((label) => `"${label}"`).join(', ')}.`);
  for (const [label, alg] of operatorKeys(plan)) {
    const scalar = readPrivateScalar(input.knownValues![label]!, alg === 'p256' ? 'P-256' : 'X25519');
    if (!scalar.ok) return provisioningError('known-value-invalid', `key "${label}": ${scalar.error.message}`, { key: label, cause: scalar.error });
    scalar.value.fill(0);
  }
  return null;
}

/** The operator's private keys a plan takes, by label: checked before the run touches the board. */
function operatorKeys(plan: RunInput['plan']): [string, ProfileKeyAlg][] {
  const profile = plan.profile;
  if (profile.kind === 'settings') return profile.keySource === 'operator' ? [[SETTINGS_KEY_LABEL, 'p256']] : [];
  return profile.keys.filter((key) => key.source === 'operator').map((key) => [key.label, key.alg]);
}

async function cleanup(ctx: RunContext, flow: Flow): Promise<CleanupReport[]> {
  ctx.beginPhase('cleanup');
  const reports = await flow.cleanup();
  ctx.end();
  return reports;
}

async function failed(ctx: RunContext, started: number, step: PlanStep | null, error: ProvisioningError, cleaned: CleanupReport[], flow: Flow | null): Promise<Result<never, ProvisioningFailure>> {
  const boardState: BoardState = cleaned.some((report) => !report.removed) ? 'needs-attention' : cleaned.length > 0 ? 'cleaned' : 'unchanged';
  const counter = flow?.summary().counter ?? null;
  const stateText = {
    unchanged: 'The board was not changed.',
    cleaned: `What this run made was removed: ${cleaned.map((report) => report.message).join('; ')}.`,
    'needs-attention': `The board needs attention: ${cleaned.map((report) => report.message).join('; ')}. Re-provision to replace what was left.`,
  }[boardState];
  const counterText = counter !== null && step?.kind === 'lock' ? ` The session counter stays at ${counter} (it never goes down).` : '';
  const message = `${step ? `${step.title}: failed. ` : ''}${error.message} ${stateText}${counterText}`;
  const next = error.code === 'already-provisioned' || error.code === 'key-id-conflict' || boardState === 'needs-attention' ? 'reprovision' : FIX_FIRST.includes(error.code) ? 'fix-and-retry' : 'retry';
  await ctx.closeRun(outcomeOf(boardState), { ...ctx.auditBase({ ...(step ? { step: step.id } : {}), board: boardState }), ...errorFields(error) });
  const failure: ProvisioningFailure = { runId: ctx.runId, error, step, cleanup: cleaned, boardState, message, next, timings: totals(ctx, started) };
  ctx.emit({ type: 'run-failed', failure });
  return err(failure);
}

/** A failed run left the board `unchanged` or `cleaned` (known); otherwise what is on it is uncertain. */
function outcomeOf(state: BoardState): 'failed' | 'unknown' {
  return state === 'needs-attention' ? 'unknown' : 'failed';
}

function buildResult(ctx: RunContext, flow: Flow, started: number): ProvisioningResult {
  const { plan } = ctx;
  const { keys, counter, settings } = flow.summary();
  const primary = keys.find((key) => key.label === plan.primaryKey) ?? null;
  return {
    runId: ctx.runId,
    profileId: plan.profile.id,
    kind: plan.profile.kind,
    deviceId: ctx.deviceId ?? ctx.input.boardSerial,
    boardSerial: ctx.input.boardSerial,
    firmware: ctx.firmware,
    keys,
    primaryKey: primary?.label ?? null,
    certificate: primary?.certificate ?? null,
    path: primary?.path ?? null,
    counter,
    clearTextSecrets: plan.clearTextSecrets,
    settings,
    reprovisioned: plan.reprovision && keys.some((key) => key.replaced),
    timings: totals(ctx, started),
  };
}

function totals(ctx: RunContext, started: number): RunTimings {
  const steps = ctx.timings();
  const sum = (bucket: 'boardMs' | 'cryptoMs' | 'auditMs') => Math.round(steps.reduce((total, step) => total + step[bucket], 0) * 100) / 100;
  return { totalMs: Math.round((performance.now() - started) * 100) / 100, boardMs: sum('boardMs'), cryptoMs: sum('cryptoMs'), auditMs: sum('auditMs'), steps };
}

function describeKeys(input: RunInput): string {
  const profile = input.plan.profile;
  const text = profile.kind === 'settings' ? profile.settings.map((setting) => `${setting.name}:${setting.content}`).join(' ') : profile.keys.map((key) => `${key.label}:${key.id ?? 'auto'}:${key.source}:${key.certificate}`).join(' ');
  return text.slice(0, 256);
}
