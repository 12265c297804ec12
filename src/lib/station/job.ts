/**
 * One board in the station's queue: the serial the operator scanned, where it stands
 * (waiting for a port → connecting → uploading the image → provisioning → pass or fail), and what
 * came out of it. Jobs are plain data, replaced whole on every change, so they persist as they
 * are (IndexedDB) and a view can tell a changed job by identity.
 */
import { type Result, ok, err } from '../smp/result';
import { bytesToHex } from '../util/bytes';
import { type JobFailureCode, type StationError, stationError } from './errors';

const JOB_ID_BYTES = 8;

export type JobState = 'waiting' | 'connecting' | 'uploading' | 'provisioning' | 'pass' | 'fail';

/** States in which a port and a board belong to the job. */
export const ACTIVE_STATES: readonly JobState[] = ['connecting', 'uploading', 'provisioning'];
export const FINISHED_STATES: readonly JobState[] = ['pass', 'fail'];

export interface JobFailure {
  code: JobFailureCode;
  /** One paragraph for the operator: what failed, why, what the board holds now. */
  message: string;
  /** The provisioning step that failed, or the station's phase. */
  step: string | null;
}

/** What a PASS board's label and the summary need; no secret, nothing the audit log lacks. */
export interface JobResult {
  deviceId: string;
  certFingerprint: string | null;
  certSerial: string | null;
  subject: string | null;
  /** SHA-256 of the image uploaded in this run, when there was one. */
  imageSha: string | null;
  /** The run's audit run id. */
  runId: string | null;
}

/** Live progress of a running job; not persisted. */
export interface JobProgress {
  phase: 'connect' | 'upload' | 'provision';
  done: number;
  total: number;
  /** e.g. "Store certificate certified" or "41 KiB of 64 KiB". */
  text: string;
}

export interface StationJob {
  /** Random, stable across reloads. */
  id: string;
  /** Queue order: 1, 2, 3 … in the order the serials were scanned. */
  order: number;
  serial: string;
  state: JobState;
  addedAt: string;
  /** The latest attempt: when its board was found, and when it ended. */
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  attempts: number;
  /** The operator chose to re-provision (a duplicate serial or device): audited as such. */
  reprovision: boolean;
  /** The tab closed while this job ran: its audit intents are reconciled with the board before it runs again. */
  resume: boolean;
  deviceId: string | null;
  /** The port the board is (or was) on, in the operator's words. */
  port: string | null;
  failure: JobFailure | null;
  result: JobResult | null;
  /** What the job says besides its state ("interrupted by a reload…"). */
  note: string | null;
  progress: JobProgress | null;
}

/** Serial numbers: what label printers and scanners produce, and what fits a certificate subject. */
export const SERIAL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
export const SERIAL_MAX_LENGTH = 64;

/**
 * The serial in a scan: a barcode scanner types it and presses Enter, sometimes with a prefix or
 * suffix (Tab, CR, spaces) around it. Inner spaces and DN-special characters are refused.
 * @example normalizeSerial('  SN-0042\r') // { ok: true, value: 'SN-0042' }
 */
export function normalizeSerial(text: string): Result<string, StationError> {
  const serial = text.replace(/\p{Cc}/gu, '').trim();
  if (serial === '') return err(stationError('serial-invalid', 'Scan or type a board serial first.'));
  if (serial.length > SERIAL_MAX_LENGTH) return err(stationError('serial-invalid', `“${serial.slice(0, 20)}…” is ${serial.length} characters; a board serial has at most ${SERIAL_MAX_LENGTH}.`));
  if (!SERIAL_PATTERN.test(serial)) {
    return err(stationError('serial-invalid', `“${serial}” is not a board serial: use letters, digits and . _ : / - (no spaces), starting with a letter or digit.`));
  }
  return ok(serial);
}

/** Serials compare without case: a scanner and a keyboard must not make two boards of one. */
export function serialKey(serial: string): string {
  return serial.toUpperCase();
}

export function isActive(job: StationJob): boolean {
  return ACTIVE_STATES.includes(job.state);
}

export function isFinished(job: StationJob): boolean {
  return FINISHED_STATES.includes(job.state);
}

/** A new job for `serial`, at the end of the queue. */
export function newJob(serial: string, order: number, now: Date, reprovision = false): StationJob {
  return {
    id: randomId(),
    order,
    serial,
    state: 'waiting',
    addedAt: now.toISOString(),
    startedAt: null,
    endedAt: null,
    durationMs: null,
    attempts: 0,
    reprovision,
    resume: false,
    deviceId: null,
    port: null,
    failure: null,
    result: null,
    note: null,
    progress: null,
  };
}

function randomId(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(JOB_ID_BYTES)));
}
