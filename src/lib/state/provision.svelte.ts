/**
 * One provisioning run as state the Provision page renders: the profile and its plan (known
 * before the board is touched, so the checklist and any clear-text warning show first), the
 * subject the certificate will carry, the operator's values, then each step ticking off live
 * from the flow's typed events, and at the end the certificate or the failure with what to do.
 *
 * The run writes through the tab's audit log (the provisioning module's audit adapter) and
 * issues from the active CA. Values the operator gives (known keys) stay in memory only: they
 * are kept for a retry and dropped when a run succeeds or the profile changes.
 */
import type { AuditLog } from '../audit';
import type { Board } from '../device';
import { bytesToHex } from '../util/bytes';
import { type CertificateAuthority, decodePemAs, renderSubject } from '../pki';
import {
  auditLogSink,
  BUILTIN_PROFILES,
  planProvisioning,
  runProvisioning,
  type CleanupReport,
  type KnownValueInput,
  type Plan,
  type PlanStep,
  type ProvisioningEvent,
  type ProvisioningFailure,
  type ProvisioningResult,
  type Profile,
} from '../provisioning';
import { type DeviceRegistry, openDeviceRegistry, registerProvisioned, registrationNote, type RegistryError } from '../registry';
import type { Result } from '../smp/result';
import type { AuditTrail } from './audit-trail.svelte';
import type { CertificateAuthorities } from './authorities.svelte';
import { describeCertificate, type CertificateView } from './certificate-view';

export type StepStatus = 'pending' | 'running' | 'recovering' | 'done' | 'skipped' | 'failed';

export interface StepView {
  step: PlanStep;
  status: StepStatus;
  /** Wall-clock ms, once the step ended. */
  ms: number | null;
  /** What the step did, why it was skipped, or why it failed. */
  detail: string | null;
  /** Bytes sent of a certificate chain. */
  progress: { sent: number; total: number } | null;
  /** When the step started (performance.now()), for a live clock. */
  startedAt: number | null;
}

export type RunStatus = 'idle' | 'running' | 'done' | 'failed';

/** What the run needs from the rest of the app. */
export interface ProvisionDeps {
  authorities: Pick<CertificateAuthorities, 'activeAuthority'>;
  audit: Pick<AuditTrail, 'open' | 'refresh'>;
  /** Where a certified board is registered after its run; the app's device registry by default. */
  openRegistry?: () => Promise<Result<DeviceRegistry, RegistryError>>;
}

/** Shown in the subject preview until the board's id has been read. */
export const DEVICE_ID_SAMPLE = 'device-id';

export class Provisioning {
  readonly profiles: readonly Profile[] = BUILTIN_PROFILES;
  profileId = $state(BUILTIN_PROFILES[0]!.id);
  /** Replace keys or settings already on the board (re-provisioning). */
  reprovision = $state(false);
  boardSerial = $state('');
  operator = $state('');
  /** The operator read the clear-text warning of a settings profile. */
  clearTextAccepted = $state(false);
  /** Which operator values are given, and from where ("typed", a file name); the values themselves are not state. */
  given = $state<Record<string, string>>({});
  /** The connected board's device id, for the subject preview. */
  deviceId = $state<string | null>(null);

  status = $state<RunStatus>('idle');
  steps = $state<StepView[]>([]);
  cleanup = $state.raw<CleanupReport[]>([]);
  result = $state.raw<ProvisioningResult | null>(null);
  failure = $state.raw<ProvisioningFailure | null>(null);
  /** The board's certificate (and its chain), from the result. */
  certificates = $state.raw<CertificateView[]>([]);
  /** After a run that issued a certificate: added to the device registry, or why not (the run stays done either way). */
  registration = $state.raw<{ ok: boolean; text: string } | null>(null);
  /** A refusal before the run could start (no board, no audit log). */
  error = $state<string | null>(null);

  readonly profile = $derived(this.profiles.find((profile) => profile.id === this.profileId) ?? this.profiles[0]!);
  readonly plan = $derived(planProvisioning(this.profile, { reprovision: this.reprovision }));
  /** The subject the primary certificate will carry, with the values known now. */
  readonly subjectPreview = $derived(this.preview());
  readonly missingValues = $derived(this.plan.ok ? this.plan.value.operatorValues.filter((label) => !this.given[label]) : []);
  readonly canStart = $derived(
    this.status !== 'running' && this.plan.ok && this.missingValues.length === 0 && (!this.plan.value.clearTextSecrets || this.clearTextAccepted) && this.boardSerial.trim() !== '',
  );

  private values: Record<string, KnownValueInput> = {};
  private controller: AbortController | null = null;

  constructor(private readonly deps: ProvisionDeps) {}

  chooseProfile(id: string): void {
    if (this.status === 'running' || id === this.profileId) return;
    this.profileId = id;
    this.forgetValues();
    this.clearTextAccepted = false;
    this.reset();
  }

  /** The operator's value for key `label`: a PKCS#8 key (PEM/DER), a raw 32-byte scalar or 64 hex. Held in memory only. */
  giveValue(label: string, value: KnownValueInput, source: string): void {
    if (typeof value === 'string' ? value.trim() === '' : value.length === 0) {
      delete this.values[label];
      delete this.given[label];
      return;
    }
    this.values[label] = typeof value === 'string' ? value.trim() : value;
    this.given[label] = source;
  }

  /** Reads the board's device id for the subject preview (keys/info); quietly nothing when it cannot. */
  async readDeviceId(board: Board): Promise<void> {
    const info = await board.keys.info();
    this.deviceId = info.ok ? bytesToHex(info.value.deviceId) : null;
  }

  /** Runs the plan against `board`, step by step; resolves with the result or null (see `failure` / `error`). */
  async run(board: Board | null): Promise<ProvisioningResult | null> {
    if (this.status === 'running') return null;
    this.reset();
    if (!board) return this.refuse('Not connected: connect to a board first.');
    if (!this.plan.ok) return this.refuse(this.plan.error.message);
    const plan = this.plan.value;
    const log = await this.deps.audit.open();
    if (!log) return this.refuse('The audit log could not be opened, so nothing was done: every step must be recorded.');
    const ca = plan.needsCa ? await this.deps.authorities.activeAuthority() : null;
    this.steps = plan.steps.map((step) => ({ step, status: 'pending', ms: null, detail: null, progress: null, startedAt: null }));
    this.status = 'running';
    const controller = (this.controller = new AbortController());
    try {
      const run = await runProvisioning({
        board,
        plan,
        ca,
        boardSerial: this.boardSerial.trim(),
        ...(this.operator.trim() ? { operator: this.operator.trim() } : {}),
        // Copies: the flow zeroes what it read, and a retry needs the values again.
        knownValues: Object.fromEntries(Object.entries(this.values).map(([label, value]) => [label, typeof value === 'string' ? value : value.slice()])),
        audit: auditLogSink(log),
        signal: controller.signal,
        onEvent: (event) => this.apply(event),
      });
      if (run.ok) {
        this.result = run.value;
        this.certificates = await this.certificateViews(run.value);
        this.registration = await this.register(run.value, ca, log);
        this.status = 'done';
        this.forgetValues();
        return run.value;
      }
      this.failure = run.error;
      this.cleanup = run.error.cleanup;
      this.status = 'failed';
      return null;
    } finally {
      this.controller = null;
      await this.deps.audit.refresh();
    }
  }

  /** Stops the run before its next request; the flow cleans up what it made. */
  cancel(): void {
    this.controller?.abort();
  }

  private apply(event: ProvisioningEvent): void {
    const update = (index: number, change: Partial<StepView>) => {
      const view = this.steps[index];
      if (view) this.steps[index] = { ...view, ...change };
    };
    switch (event.type) {
      case 'step-started':
        return update(event.index, { status: 'running', startedAt: performance.now() });
      case 'step-progress':
        return update(event.index, { progress: { sent: event.sent, total: event.total } });
      case 'step-recovering':
        return update(event.index, { status: 'recovering', detail: event.reason });
      case 'step-done':
        return update(event.index, { status: 'done', ms: event.timing.ms, detail: event.detail });
      case 'step-skipped':
        return update(event.index, { status: 'skipped', detail: event.reason });
      case 'step-failed':
        return update(event.index, { status: 'failed', ms: event.timing.ms, detail: event.error.message });
      case 'cleanup':
        this.cleanup = [...this.cleanup, event.report];
        return;
      default:
        return;
    }
  }

  /** Registers the board's chain under the CA that issued it (registry/provisioned.ts). */
  private async register(result: ProvisioningResult, ca: CertificateAuthority | null, log: AuditLog): Promise<{ ok: boolean; text: string } | null> {
    if (!result.certificate || !ca) return null;
    const registered = await registerProvisioned(
      { certificatePem: result.certificate.pem, issuersPem: result.certificate.chainPem, root: ca.root.certificate },
      { boardSerial: result.boardSerial, deviceId: result.deviceId, runId: result.runId, ...(this.operator.trim() ? { operator: this.operator.trim() } : {}) },
      { audit: log, openRegistry: this.deps.openRegistry ?? (() => openDeviceRegistry()) },
    );
    return { ok: registered.ok, text: registrationNote(registered) };
  }

  private preview(): { text: string; error: null } | { text: null; error: string } {
    const template = this.plan.ok ? (this.primaryTemplate(this.plan.value) ?? this.profile.subjectTemplate) : this.profile.subjectTemplate;
    const boardSerial = this.boardSerial.trim() || 'SERIAL';
    // A keys-group board names itself (keys/info); a settings-only board is known by its serial.
    const deviceId = this.profile.kind === 'settings' ? boardSerial : (this.deviceId ?? DEVICE_ID_SAMPLE);
    const rendered = renderSubject(template, { deviceId, boardSerial, profile: this.profile.id, keyLabel: this.plan.ok ? (this.plan.value.primaryKey ?? '') : '', keyId: 'KEY-ID' });
    return rendered.ok ? { text: rendered.value.text, error: null } : { text: null, error: rendered.error.message };
  }

  private primaryTemplate(plan: Plan): string | null {
    if (plan.profile.kind !== 'keys-group' || !plan.primaryKey) return null;
    return plan.profile.keys.find((key) => key.label === plan.primaryKey)?.subjectTemplate ?? null;
  }

  private async certificateViews(result: ProvisioningResult): Promise<CertificateView[]> {
    if (!result.certificate) return [];
    const pems = [result.certificate.pem, ...result.certificate.chainPem];
    const views: CertificateView[] = [];
    for (const [index, pem] of pems.entries()) {
      const der = decodePemAs(pem, 'CERTIFICATE');
      if (!der.ok || !der.value[0]) continue;
      const view = await describeCertificate(der.value[0], index === 0 ? 'Device' : 'Issuing CA');
      if (view.ok) views.push(view.value);
    }
    return views;
  }

  private reset(): void {
    this.status = 'idle';
    this.steps = [];
    this.cleanup = [];
    this.result = null;
    this.failure = null;
    this.certificates = [];
    this.registration = null;
    this.error = null;
  }

  private forgetValues(): void {
    for (const value of Object.values(this.values)) if (value instanceof Uint8Array) value.fill(0);
    this.values = {};
    this.given = {};
  }

  private refuse(message: string): null {
    this.error = message;
    return null;
  }
}
