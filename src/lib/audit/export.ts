/**
 * Exports of the log. JSON Lines (jsonl.ts) is the verifiable one: its header carries a signed
 * seal of its size and root, and it ends with a checkpoint of every record it holds.
 * CSV is for spreadsheets and people: RFC 4180 (CRLF, quotes doubled), and safe to open in
 * Excel/LibreOffice — a cell that starts like a formula (`=`, `+`, `-`, `@`, tab, CR) is
 * prefixed with `'` so it stays text (OWASP CSV injection).
 */
import { type Result, ok } from '../smp/result';
import type { StoredRecord } from './chain';
import { type ExportSeal, signExportSeal } from './checkpoint';
import type { AuditError } from './errors';
import { type ExportHeader, EXPORT_FORMAT, formatJsonl } from './jsonl';
import { AUDIT_FIELDS } from './record';
import type { AuditLog } from './store';

/** Records read per IndexedDB call while exporting. */
const READ_BATCH = 1000;

export const CSV_COLUMNS = [...AUDIT_FIELDS, 'entryHash'] as const;
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * The whole log as JSON Lines, closed by a checkpoint of all of it (made now if the log has
 * grown since the last one). Records appended while exporting are left for the next export.
 * @example const text = await exportJsonl(log); if (text.ok) download('audit.jsonl', text.value)
 */
export async function exportJsonl(log: AuditLog, exportedAt: Date = new Date()): Promise<Result<string, AuditError>> {
  const closing = await log.checkpoint();
  if (!closing.ok) return closing;
  const treeSize = closing.value.treeSize;
  const records = await readRecords(log, treeSize);
  if (!records.ok) return records;
  const checkpoints = await log.checkpoints();
  if (!checkpoints.ok) return checkpoints;
  const seal: ExportSeal = { stationId: log.stationId, appBuild: log.appBuild, exportedAt: exportedAt.toISOString(), treeSize, rootHash: closing.value.rootHash };
  const signature = await signExportSeal(log.station, seal);
  if (!signature.ok) return signature;
  const header: ExportHeader = {
    type: 'header',
    format: EXPORT_FORMAT,
    stationId: seal.stationId,
    publicKeyJwk: log.station.publicKeyJwk,
    appBuild: seal.appBuild,
    exportedAt: seal.exportedAt,
    treeSize,
    rootHash: seal.rootHash,
    signature: signature.value,
  };
  return ok(formatJsonl(header, records.value, checkpoints.value.filter((checkpoint) => checkpoint.treeSize <= treeSize)));
}

/** The whole log as CSV (records only; verification needs the JSON Lines export). */
export async function exportCsv(log: AuditLog): Promise<Result<string, AuditError>> {
  const head = await log.head();
  if (!head.ok) return head;
  const records = await readRecords(log, head.value.treeSize);
  return records.ok ? ok(formatCsv(records.value)) : records;
}

async function readRecords(log: AuditLog, upTo: number): Promise<Result<StoredRecord[], AuditError>> {
  const all: StoredRecord[] = [];
  for (let from = 1; from <= upTo; from += READ_BATCH) {
    const batch = await log.records(from, Math.min(upTo, from + READ_BATCH - 1));
    if (!batch.ok) return batch;
    all.push(...batch.value);
  }
  return ok(all);
}

/** @example formatCsv([record]).split('\r\n')[0] === CSV_COLUMNS.join(',') */
export function formatCsv(records: readonly StoredRecord[]): string {
  const rows = [CSV_COLUMNS.map(csvCell).join(',')];
  for (const record of records) {
    rows.push(CSV_COLUMNS.map((column) => csvCell(cellText(record[column]))).join(','));
  }
  return rows.join('\r\n') + '\r\n';
}

function cellText(value: StoredRecord[keyof StoredRecord]): string {
  if (value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  return String(value);
}

/** One RFC 4180 cell that a spreadsheet will show as text. @example csvCell('=1+1') === "'=1+1" */
export function csvCell(text: string): string {
  return csvField(FORMULA_START.test(text) ? `'${text}` : text);
}

/**
 * One RFC 4180 field as it is, for CSV that programs read rather than spreadsheets (a PEM starts
 * with `-` and must stay a PEM): quoted when it holds a quote, comma or line break, quotes doubled.
 * @example csvField('say "hi"') === '"say ""hi"""'
 */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
