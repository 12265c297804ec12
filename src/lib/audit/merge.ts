/**
 * Merges several exports (of one or many stations) into one view per station, ordered by
 * sequence number. Exports of the same station overlap (Monday's 1..100 and Friday's 1..250):
 * identical copies merge silently; two different records, or two checkpoints with different roots,
 * for the same station and sequence number are a fork — the station's log was cloned or edited —
 * and are reported with the fields that differ. One report covers a run of consecutive
 * sequence numbers where the same two files disagree.
 */
import { canonicalRecordBytes } from './canonical';
import type { CheckpointEntry, ParsedExport, RecordEntry } from './jsonl';
import type { Problem } from './problems';
import { AUDIT_FIELDS, type AuditRecord } from './record';
import type { StationPublicJwk } from './station';
import { equalBytes } from '../util/bytes';

export interface MergedStation {
  stationId: string;
  publicKeyJwk: StationPublicJwk;
  files: string[];
  /** One copy per sequence number (the first file's), ascending. */
  records: RecordEntry[];
  /** One per tree size (the first file's), ascending. */
  checkpoints: CheckpointEntry[];
}

export interface MergeResult {
  stations: MergedStation[];
  /** Forks between files. Problems inside one file are verify.ts's. */
  problems: Problem[];
}

interface StationParts {
  stationId: string;
  publicKeyJwk: StationPublicJwk;
  files: string[];
  copies: Map<number, RecordEntry[]>;
  checkpoints: Map<number, CheckpointEntry[]>;
}

/** @example mergeExports([parseExport(a, 'a.jsonl'), parseExport(b, 'b.jsonl')]).stations.map((s) => s.stationId) */
export function mergeExports(exports: readonly ParsedExport[]): MergeResult {
  const stations = new Map<string, StationParts>();
  for (const parsed of exports) {
    if (!parsed.header) continue;
    const { stationId, publicKeyJwk } = parsed.header;
    const parts: StationParts = stations.get(stationId) ?? { stationId, publicKeyJwk, files: [], copies: new Map(), checkpoints: new Map() };
    stations.set(stationId, parts);
    parts.files.push(parsed.file);
    const seen = new Set<number>();
    for (const entry of parsed.records) {
      if (seen.has(entry.seq)) continue; // a second copy inside one file is verify.ts's to report
      seen.add(entry.seq);
      parts.copies.set(entry.seq, [...(parts.copies.get(entry.seq) ?? []), entry]);
    }
    const seenSizes = new Set<number>();
    for (const entry of parsed.checkpoints) {
      if (seenSizes.has(entry.checkpoint.treeSize)) continue;
      seenSizes.add(entry.checkpoint.treeSize);
      parts.checkpoints.set(entry.checkpoint.treeSize, [...(parts.checkpoints.get(entry.checkpoint.treeSize) ?? []), entry]);
    }
  }
  const problems: Problem[] = [];
  const merged = [...stations.values()]
    .sort((a, b) => a.stationId.localeCompare(b.stationId))
    .map((parts) => {
      problems.push(...recordForks(parts), ...checkpointForks(parts));
      const bySeq = [...parts.copies.entries()].sort(([a], [b]) => a - b);
      const bySize = [...parts.checkpoints.entries()].sort(([a], [b]) => a - b);
      return {
        stationId: parts.stationId,
        publicKeyJwk: parts.publicKeyJwk,
        files: parts.files,
        records: bySeq.map(([, copies]) => copies[0]!),
        checkpoints: bySize.map(([, copies]) => copies[0]!),
      };
    });
  return { stations: merged, problems };
}

/** Two copies of one record are the same when their stated hashes and canonical bytes are. */
export function sameRecord(a: RecordEntry, b: RecordEntry): boolean {
  if (a.entryHash !== b.entryHash) return false;
  if (a.record === null || b.record === null) return a.record === b.record;
  return equalBytes(canonicalRecordBytes(a.record), canonicalRecordBytes(b.record));
}

/** Names of the fields two copies disagree on (entryHash included). */
export function differingFields(a: RecordEntry, b: RecordEntry): string[] {
  const fields: string[] = AUDIT_FIELDS.filter((field) => JSON.stringify(a.record?.[field as keyof AuditRecord]) !== JSON.stringify(b.record?.[field as keyof AuditRecord]));
  if (a.entryHash !== b.entryHash) fields.push('entryHash');
  return fields;
}

function recordForks(parts: StationParts): Problem[] {
  const problems: Problem[] = [];
  /** Open runs of disagreement, per pair of files. */
  const runs = new Map<string, { first: RecordEntry; other: RecordEntry; last: number; fields: string[] }>();
  const close = (key: string) => {
    const run = runs.get(key)!;
    runs.delete(key);
    const span = run.last === run.first.seq ? `seq ${run.first.seq}` : `seq ${run.first.seq}..${run.last}`;
    problems.push({
      station: parts.stationId,
      seq: run.first.seq,
      kind: 'fork',
      message: `fork: ${run.first.file} line ${run.first.line} and ${run.other.file} line ${run.other.line} hold different records for ${span} (at seq ${run.first.seq}: ${run.fields.join(', ')} differ)`,
      file: run.other.file,
      line: run.other.line,
    });
  };
  for (const seq of [...parts.copies.keys()].sort((a, b) => a - b)) {
    const [first, ...others] = parts.copies.get(seq)!;
    for (const other of others) {
      if (sameRecord(first!, other)) continue;
      const key = `${first!.file}\u0000${other.file}`;
      const run = runs.get(key);
      if (run && run.last === seq - 1) run.last = seq;
      else {
        if (run) close(key);
        runs.set(key, { first: first!, other, last: seq, fields: differingFields(first!, other) });
      }
    }
  }
  for (const key of [...runs.keys()]) close(key);
  return problems;
}

function checkpointForks(parts: StationParts): Problem[] {
  const problems: Problem[] = [];
  for (const [treeSize, [first, ...others]] of parts.checkpoints) {
    for (const other of others) {
      if (other.checkpoint.rootHash === first!.checkpoint.rootHash) continue;
      problems.push({
        station: parts.stationId,
        seq: treeSize,
        kind: 'fork',
        message: `fork: two checkpoints for tree size ${treeSize} with different roots (${first!.file} line ${first!.line} and ${other.file} line ${other.line})`,
        file: other.file,
        line: other.line,
      });
    }
  }
  return problems;
}
