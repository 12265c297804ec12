/**
 * The shift summary: how many boards were queued, passed and failed, the yield, the mean time per
 * board and the failures grouped by reason — and its exports, JSON (summary and one row per board)
 * and CSV (one row per board), offered beside the audit log's own export.
 */
import { csvCell } from '../audit';
import type { JobFailureCode } from './errors';
import { isActive, type StationJob } from './job';

export interface FailureGroup {
  code: JobFailureCode;
  count: number;
  /** The latest message with this code, for the operator. */
  example: string;
  serials: string[];
}

export interface ShiftSummary {
  /** Every job in the queue. */
  queued: number;
  waiting: number;
  running: number;
  passed: number;
  failed: number;
  /** passed ÷ (passed + failed); null before any board finished. */
  yield: number | null;
  /** Boards that passed at their first attempt ÷ boards finished. */
  firstPassYield: number | null;
  /** Mean wall time of the finished boards' last attempts, seconds (board found → PASS/FAIL). */
  meanSecondsPerBoard: number | null;
  meanSecondsPass: number | null;
  /** Boards finished per hour between the first start and the last end (parallel runs count in full). */
  boardsPerHour: number | null;
  /** First board started, last board ended (ISO). */
  from: string | null;
  to: string | null;
  failuresByReason: FailureGroup[];
}

/**
 * @example summarize(station.jobs) // { passed: 19, failed: 1, yield: 0.95, meanSecondsPerBoard: 9.4, failuresByReason: [{ code: 'slots-insufficient', count: 1, … }] }
 */
export function summarize(jobs: readonly StationJob[]): ShiftSummary {
  const passed = jobs.filter((job) => job.state === 'pass');
  const failed = jobs.filter((job) => job.state === 'fail');
  const finished = [...passed, ...failed];
  const mean = (list: StationJob[]) => (list.length === 0 ? null : round(list.reduce((sum, job) => sum + (job.durationMs ?? 0), 0) / list.length / 1000, 2));
  const starts = finished.map((job) => job.startedAt).filter((time): time is string => time !== null).sort();
  const ends = finished.map((job) => job.endedAt).filter((time): time is string => time !== null).sort();
  const from = starts[0] ?? null;
  const to = ends.at(-1) ?? null;
  const spanHours = from && to ? (Date.parse(to) - Date.parse(from)) / 3_600_000 : 0;
  const groups = new Map<JobFailureCode, FailureGroup>();
  for (const job of failed) {
    if (!job.failure) continue;
    const group = groups.get(job.failure.code) ?? { code: job.failure.code, count: 0, example: job.failure.message, serials: [] };
    group.count++;
    group.example = job.failure.message;
    group.serials.push(job.serial);
    groups.set(job.failure.code, group);
  }
  return {
    queued: jobs.length,
    waiting: jobs.filter((job) => job.state === 'waiting').length,
    running: jobs.filter(isActive).length,
    passed: passed.length,
    failed: failed.length,
    yield: finished.length === 0 ? null : round(passed.length / finished.length, 4),
    firstPassYield: finished.length === 0 ? null : round(passed.filter((job) => job.attempts === 1).length / finished.length, 4),
    meanSecondsPerBoard: mean(finished),
    meanSecondsPass: mean(passed),
    boardsPerHour: spanHours > 0 ? round(finished.length / spanHours, 1) : null,
    from,
    to,
    failuresByReason: [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
  };
}

export const SUMMARY_FORMAT = 'imprint-shift-summary/1';

export interface SummaryMeta {
  stationId: string;
  appBuild: string;
  profile: string;
  operator: string;
  exportedAt: string;
}

/** The summary and one row per board, as JSON. */
export function summaryJson(jobs: readonly StationJob[], meta: SummaryMeta): string {
  return JSON.stringify({ format: SUMMARY_FORMAT, ...meta, summary: summarize(jobs), boards: jobs.map(boardRow) }, null, 2) + '\n';
}

export const SUMMARY_CSV_COLUMNS = ['order', 'serial', 'state', 'attempts', 'reprovision', 'deviceId', 'certFingerprint', 'certSerial', 'startedAt', 'endedAt', 'seconds', 'failureCode', 'failureStep', 'failureMessage', 'port'] as const;

/** One row per board, as CSV (spreadsheet-safe cells, like the audit CSV). */
export function summaryCsv(jobs: readonly StationJob[]): string {
  const rows = [SUMMARY_CSV_COLUMNS.join(',')];
  for (const job of jobs) {
    const row = boardRow(job);
    rows.push(SUMMARY_CSV_COLUMNS.map((column) => csvCell(row[column] === null ? '' : String(row[column]))).join(','));
  }
  return rows.join('\r\n') + '\r\n';
}

type BoardRow = Record<(typeof SUMMARY_CSV_COLUMNS)[number], string | number | boolean | null>;

function boardRow(job: StationJob): BoardRow {
  return {
    order: job.order,
    serial: job.serial,
    state: job.state,
    attempts: job.attempts,
    reprovision: job.reprovision,
    deviceId: job.result?.deviceId ?? job.deviceId,
    certFingerprint: job.result?.certFingerprint ?? null,
    certSerial: job.result?.certSerial ?? null,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
    seconds: job.durationMs === null ? null : round(job.durationMs / 1000, 2),
    failureCode: job.failure?.code ?? null,
    failureStep: job.failure?.step ?? null,
    failureMessage: job.failure?.message ?? null,
    port: job.port,
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
