/**
 * Verification of audit exports, offline, in the app and in the Node CLI alike. It trusts nothing
 * in a file but the checkpoint signatures, made by a key whose hash is the station id, and names
 * every problem with station, sequence number, file and line (problems.ts):
 *
 * - per file: malformed lines, a header key that is not the station's, records of another
 *   station, duplicated / forked / reordered / missing records, the hash chain (telling an edited
 *   record from an edited entryHash by which hash the next record links to), truncation
 *   (a signed size beyond the last record) and records after the last checkpoint, the header's
 *   and the checkpoints' signatures, and their Merkle roots (pointing between the last signed
 *   root that still matches and the first that does not);
 * - across files (merge.ts): forks between exports of the same station.
 *
 * One pass over the records with the Merkle frontier: 100,000 records (39 MB) verify in about 1.0–1.6 s
 * in Node (`npm run bench -- audit-verify`).
 */
import { bytesToHex, equalBytes, hexToBytes } from '../util/bytes';
import { canonicalRecordBytes } from './canonical';
import { chainHash, GENESIS_PREV_HASH } from './chain';
import { verifyCheckpointSignature, verifyExportSeal } from './checkpoint';
import { type CheckpointEntry, type ParsedExport, parseExport, type RecordEntry } from './jsonl';
import { differingFields, mergeExports, sameRecord } from './merge';
import { EMPTY_FRONTIER, frontierAppend, frontierRoot, leafHash, type MerkleFrontier } from './merkle';
import { compareProblems, formatProblem, type Problem } from './problems';
import { importStationPublicKey } from './station';

export interface ExportInput {
  /** Shown in problems: a file name or path. */
  name: string;
  text: string;
}

export interface StationSummary {
  stationId: string;
  files: string[];
  /** Distinct sequence numbers present. */
  records: number;
  lastSeq: number;
  checkpoints: number;
}

export interface VerifyReport {
  /** True only when there is not a single problem. */
  ok: boolean;
  files: number;
  stations: StationSummary[];
  /** Sorted by station and sequence number. */
  problems: Problem[];
}

/**
 * Parses, verifies and merges exports.
 * @example const report = await verifyExports([{ name: 'a.jsonl', text }]); report.problems.map(formatProblem)
 */
export async function verifyExports(inputs: readonly ExportInput[]): Promise<VerifyReport> {
  const parsed = inputs.map((input) => parseExport(input.text, input.name));
  const perFile = await Promise.all(parsed.map(verifyParsedExport));
  const merged = mergeExports(parsed);
  const unique = new Map<string, Problem>();
  for (const problem of [...perFile.flat(), ...merged.problems]) unique.set(formatProblem(problem), problem);
  const problems = [...unique.values()].sort(compareProblems);
  const stations = merged.stations.map((station) => ({
    stationId: station.stationId,
    files: station.files,
    records: station.records.length,
    lastSeq: station.records.at(-1)?.seq ?? 0,
    checkpoints: station.checkpoints.length,
  }));
  return { ok: problems.length === 0, files: inputs.length, stations, problems };
}

/** Every problem inside one parsed export (forks against other files are merge.ts's). */
export async function verifyParsedExport(parsed: ParsedExport): Promise<Problem[]> {
  const problems = [...parsed.problems];
  const header = parsed.header;
  if (!header) {
    if (problems.length === 0) problems.push({ station: null, seq: null, kind: 'not-an-export', message: 'the file has no header line', file: parsed.file });
    return problems;
  }
  const add = (seq: number | null, kind: Problem['kind'], message: string, line?: number) =>
    problems.push({ station: header.stationId, seq, kind, message, file: parsed.file, ...(line === undefined ? {} : { line }) });

  const key = await stationKey(parsed, add);
  const bySeq = groupRecords(parsed.records, header.stationId, add);
  checkOrder(parsed.records, add);
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  checkGaps(seqs, add);
  const checkpoints = groupCheckpoints(parsed.checkpoints, add);
  const claims: RootClaim[] = [
    ...checkpoints.map(({ checkpoint, line }) => ({ treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, line, label: `the checkpoint for tree size ${checkpoint.treeSize}` })),
    { treeSize: header.treeSize, rootHash: header.rootHash, line: parsed.headerLine, label: `the export header (tree size ${header.treeSize})` },
  ].sort((a, b) => a.treeSize - b.treeSize);
  checkTail(seqs.at(-1) ?? 0, claims, checkpoints, add);
  checkChainAndRoots(seqs, bySeq, claims, add);
  await checkSignatures(parsed, checkpoints, key, add);
  return problems;
}

/** A signed statement of the root of seq 1..treeSize: a checkpoint line, or the header's seal. */
interface RootClaim {
  treeSize: number;
  rootHash: string;
  line: number;
  label: string;
}

type Add = (seq: number | null, kind: Problem['kind'], message: string, line?: number) => void;

/** The header's key, only if it really is the station's (its SPKI hash is the station id). */
async function stationKey(parsed: ParsedExport, add: Add): Promise<CryptoKey | null> {
  const header = parsed.header!;
  const imported = await importStationPublicKey(header.publicKeyJwk);
  if (!imported.ok) {
    add(null, 'station-key', `${imported.error.message}: no checkpoint of this file can be checked`, parsed.headerLine);
    return null;
  }
  if (imported.value.stationId !== header.stationId) {
    add(null, 'station-key', `the header's public key is station ${imported.value.stationId}'s, not ${header.stationId}'s: no checkpoint of this file can be trusted`, parsed.headerLine);
    return null;
  }
  return imported.value.key;
}

/** Distinct copies per seq; reports copies from another station, duplicates and in-file forks. */
function groupRecords(entries: readonly RecordEntry[], stationId: string, add: Add): Map<number, RecordEntry[]> {
  const bySeq = new Map<number, RecordEntry[]>();
  for (const entry of entries) {
    if (entry.record && entry.record.stationId !== stationId) add(entry.seq, 'wrong-station', `record of station ${entry.record.stationId} in station ${stationId}'s export`, entry.line);
    const copies = bySeq.get(entry.seq);
    if (!copies) {
      bySeq.set(entry.seq, [entry]);
      continue;
    }
    const same = copies.find((copy) => sameRecord(copy, entry));
    if (same) add(entry.seq, 'duplicate', `duplicated record (same as line ${same.line})`, entry.line);
    else {
      add(entry.seq, 'fork', `two different records with this seq in one file (line ${copies[0]!.line} and this one: ${differingFields(copies[0]!, entry).join(', ')} differ)`, entry.line);
      copies.push(entry);
    }
  }
  return bySeq;
}

/**
 * Records out of sequence order in the file: those outside one longest increasing run of seqs
 * (so swapping two lines is one problem, not a cascade).
 */
function checkOrder(entries: readonly RecordEntry[], add: Add): void {
  const seen = new Set<number>();
  const order = entries.filter((entry) => !seen.has(entry.seq) && seen.add(entry.seq));
  const keep = longestIncreasingRun(order.map((entry) => entry.seq));
  order.forEach((entry, i) => {
    if (keep.has(i)) return;
    const before = order[i - 1]?.seq;
    const after = order[i + 1]?.seq;
    const between = [before === undefined ? null : `after seq ${before}`, after === undefined ? null : `before seq ${after}`].filter(Boolean).join(' and ');
    add(entry.seq, 'reordered', `out of order: found ${between}`, entry.line);
  });
}

/** Indices of one longest strictly increasing subsequence (patience sorting, O(n log n)). */
function longestIncreasingRun(values: readonly number[]): Set<number> {
  const tails: number[] = [];
  const previous = new Array<number>(values.length).fill(-1);
  values.forEach((value, i) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[tails[mid]!]! < value) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[i] = tails[lo - 1]!;
    tails[lo] = i;
  });
  const keep = new Set<number>();
  for (let i = tails.at(-1) ?? -1; i >= 0; i = previous[i]!) keep.add(i);
  return keep;
}

function checkGaps(seqs: readonly number[], add: Add): void {
  let expected = 1;
  for (const seq of seqs) {
    if (seq > expected) {
      const count = seq - expected;
      add(expected, 'missing', count === 1 ? 'missing record' : `missing records ${expected}..${seq - 1} (${count} records)`);
    }
    expected = seq + 1;
  }
}

/** One checkpoint per tree size, ascending; reports duplicated lines and in-file checkpoint forks. */
function groupCheckpoints(entries: readonly CheckpointEntry[], add: Add): CheckpointEntry[] {
  const bySize = new Map<number, CheckpointEntry>();
  for (const entry of entries) {
    const { treeSize, rootHash, signature, time } = entry.checkpoint;
    const first = bySize.get(treeSize);
    if (!first) bySize.set(treeSize, entry);
    else if (first.checkpoint.rootHash !== rootHash) add(treeSize, 'fork', `two checkpoints for tree size ${treeSize} with different roots in one file (line ${first.line} and this one)`, entry.line);
    else if (first.checkpoint.signature === signature && first.checkpoint.time === time) add(treeSize, 'duplicate', `duplicated checkpoint (same as line ${first.line})`, entry.line);
  }
  return [...bySize.values()].sort((a, b) => a.checkpoint.treeSize - b.checkpoint.treeSize);
}

/** Records cut from the end (a signed size beyond the last record), and records no checkpoint covers. */
function checkTail(lastSeq: number, claims: readonly RootClaim[], checkpoints: readonly CheckpointEntry[], add: Add): void {
  const longest = claims.at(-1);
  if (longest && longest.treeSize > lastSeq) {
    const missing = longest.treeSize - lastSeq;
    add(lastSeq + 1, 'truncated', `truncated: ${longest.label} covers seq 1..${longest.treeSize}, but the records end at seq ${lastSeq} (${missing} missing)`, longest.line);
  }
  const last = checkpoints.at(-1);
  const signedUpTo = last?.checkpoint.treeSize ?? 0;
  if (signedUpTo < lastSeq) {
    const span = signedUpTo + 1 === lastSeq ? `record ${lastSeq} comes` : `records ${signedUpTo + 1}..${lastSeq} come`;
    const after = last ? `the last checkpoint (tree size ${signedUpTo}, line ${last.line})` : 'any checkpoint';
    add(signedUpTo + 1, 'unsigned', `unsigned: ${span} after ${after}; an export closes with a checkpoint of all its records, so its tail was cut or records were added`);
  }
}

/**
 * The hash chain and the Merkle roots, in one pass over the records in seq order.
 *
 * Chain: a record must satisfy entryHash = H(previous entryHash ‖ canonical bytes). When it does
 * not, the next record tells why: if it links to the stated hash, the content was edited; if it
 * links to the hash the content gives, the stated entryHash itself was edited.
 * Roots: leaves are the stated entryHashes; each checkpoint's root is compared when every record
 * it covers is present.
 */
function checkChainAndRoots(seqs: readonly number[], bySeq: ReadonlyMap<number, RecordEntry[]>, claims: readonly RootClaim[], add: Add): void {
  /** Hashes the next record may link to: the stated one, and (after a mismatch) the computed one. */
  let links: Uint8Array[] = [];
  let previousSeq = 0;
  let pending: { entry: RecordEntry; stated: Uint8Array; computed: Uint8Array } | null = null;
  const settle = (linkedVia: Uint8Array | null) => {
    if (!pending) return;
    const { entry, stated, computed } = pending;
    pending = null;
    if (linkedVia && equalBytes(linkedVia, computed) && !equalBytes(linkedVia, stated)) {
      add(entry.seq, 'changed', `entryHash changed: the record's content is intact but its entryHash is not the chain's (the next record links to ${bytesToHex(computed).slice(0, 16)}…)`, entry.line);
    } else {
      add(entry.seq, 'changed', 'record changed: its content does not match its entryHash (a field was edited)', entry.line);
    }
  };

  let frontier: MerkleFrontier = EMPTY_FRONTIER;
  let treeIntact = true;
  let nextClaim = 0;
  let lastMatching: RootClaim | null = null;
  const compareRoots = (upTo: number) => {
    for (; nextClaim < claims.length && claims[nextClaim]!.treeSize <= upTo; nextClaim++) {
      const claim = claims[nextClaim]!;
      if (claim.treeSize !== frontier.size) continue; // its records are not all here: a gap, already reported
      if (bytesToHex(frontierRoot(frontier)) === claim.rootHash) lastMatching = claim;
      else {
        const hint = lastMatching === null ? '' : `; ${lastMatching.label} still matches, so the change is in seq ${lastMatching.treeSize + 1}..${claim.treeSize}`;
        add(claim.treeSize, 'root-mismatch', `${claim.label} states a root that does not match records 1..${claim.treeSize}${hint}`, claim.line);
      }
    }
  };
  compareRoots(0);

  const addLeaf = (seq: number, stated: Uint8Array | null) => {
    treeIntact &&= stated !== null;
    if (!treeIntact) return;
    frontier = frontierAppend(frontier, leafHash(stated!));
    compareRoots(seq);
  };

  for (const seq of seqs) {
    const contiguous = seq === previousSeq + 1;
    previousSeq = seq;
    if (!contiguous) {
      settle(null);
      treeIntact = false;
    }
    const expectedLinks = seq === 1 ? [GENESIS_PREV_HASH] : contiguous ? links : [];
    const usable = bySeq.get(seq)!.filter((copy) => copy.record !== null && copy.entryHash !== null);
    if (usable.length === 0) {
      // Malformed, already reported: its stated hash (if any) still stands for it in chain and tree.
      settle(null);
      const statedHex = bySeq.get(seq)![0]!.entryHash;
      const stated = statedHex === null ? null : hexToBytes(statedHex);
      links = stated ? [stated] : [];
      addLeaf(seq, stated);
      continue;
    }
    let chosen: { entry: RecordEntry; stated: Uint8Array } | null = null;
    let linkedVia: Uint8Array | null = null;
    let computed: Uint8Array | null = null;
    for (const copy of usable) {
      const bytes = canonicalRecordBytes(copy.record!);
      const stated = hexToBytes(copy.entryHash!);
      for (const link of expectedLinks) {
        const hash = chainHash(link, bytes);
        computed ??= hash;
        if (equalBytes(hash, stated)) {
          chosen = { entry: copy, stated };
          linkedVia = link;
          break;
        }
      }
      if (chosen) break;
    }
    settle(linkedVia);
    const entry = chosen?.entry ?? usable[0]!;
    const stated = chosen?.stated ?? hexToBytes(entry.entryHash!);
    if (!chosen && computed) {
      pending = { entry, stated, computed };
      links = equalBytes(stated, computed) ? [stated] : [stated, computed];
    } else {
      links = [stated]; // linked, or after a gap where there is nothing to link to
    }
    addLeaf(seq, stated);
  }
  settle(null);
}

/** Every signature is checked at once (WebCrypto works them off the main thread); problems come in file order. */
async function checkSignatures(parsed: ParsedExport, checkpoints: readonly CheckpointEntry[], key: CryptoKey | null, add: Add): Promise<void> {
  const header = parsed.header!;
  const ours = checkpoints.filter(({ checkpoint }) => checkpoint.stationId === header.stationId);
  const [sealValid, checkpointsValid] = key
    ? await Promise.all([verifyExportSeal(header, header.signature, key), Promise.all(ours.map(({ checkpoint }) => verifyCheckpointSignature(checkpoint, key)))])
    : [true, ours.map(() => true)];
  if (!sealValid) {
    add(header.treeSize, 'bad-signature', 'bad export header signature: its appBuild, exportedAt, treeSize or rootHash is not what the station signed', parsed.headerLine);
  }
  const valid = new Map(ours.map((entry, index) => [entry, checkpointsValid[index]!]));
  for (const entry of checkpoints) {
    const { checkpoint, line } = entry;
    if (checkpoint.stationId !== header.stationId) {
      add(checkpoint.treeSize, 'wrong-station', `checkpoint of station ${checkpoint.stationId} in station ${header.stationId}'s export`, line);
    } else if (!valid.get(entry)) {
      add(checkpoint.treeSize, 'bad-signature', `bad checkpoint signature (tree size ${checkpoint.treeSize}): the station key did not sign this checkpoint`, line);
    }
  }
}

/** Convenience for one file. */
export function verifyExport(text: string, name = 'export.jsonl'): Promise<VerifyReport> {
  return verifyExports([{ name, text }]);
}
