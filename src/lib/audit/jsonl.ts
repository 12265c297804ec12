/**
 * The JSON Lines export format (docs/audit-format.md): a header line, then one line per record
 * (its fields plus `entryHash`), with each checkpoint line right after the record it ends at.
 * `formatJsonl` writes it; `parseExport` reads it back into typed entries and names every line
 * it cannot use. The parser never throws: a broken file is a list of problems, not an exception.
 */
import { type AuditRecord, refuseSecrets, validateRecord } from './record';
import type { StoredRecord } from './chain';
import type { ExportSeal, SignedCheckpoint } from './checkpoint';
import type { Problem } from './problems';
import type { StationPublicJwk } from './station';

export const EXPORT_FORMAT = 'imprint-audit/1';

/** The first line: who wrote the export, with what key, and its signed seal (checkpoint.ts). */
export interface ExportHeader extends ExportSeal {
  type: 'header';
  format: typeof EXPORT_FORMAT;
  publicKeyJwk: StationPublicJwk;
  /** Over `exportSealBytes`: stationId, appBuild, exportedAt, treeSize, rootHash. */
  signature: string;
}

/** One record of a parsed file. `record` is null when the line's fields are not well-formed. */
export interface RecordEntry {
  file: string;
  line: number;
  seq: number;
  /** The stated entryHash, or null when the line has none that is 64 lowercase hex. */
  entryHash: string | null;
  record: AuditRecord | null;
}

export interface CheckpointEntry {
  file: string;
  line: number;
  checkpoint: SignedCheckpoint;
}

export interface ParsedExport {
  file: string;
  header: ExportHeader | null;
  headerLine: number;
  /** In file order. */
  records: RecordEntry[];
  checkpoints: CheckpointEntry[];
  /** Lines that could not be used, and the header's faults. */
  problems: Problem[];
}

const HEX64 = /^[0-9a-f]{64}$/;
const SIGNATURE_HEX = /^[0-9a-f]{128}$/;
const STATION_ID = /^[0-9a-f]{16}$/;

/**
 * Writes an export. Checkpoints go right after the record whose seq is their tree size (a
 * checkpoint of the empty log right after the header).
 */
export function formatJsonl(header: ExportHeader, records: readonly StoredRecord[], checkpoints: readonly SignedCheckpoint[]): string {
  const after = new Map<number, SignedCheckpoint[]>();
  for (const checkpoint of checkpoints) after.set(checkpoint.treeSize, [...(after.get(checkpoint.treeSize) ?? []), checkpoint]);
  const lines = [JSON.stringify(header)];
  const flush = (seq: number) => {
    for (const checkpoint of after.get(seq) ?? []) lines.push(checkpointLine(checkpoint));
  };
  flush(0);
  for (const record of records) {
    lines.push(recordLine(record));
    flush(record.seq);
  }
  return lines.join('\n') + '\n';
}

export function recordLine(record: StoredRecord): string {
  return JSON.stringify({ type: 'record', ...record });
}

export function checkpointLine(checkpoint: SignedCheckpoint): string {
  const { stationId, treeSize, rootHash, time, signature } = checkpoint;
  return JSON.stringify({ type: 'checkpoint', stationId, treeSize, rootHash, time, signature });
}

/** Reads one export file. @example parseExport(text, 'station-a.jsonl').problems.length === 0 */
export function parseExport(text: string, file: string): ParsedExport {
  const parsed: ParsedExport = { file, header: null, headerLine: 0, records: [], checkpoints: [], problems: [] };
  const problem = (line: number, kind: Problem['kind'], message: string, seq: number | null = null) =>
    parsed.problems.push({ station: parsed.header?.stationId ?? null, seq, kind, message, file, line });
  const lines = text.split('\n');
  let sawFirst = false;
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index]!;
    const line = index + 1;
    if (raw.trim() === '') continue;
    const value = parseJson(raw);
    const type = isObject(value) && typeof value.type === 'string' ? value.type : null;
    if (!sawFirst) {
      sawFirst = true;
      if (type !== 'header') {
        problem(line, 'not-an-export', 'not an Imprint audit export: the first line is not a header line {"type":"header",…}');
        return parsed;
      }
    }
    if (value === undefined) problem(line, 'malformed', 'line is not valid JSON');
    else if (!isObject(value) || type === null) problem(line, 'malformed', 'line is not a JSON object with a "type"');
    else if (type === 'header') readHeader(value, line, parsed, problem);
    else if (type === 'record') readRecord(value, line, parsed, problem);
    else if (type === 'checkpoint') readCheckpoint(value, line, parsed, problem);
    else problem(line, 'malformed', `unknown line type "${type.slice(0, 40)}"`);
  }
  if (!sawFirst) parsed.problems.push({ station: null, seq: null, kind: 'not-an-export', message: 'the file is empty', file });
  return parsed;
}

type Report = (line: number, kind: Problem['kind'], message: string, seq?: number | null) => void;

function readHeader(value: Record<string, unknown>, line: number, parsed: ParsedExport, problem: Report): void {
  if (parsed.header) return problem(line, 'malformed', `a second header line (the first is line ${parsed.headerLine})`);
  const { format, stationId, publicKeyJwk, appBuild, exportedAt, treeSize, rootHash, signature } = value;
  if (format !== EXPORT_FORMAT) return problem(line, 'not-an-export', `unsupported export format ${JSON.stringify(format)}; this verifier reads "${EXPORT_FORMAT}"`);
  const fault =
    typeof stationId !== 'string' || !STATION_ID.test(stationId) ? 'stationId must be 16 lowercase hex'
    : !isObject(publicKeyJwk) ? 'publicKeyJwk must be the station public key as a JWK'
    : typeof appBuild !== 'string' ? 'appBuild must be text'
    : typeof exportedAt !== 'string' ? 'exportedAt must be text'
    : !isTreeSize(treeSize) ? 'treeSize must be a whole number'
    : typeof rootHash !== 'string' || !HEX64.test(rootHash) ? 'rootHash must be 64 lowercase hex'
    : typeof signature !== 'string' || !SIGNATURE_HEX.test(signature) ? 'signature must be 128 lowercase hex (P-256 r ‖ s)'
    : null;
  if (fault !== null) return problem(line, 'not-an-export', `the header is not usable: ${fault}`);
  parsed.headerLine = line;
  parsed.header = {
    type: 'header',
    format,
    stationId: stationId as string,
    publicKeyJwk: publicKeyJwk as unknown as StationPublicJwk,
    appBuild: appBuild as string,
    exportedAt: exportedAt as string,
    treeSize: treeSize as number,
    rootHash: rootHash as string,
    signature: signature as string,
  };
}

function readRecord(value: Record<string, unknown>, line: number, parsed: ParsedExport, problem: Report): void {
  const { type: _type, entryHash, ...fields } = value;
  const seq = typeof fields.seq === 'number' && Number.isSafeInteger(fields.seq) && fields.seq >= 1 ? fields.seq : null;
  if (seq === null) return problem(line, 'malformed', 'record has no valid seq');
  const stated = typeof entryHash === 'string' && HEX64.test(entryHash) ? entryHash : null;
  const entry: RecordEntry = { file: parsed.file, line, seq, entryHash: stated, record: null };
  parsed.records.push(entry);
  const secret = refuseSecrets(fields);
  if (!secret.ok) return problem(line, 'secret', secret.error.message, seq);
  if (stated === null) return problem(line, 'malformed', 'record has no entryHash of 64 lowercase hex', seq);
  const record = validateRecord(fields);
  if (!record.ok) return problem(line, 'malformed', `record field ${record.error.field ?? ''}: ${record.error.message}`, seq);
  entry.record = record.value;
}

function readCheckpoint(value: Record<string, unknown>, line: number, parsed: ParsedExport, problem: Report): void {
  const { stationId, treeSize, rootHash, time, signature } = value;
  const size = isTreeSize(treeSize) ? treeSize : null;
  if (size === null) return problem(line, 'malformed', 'checkpoint has no valid treeSize');
  const fault =
    typeof stationId !== 'string' || !STATION_ID.test(stationId) ? 'stationId must be 16 lowercase hex'
    : typeof rootHash !== 'string' || !HEX64.test(rootHash) ? 'rootHash must be 64 lowercase hex'
    : typeof time !== 'string' ? 'time must be text'
    : typeof signature !== 'string' || !SIGNATURE_HEX.test(signature) ? 'signature must be 128 lowercase hex (P-256 r ‖ s)'
    : null;
  if (fault !== null) return problem(line, 'malformed', `checkpoint (tree size ${size}): ${fault}`, size);
  parsed.checkpoints.push({ file: parsed.file, line, checkpoint: { stationId: stationId as string, treeSize: size, rootHash: rootHash as string, time: time as string, signature: signature as string } });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isTreeSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
