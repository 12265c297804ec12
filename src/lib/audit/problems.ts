/**
 * What verification finds: one `Problem` per thing wrong, each naming the station, the sequence
 * number and the file/line where it shows, so a person can go and look. The CLI prints
 * `formatProblem` lines; the UI can group by `kind`.
 */

export type ProblemKind =
  /** The file is not an Imprint audit export at all (no header line). */
  | 'not-an-export'
  /** A line that is not JSON, not a known line type, or whose fields are not well-formed. */
  | 'malformed'
  /** The header's public key is unusable or does not derive the header's station id. */
  | 'station-key'
  /** A record or checkpoint of another station inside this station's export. */
  | 'wrong-station'
  /** A record carrying secret-looking material. */
  | 'secret'
  /** A record whose content, or whose entryHash, no longer matches the chain. */
  | 'changed'
  /** Sequence numbers absent between 1 and the last record. */
  | 'missing'
  /** The same record twice in one file. */
  | 'duplicate'
  /** A record out of sequence order in its file. */
  | 'reordered'
  /** Records cut from the end: a signed size (checkpoint or header) covers more than is there. */
  | 'truncated'
  /** Records after the last checkpoint: the closing checkpoint was removed, or records were added. */
  | 'unsigned'
  /** Two different records (or checkpoints) for the same station and sequence number. */
  | 'fork'
  /** A checkpoint or export-header signature that the station key does not verify. */
  | 'bad-signature'
  /** A signed Merkle root (checkpoint or header) that is not the root of the records it covers. */
  | 'root-mismatch';

export interface Problem {
  /** null when the file does not say which station it is. */
  station: string | null;
  /** null when the problem is not about one sequence number (a header, a whole file). */
  seq: number | null;
  kind: ProblemKind;
  message: string;
  file: string;
  line?: number;
}

/** @example formatProblem(p) === 'station 3f9a0c1d2e4b5a69 seq 7: duplicated record (same as line 7) (a.jsonl line 8)' */
export function formatProblem(problem: Problem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file} line ${problem.line}`;
  return `station ${problem.station ?? '?'} seq ${problem.seq ?? '-'}: ${problem.message} (${where})`;
}

/** Station, then seq (file-level problems first), then file and line. */
export function compareProblems(a: Problem, b: Problem): number {
  return (
    (a.station ?? '').localeCompare(b.station ?? '') ||
    (a.seq ?? -1) - (b.seq ?? -1) ||
    a.file.localeCompare(b.file) ||
    (a.line ?? 0) - (b.line ?? 0)
  );
}
