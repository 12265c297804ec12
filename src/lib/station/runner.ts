/**
 * One board's run at the station, on a board already connected and identified: refuse a device
 * provisioned before (unless the operator chose re-provisioning), reconcile what an interrupted
 * run left (its audit intents, against what the board holds now), upload the firmware image when
 * the shift has one, then provision. Returns PASS with what the label needs, or FAIL with a
 * reason; it never throws, so one board's trouble stays on its own row.
 */
import type { StoredRecord } from '../audit';
import type { Board } from '../device';
import { uploadImage } from '../device/upload';
import { planProvisioning, runProvisioning, type ProvisioningEvent } from '../provisioning';
import { type DeviceRegistry, registerProvisioned, type RegistryError } from '../registry';
import type { Result } from '../smp/result';
import { STATION_ACTIONS, type StationAudit } from './audit';
import { messageOf, type StationErrorCode } from './errors';
import type { JobFailure, JobProgress, JobResult, JobState, StationJob } from './job';
import { describeEntry, type ProvisionedLedger } from './ledger';
import type { StationSetup } from './setup';

/** Closes an interrupted run's open intents with what `board` holds now; says how many and what it found. */
export type ReconcileIntents = (board: Board, intents: StoredRecord[], audit: StationAudit) => Promise<{ closed: number; message: string }>;

export interface JobRunInput {
  /** The job as it starts (serial, reprovision, resume). */
  job: StationJob;
  board: Board;
  /** The board's device id as `keys/info` gave it; null for boards without the keys group. */
  deviceId: string | null;
  setup: StationSetup;
  audit: StationAudit;
  ledger: ProvisionedLedger;
  reconcile?: ReconcileIntents;
  /** Where a PASS board with a certificate is registered (its refusal is audited, the board still passes). */
  openRegistry: () => Promise<Result<DeviceRegistry, RegistryError>>;
  signal: AbortSignal;
  /** A new phase (`state`) or progress within it. */
  onProgress: (state: JobState, progress: JobProgress) => void;
}

export type JobOutcome = { state: 'pass'; result: JobResult } | { state: 'fail'; failure: JobFailure };

/**
 * @example const outcome = await runStationJob({ job, board, deviceId, setup, audit, ledger, signal, onProgress });
 */
export async function runStationJob(input: JobRunInput): Promise<JobOutcome> {
  try {
    return await runSteps(input);
  } catch (caught) {
    return fail('station-error', `The station hit an unexpected error: ${messageOf(caught)}`, 'station');
  }
}

async function runSteps(input: JobRunInput): Promise<JobOutcome> {
  const { job, board, deviceId, setup, audit, ledger } = input;
  const base = { boardSerial: job.serial, ...(deviceId ? { deviceId } : {}), ...(setup.operator ? { operator: setup.operator } : {}) };

  if (deviceId && !job.reprovision && !job.resume) {
    const earlier = ledger.byDevice(deviceId);
    if (earlier) {
      return fail(
        'device-provisioned',
        `This board (device ${deviceId}) was already provisioned as ${describeEntry(earlier)}. Nothing was sent to it. Unplug it, or choose Re-provision to give it a new identity as ${job.serial}.`,
        'identity',
      );
    }
  }

  let reprovision = job.reprovision;
  if (job.resume) {
    const resumed = await resume(input);
    if (!resumed.ok) return resumed.outcome;
    reprovision = true;
  }

  let imageSha: string | null = null;
  if (setup.image) {
    const image = setup.image;
    const total = image.bytes.length;
    input.onProgress('uploading', { phase: 'upload', done: 0, total, text: `${image.name} ${image.version}` });
    const intent = await audit.intent(STATION_ACTIONS.upload, { ...base, details: { sha: image.sha, bytes: String(total), version: image.version, file: image.name.slice(0, 256) } });
    if (!intent.ok) return fail('audit-unavailable', `The audit log refused the upload record, so nothing was sent: ${intent.error.message}`, 'upload');
    const uploaded = await uploadImage(board.client, image.bytes, {
      params: board.params,
      signal: input.signal,
      onEvent: (event) => {
        if (event.kind === 'progress') input.onProgress('uploading', { phase: 'upload', done: event.acknowledged, total, text: `${kib(event.acknowledged)} of ${kib(total)} KiB` });
      },
    });
    if (!uploaded.ok) {
      const { error } = uploaded;
      await audit.outcome(intent.value, 'failed', { errorCode: error.code, errorMessage: error.message, details: { offset: String(error.offset) } });
      if (error.code === 'aborted') return fail('cancelled', `Cancelled during the image upload at ${kib(error.offset)} of ${kib(total)} KiB. Retry continues from there.`, 'upload');
      return fail('upload-failed', `Image upload failed at ${kib(error.offset)} of ${kib(total)} KiB: ${error.message}. Retry continues from there.`, 'upload');
    }
    const summary = uploaded.value;
    const closed = await audit.outcome(intent.value, 'ok', { details: { sha: summary.sha, sentBytes: String(summary.sentBytes), resumedFrom: String(summary.resumedFrom), seconds: summary.seconds.toFixed(2) } });
    if (!closed.ok) return fail('audit-unavailable', `The image was uploaded but the audit log refused its outcome: ${closed.error.message}`, 'upload');
    imageSha = summary.sha;
  }

  const plan = planProvisioning(setup.profile, { reprovision });
  if (!plan.ok) return fail(plan.error.code, plan.error.message, 'plan');
  const steps = plan.value.steps;
  input.onProgress('provisioning', { phase: 'provision', done: 0, total: steps.length, text: steps[0]?.title ?? '' });
  const onEvent = (event: ProvisioningEvent) => {
    if (event.type === 'step-started') input.onProgress('provisioning', { phase: 'provision', done: event.index, total: steps.length, text: event.step.title });
    else if (event.type === 'step-progress') input.onProgress('provisioning', { phase: 'provision', done: event.index, total: steps.length, text: `${event.step.title}: ${event.sent} of ${event.total} bytes` });
  };
  const sink = audit.runSink();
  const run = await runProvisioning({
    board,
    plan: plan.value,
    ca: setup.ca,
    boardSerial: job.serial,
    ...(setup.operator ? { operator: setup.operator } : {}),
    knownValues: setup.knownValues(),
    audit: sink,
    onEvent,
    signal: input.signal,
  });
  if (!run.ok) {
    const failure = run.error;
    const code = failure.error.code === 'aborted' ? 'cancelled' : failure.error.code;
    return { state: 'fail', failure: { code, message: failure.message, step: failure.step?.id ?? null } };
  }
  const result = run.value;
  if (result.certificate && setup.ca) {
    await registerProvisioned(
      { certificatePem: result.certificate.pem, issuersPem: result.certificate.chainPem, root: setup.ca.root.certificate },
      { boardSerial: job.serial, deviceId: result.deviceId, runId: result.runId, ...(setup.operator ? { operator: setup.operator } : {}) },
      { audit: audit.log, openRegistry: input.openRegistry },
    );
  }
  ledger.add({
    serial: job.serial,
    deviceId: result.deviceId,
    seq: null,
    time: new Date().toISOString(),
    certFingerprint: result.certificate?.fingerprint ?? null,
    certSerial: result.certificate?.serialNumber ?? null,
  });
  return {
    state: 'pass',
    result: {
      deviceId: result.deviceId,
      certFingerprint: result.certificate?.fingerprint ?? null,
      certSerial: result.certificate?.serialNumber ?? null,
      subject: result.certificate?.subject ?? null,
      imageSha,
      runId: result.runId,
    },
  };
}

/** Closes what an interrupted run of this serial left open, and records that the station runs it again (replacing what it made). */
async function resume(input: JobRunInput): Promise<{ ok: true } | { ok: false; outcome: JobOutcome }> {
  const { job, board, deviceId, audit } = input;
  input.onProgress('connecting', { phase: 'connect', done: 0, total: 1, text: 'Reconciling the interrupted run' });
  const open = await audit.log.unreconciledIntents();
  if (!open.ok) return { ok: false, outcome: fail('reconcile-failed', `Could not read the audit log to reconcile the interrupted run: ${open.error.message}`, 'reconcile') };
  const mine = open.value.filter((intent) => intent.boardSerial === job.serial && (!intent.deviceId || !deviceId || intent.deviceId === deviceId));
  let note = 'no open intents';
  if (mine.length > 0) {
    if (!input.reconcile) return { ok: false, outcome: fail('reconcile-failed', `${mine.length} audit intents of the interrupted run are open and this station cannot re-read the board to close them.`, 'reconcile') };
    const reconciled = await input.reconcile(board, mine, audit);
    note = reconciled.message;
    if (reconciled.closed < mine.length) return { ok: false, outcome: fail('reconcile-failed', `Reconciling the interrupted run: ${reconciled.message}`, 'reconcile') };
  }
  const recorded = await audit.decision(STATION_ACTIONS.resume, {
    boardSerial: job.serial,
    ...(deviceId ? { deviceId } : {}),
    ...(input.setup.operator ? { operator: input.setup.operator } : {}),
    details: { reason: 'interrupted', intents: mine.map((intent) => intent.seq).join(' ').slice(0, 256) || 'none', reconciled: note.slice(0, 256), next: 'reprovision' },
  });
  if (!recorded.ok) return { ok: false, outcome: fail('audit-unavailable', `The audit log refused the resume record: ${recorded.error.message}`, 'reconcile') };
  return { ok: true };
}

function fail(code: StationErrorCode | JobFailure['code'], message: string, step: string | null): JobOutcome {
  return { state: 'fail', failure: { code, message, step } };
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0);
}
