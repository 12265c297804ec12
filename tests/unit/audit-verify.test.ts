/**
 * Export → verify round trips, and every kind of tampering named with the right station, seq,
 * line and message: an edited field, an edited entryHash, a rewritten chain, a deleted line, a
 * duplicated line, swapped lines, a cut tail, a fork between two clones of one station, a
 * corrupted signature, a header that lies, a key that is not the station's, files that are not
 * exports, and random single-bit flips anywhere in a file. Plus merging and the CSV export.
 */
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuditLog,
  CSV_COLUMNS,
  csvCell,
  entryHash,
  exportCsv,
  formatProblem,
  openAuditLog,
  type Problem,
  type StoredRecord,
  verifyExport,
  verifyExports,
} from '../../src/lib/audit';
import { bytesToHex, hexToBytes } from '../../src/lib/util/bytes';
import { APP_BUILD, cloneDatabase, exportText, freshDbName, openTestLog, provision, tickingClock } from './support/audit-fixture';

/** 10 records (5 runs), checkpoints at 4 and 8, and the closing one at 10. */
let audit: AuditLog;
let clean: string;

beforeAll(async () => {
  audit = await openTestLog({ checkpointEvery: 4 });
  await provision(audit, 5);
  clean = await exportText(audit);
});
afterAll(() => audit.close());

type Line = Record<string, unknown> & { type: string };
const lines = (text: string): string[] => text.split('\n');
const parse = (line: string): Line => JSON.parse(line) as Line;
const join = (all: string[]): string => all.join('\n');

function indexOf(all: string[], type: string, key: 'seq' | 'treeSize', value: number): number {
  const index = all.findIndex((line) => line !== '' && parse(line).type === type && parse(line)[key] === value);
  if (index < 0) throw new Error(`no ${type} line with ${key} ${value}`);
  return index;
}
const recordIndex = (all: string[], seq: number) => indexOf(all, 'record', 'seq', seq);
const checkpointIndex = (all: string[], treeSize: number) => indexOf(all, 'checkpoint', 'treeSize', treeSize);

function editLine(text: string, index: number, change: (line: Line) => void): string {
  const all = lines(text);
  const line = parse(all[index]!);
  change(line);
  all[index] = JSON.stringify(line);
  return join(all);
}

async function problemsOf(text: string, name = 'a.jsonl'): Promise<Problem[]> {
  return (await verifyExport(text, name)).problems;
}

function summary(problems: Problem[]): Array<[Problem['kind'], number | null]> {
  return problems.map((p) => [p.kind, p.seq]);
}

describe('round trip', () => {
  it('a fresh export verifies with no problem', async () => {
    const report = await verifyExport(clean, 'a.jsonl');
    expect(report.problems.map(formatProblem)).toEqual([]);
    expect(report).toMatchObject({ ok: true, files: 1, stations: [{ stationId: audit.stationId, records: 10, lastSeq: 10, checkpoints: 3 }] });
  });

  it('has a signed header, one line per record with entryHash, checkpoints after seq 4, 8 and 10', () => {
    const all = lines(clean);
    expect(all.at(-1)).toBe('');
    const header = parse(all[0]!);
    expect(header).toMatchObject({ type: 'header', format: 'imprint-audit/1', stationId: audit.stationId, appBuild: APP_BUILD, treeSize: 10, publicKeyJwk: { kty: 'EC', crv: 'P-256' } });
    expect(Object.keys(header.publicKeyJwk as object).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(all.slice(1, -1).map((line) => (parse(line).type === 'record' ? `r${parse(line).seq}` : `c${parse(line).treeSize}`))).toEqual([
      'r1', 'r2', 'r3', 'r4', 'c4', 'r5', 'r6', 'r7', 'r8', 'c8', 'r9', 'r10', 'c10',
    ]);
  });

  it('an export of the empty log verifies', async () => {
    const empty = await openTestLog();
    const text = await exportText(empty);
    empty.close();
    expect(lines(text).map((line) => (line ? parse(line).type : ''))).toEqual(['header', 'checkpoint', '']);
    expect((await verifyExport(text)).ok).toBe(true);
  });
});

describe('tampering, each named where it is', () => {
  it('an edited field: "record changed" at that seq and line, nothing else', async () => {
    const index = recordIndex(lines(clean), 5);
    const problems = await problemsOf(editLine(clean, index, (line) => (line.operator = 'mallory')));
    expect(summary(problems)).toEqual([['changed', 5]]);
    expect(problems[0]).toMatchObject({ station: audit.stationId, line: index + 1 });
    expect(formatProblem(problems[0]!)).toBe(`station ${audit.stationId} seq 5: record changed: its content does not match its entryHash (a field was edited) (a.jsonl line ${index + 1})`);
  });

  it('an edited entryHash: named as such, and the signed roots over it fail', async () => {
    const index = recordIndex(lines(clean), 5);
    const problems = await problemsOf(editLine(clean, index, (line) => (line.entryHash = 'f'.repeat(64))));
    expect(summary(problems)).toEqual([['changed', 5], ['root-mismatch', 8], ['root-mismatch', 10], ['root-mismatch', 10]]);
    expect(problems[0]!.message).toMatch(/^entryHash changed: the record's content is intact/);
    expect(problems[1]!.message).toMatch(/checkpoint for tree size 4 still matches, so the change is in seq 5\.\.8/);
  });

  it('an edited record with the whole chain after it recomputed: only the signed roots catch it, and say where', async () => {
    let all = lines(clean);
    let prev = hexToBytes(parse(all[recordIndex(all, 5) - 2]!).entryHash as string); // record 4 (the line before is checkpoint 4)
    for (let seq = 5; seq <= 10; seq++) {
      const index = recordIndex(all, seq);
      const { type: _type, entryHash: _hash, ...record } = parse(all[index]!);
      if (seq === 6) record.boardSerial = 'SN-FORGED';
      prev = entryHash(prev, record as unknown as StoredRecord);
      all[index] = JSON.stringify({ type: 'record', ...record, entryHash: bytesToHex(prev) });
      all = lines(join(all));
    }
    const problems = await problemsOf(join(all));
    expect(summary(problems)).toEqual([['root-mismatch', 8], ['root-mismatch', 10], ['root-mismatch', 10]]);
    expect(problems[0]!.message).toBe('the checkpoint for tree size 8 states a root that does not match records 1..8; the checkpoint for tree size 4 still matches, so the change is in seq 5..8');
  });

  it('a deleted line: "missing record" at that seq', async () => {
    const all = lines(clean);
    all.splice(recordIndex(all, 6), 1);
    const problems = await problemsOf(join(all));
    expect(summary(problems)).toEqual([['missing', 6]]);
    expect(problems[0]!.message).toBe('missing record');
  });

  it('three deleted lines: one problem naming the range', async () => {
    const all = lines(clean);
    all.splice(recordIndex(all, 5), 3);
    expect((await problemsOf(join(all))).map(formatProblem)).toEqual([`station ${audit.stationId} seq 5: missing records 5..7 (3 records) (a.jsonl)`]);
  });

  it('a duplicated line: "duplicated record" at the copy', async () => {
    const all = lines(clean);
    const index = recordIndex(all, 3);
    all.splice(index + 1, 0, all[index]!);
    const problems = await problemsOf(join(all));
    expect(summary(problems)).toEqual([['duplicate', 3]]);
    expect(problems[0]).toMatchObject({ line: index + 2, message: `duplicated record (same as line ${index + 1})` });
  });

  it('two swapped lines: one "out of order" problem', async () => {
    const all = lines(clean);
    const [a, b] = [recordIndex(all, 6), recordIndex(all, 7)];
    [all[a], all[b]] = [all[b]!, all[a]!];
    const problems = await problemsOf(join(all));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'reordered' });
    expect(problems[0]!.message).toMatch(/^out of order: found after seq \d+ and before seq \d+$/);
  });

  it('two far-apart swapped lines: exactly those two are out of order', async () => {
    const all = lines(clean);
    const [a, b] = [recordIndex(all, 2), recordIndex(all, 9)];
    [all[a], all[b]] = [all[b]!, all[a]!];
    const problems = await problemsOf(join(all));
    expect(summary(problems)).toEqual([['reordered', 2], ['reordered', 9]]);
  });

  it('the last record deleted: "truncated" against the signed size', async () => {
    const all = lines(clean);
    all.splice(recordIndex(all, 10), 1);
    const problems = await problemsOf(join(all));
    expect(summary(problems)).toEqual([['truncated', 10]]);
    expect(problems[0]!.message).toBe('truncated: the export header (tree size 10) covers seq 1..10, but the records end at seq 9 (1 missing)');
  });

  it('a cut tail (record 10 and the closing checkpoint gone): truncated, and record 9 unsigned', async () => {
    const all = lines(clean);
    const problems = await problemsOf(join(all.slice(0, recordIndex(all, 9) + 1)) + '\n');
    expect(summary(problems)).toEqual([['unsigned', 9], ['truncated', 10]]);
    expect(problems[0]!.message).toMatch(/^unsigned: record 9 comes after the last checkpoint \(tree size 8, line \d+\)/);
  });

  it('a tail cut exactly after a checkpoint is still caught by the signed header', async () => {
    const all = lines(clean);
    const problems = await problemsOf(join(all.slice(0, checkpointIndex(all, 8) + 1)) + '\n');
    expect(summary(problems)).toEqual([['truncated', 9]]);
  });

  it('a corrupted checkpoint signature: "bad checkpoint signature" at its tree size', async () => {
    const index = checkpointIndex(lines(clean), 8);
    const flipped = editLine(clean, index, (line) => {
      const signature = line.signature as string;
      line.signature = (signature[0] === '0' ? '1' : '0') + signature.slice(1);
    });
    const problems = await problemsOf(flipped);
    expect(summary(problems)).toEqual([['bad-signature', 8]]);
    expect(problems[0]).toMatchObject({ line: index + 1, message: 'bad checkpoint signature (tree size 8): the station key did not sign this checkpoint' });
  });

  it('a checkpoint moved to another tree size fails its signature and its root', async () => {
    const index = checkpointIndex(lines(clean), 4);
    const problems = await problemsOf(editLine(clean, index, (line) => (line.treeSize = 5)));
    expect(summary(problems)).toEqual([['root-mismatch', 5], ['bad-signature', 5]]);
  });

  it('an edited header (app build) fails the header signature', async () => {
    const problems = await problemsOf(editLine(clean, 0, (line) => (line.appBuild = 'build-0000000')));
    expect(summary(problems)).toEqual([['bad-signature', 10]]);
    expect(problems[0]).toMatchObject({ line: 1, message: expect.stringMatching(/^bad export header signature/) });
  });

  it("another station's key in the header: no checkpoint of the file is trusted", async () => {
    const other = await openTestLog();
    const problems = await problemsOf(editLine(clean, 0, (line) => (line.publicKeyJwk = other.station.publicKeyJwk)));
    other.close();
    expect(summary(problems)).toEqual([['station-key', null]]);
    expect(problems[0]!.message).toBe(`the header's public key is station ${other.stationId}'s, not ${audit.stationId}'s: no checkpoint of this file can be trusted`);
  });

  it("a record of another station: named as such", async () => {
    const index = recordIndex(lines(clean), 2);
    const problems = await problemsOf(editLine(clean, index, (line) => (line.stationId = '0123456789abcdef')));
    expect(summary(problems)).toEqual([['wrong-station', 2], ['changed', 2]]);
  });

  it('a fork: two clones of one station that went on separately', async () => {
    const dbName = freshDbName();
    const original = await openTestLog({ dbName, checkpointEvery: 4 });
    await provision(original, 5);
    original.close();
    const cloneName = freshDbName();
    await cloneDatabase(dbName, cloneName);
    const [a, b] = await Promise.all([dbName, cloneName].map((name) => openAuditLog({ appBuild: APP_BUILD, dbName: name, now: tickingClock(Date.UTC(2025, 5, 5)) })));
    if (!a?.ok || !b?.ok) throw new Error('reopen failed');
    expect(b.value.stationId).toBe(a.value.stationId);
    await a.value.intent({ action: 'keys.generate', boardSerial: 'SN-A' });
    await b.value.intent({ action: 'keys.generate', boardSerial: 'SN-B' });
    await a.value.intent({ action: 'keys.generate', boardSerial: 'SN-A2' });
    await b.value.intent({ action: 'keys.generate', boardSerial: 'SN-B2' });
    const [textA, textB] = [await exportText(a.value), await exportText(b.value)];
    a.value.close();
    b.value.close();
    expect((await verifyExport(textA)).ok).toBe(true);
    expect((await verifyExport(textB)).ok).toBe(true);
    const report = await verifyExports([
      { name: 'line-1.jsonl', text: textA },
      { name: 'line-2.jsonl', text: textB },
    ]);
    expect(report.stations).toHaveLength(1);
    expect(summary(report.problems)).toEqual([['fork', 11], ['fork', 12]]);
    expect(report.problems[0]!.message).toMatch(/^fork: line-1\.jsonl line \d+ and line-2\.jsonl line \d+ hold different records for seq 11\.\.12 \(at seq 11: boardSerial, entryHash differ\)$/);
    expect(report.problems[1]!.message).toMatch(/^fork: two checkpoints for tree size 12 with different roots/);
  });

  it('a fork inside one file: two different records with one seq', async () => {
    const all = lines(clean);
    const index = recordIndex(all, 3);
    const forged = parse(all[index]!);
    forged.operator = 'mallory';
    all.splice(index + 1, 0, JSON.stringify(forged));
    const problems = await problemsOf(join(all));
    expect(summary(problems)).toEqual([['fork', 3]]);
    expect(problems[0]!.message).toBe(`two different records with this seq in one file (line ${index + 1} and this one: operator differ)`);
  });

  it('random single-bit flips anywhere in the file are detected and located on their line', async () => {
    const all = lines(clean);
    const starts = all.map((_, i) => all.slice(0, i).reduce((sum, line) => sum + line.length + 1, 0));
    await fc.assert(
      fc.asyncProperty(fc.nat(clean.length - 2), fc.integer({ min: 0, max: 6 }), async (position, bit) => {
        const flipped = clean.slice(0, position) + String.fromCharCode(clean.charCodeAt(position) ^ (1 << bit)) + clean.slice(position + 1);
        const line = starts.findLastIndex((start) => start <= position) + 1;
        const problems = await problemsOf(flipped);
        const seq = all[line - 1] && !all[line - 1]!.startsWith('{"type":"header"') ? ((JSON.parse(all[line - 1]!) as Line).seq ?? (JSON.parse(all[line - 1]!) as Line).treeSize) : null;
        const located = problems.some((p) => p.line === line || p.line === line + 1 || (seq !== null && p.seq === seq));
        expect(problems.length, `flip of bit ${bit} at ${position} (line ${line}) went unnoticed`).toBeGreaterThan(0);
        expect(located, `flip at line ${line}: ${problems.map(formatProblem).join(' | ')}`).toBe(true);
      }),
      { numRuns: 250 },
    );
  });
});

describe('files that are not (whole) exports', () => {
  it('a CSV file, an empty file, an unknown format: one clear problem each', async () => {
    expect(summary(await problemsOf('seq,time\n1,2\n'))).toEqual([['not-an-export', null]]);
    expect((await problemsOf('')).map((p) => p.message)).toEqual(['the file is empty']);
    expect((await problemsOf(editLine(clean, 0, (line) => (line.format = 'imprint-audit/9'))))[0]!.message).toMatch(/unsupported export format "imprint-audit\/9"/);
  });

  it('a file cut in the middle of a line: that line is malformed and the tail truncated', async () => {
    const cut = clean.slice(0, clean.indexOf('"type":"record","seq":7') + 30);
    const problems = await problemsOf(cut);
    expect(summary(problems)).toEqual([['malformed', null], ['unsigned', 5], ['truncated', 7]]);
    expect(problems[0]).toMatchObject({ line: recordIndex(lines(clean), 7) + 1, message: 'line is not valid JSON' });
  });

  it('a garbage line and an unknown line type are named by line', async () => {
    const all = lines(clean);
    all.splice(3, 0, 'garbage', '{"type":"comment"}');
    const problems = await problemsOf(join(all));
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [4, 'line is not valid JSON'],
      [5, 'unknown line type "comment"'],
    ]);
  });

  it('a record line with a bad field is malformed, and the chain goes on past it', async () => {
    const index = recordIndex(lines(clean), 4);
    const problems = await problemsOf(editLine(clean, index, (line) => (line.counter = -1)));
    expect(summary(problems)).toEqual([['malformed', 4]]);
    expect(problems[0]!.message).toMatch(/^record field counter: counter must be an integer/);
  });
});

describe('the parser never throws', () => {
  it('on arbitrary text, or arbitrary JSON lines after a real header', async () => {
    const header = lines(clean)[0]!;
    const line = fc.oneof(fc.string(), fc.json(), fc.record({ type: fc.constantFrom('record', 'checkpoint', 'header'), seq: fc.oneof(fc.integer(), fc.string()), treeSize: fc.integer(), entryHash: fc.string() }).map((v) => JSON.stringify(v)));
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(line, { maxLength: 8 }), async (withHeader, body) => {
        const report = await verifyExport([...(withHeader ? [header] : []), ...body].join('\n'));
        expect(report.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('merging stations', () => {
  it('two stations and an older export of one of them merge cleanly, ordered by station and seq', async () => {
    const other = await openTestLog({ checkpointEvery: 3 });
    await provision(other, 2, 100);
    const older = await exportText(other);
    await provision(other, 2, 200);
    const newer = await exportText(other);
    other.close();
    const report = await verifyExports([
      { name: 'a.jsonl', text: clean },
      { name: 'b-monday.jsonl', text: older },
      { name: 'b-friday.jsonl', text: newer },
    ]);
    expect(report.problems.map(formatProblem)).toEqual([]);
    const byStation = Object.fromEntries(report.stations.map((s) => [s.stationId, s]));
    expect(byStation[audit.stationId]).toMatchObject({ records: 10, files: ['a.jsonl'] });
    expect(byStation[other.stationId]).toMatchObject({ records: 8, lastSeq: 8, files: ['b-monday.jsonl', 'b-friday.jsonl'] });
  });

  it('problems of several files come sorted by station, then seq', async () => {
    const all = lines(clean);
    all.splice(recordIndex(all, 8), 1);
    const report = await verifyExports([
      { name: 'x.jsonl', text: join(all) },
      { name: 'y.jsonl', text: editLine(clean, recordIndex(lines(clean), 2), (line) => (line.action = 'keys.destroy')) },
    ]);
    expect(report.problems.map((p) => [p.file, p.kind, p.seq])).toEqual([
      ['y.jsonl', 'changed', 2],
      ['y.jsonl', 'fork', 2],
      ['x.jsonl', 'missing', 8],
    ]);
  });
});

describe('CSV export', () => {
  it('RFC 4180 quoting, CRLF rows, and no cell a spreadsheet would run as a formula', async () => {
    const log = await openTestLog();
    const intent = await log.intent({ action: 'keys.generate', operator: '=HYPERLINK("http://x","y")', boardSerial: '+SN,1', details: { note: '-2+3', alg: '@sum' } });
    if (!intent.ok) throw new Error(intent.error.message);
    await log.outcome(intent.value.seq, { result: 'failed', errorMessage: 'board said "no"\nthen hung up' });
    const csv = await exportCsv(log);
    log.close();
    if (!csv.ok) throw new Error(csv.error.message);
    const rows = csv.value.split('\r\n');
    expect(rows[0]).toBe(CSV_COLUMNS.join(','));
    expect(rows.at(-1)).toBe('');
    expect(csv.value).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
    expect(csv.value).toContain(`"'+SN,1"`);
    expect(csv.value).toContain(`"{""alg"":""@sum"",""note"":""-2+3""}"`);
    expect(csv.value).toContain(`"board said ""no""\nthen hung up"`);
    expect(csvCell('@cmd')).toBe("'@cmd");
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('\tx')).toBe("'\tx");
    expect(csvCell('plain')).toBe('plain');
  });
});
