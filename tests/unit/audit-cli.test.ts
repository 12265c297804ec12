/**
 * `npm run audit:verify -- FILE...` as a child process, the way people run it, on exports made by
 * the store in this process and written to temp files: exit 0 and a summary when every file
 * verifies; exit 1 and one `station <id> seq <n>: …` line per problem otherwise; exit 2 for bad
 * usage or an unreadable file.
 */
import 'fake-indexeddb/auto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblem, verifyExports } from '../../src/lib/audit';
import { exportText, openTestLog, provision } from './support/audit-fixture';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'src/node/cli/audit-verify.ts');

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function auditVerify(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, timeout: 20000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
const files: Record<string, string> = {};
let stationA = '';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-cli-'));
  const a = await openTestLog({ checkpointEvery: 4 });
  await provision(a, 5);
  stationA = a.stationId;
  const b = await openTestLog();
  await provision(b, 3, 50);
  const texts = { a: await exportText(a), b: await exportText(b) };
  a.close();
  b.close();
  const lines = texts.a.split('\n');
  const edited = lines.map((line) => (line.includes('"seq":3,') ? line.replace('"operator":"alice"', '"operator":"mallory"') : line));
  const withoutSix = lines.filter((line) => !line.includes('"type":"record","seq":6,'));
  const write = (name: string, text: string) => {
    files[name] = path.join(dir, name);
    fs.writeFileSync(files[name], text);
  };
  write('a.jsonl', texts.a);
  write('b.jsonl', texts.b);
  write('edited.jsonl', edited.join('\n'));
  write('gap.jsonl', withoutSix.join('\n'));
  write('not-an-export.csv', 'seq,time\n1,2\n');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('audit:verify', () => {
  it('exits 0 with a summary when every file verifies', async () => {
    const run = await auditVerify(files['a.jsonl']!, files['b.jsonl']!);
    expect(run).toEqual({ code: 0, stdout: 'verified: 2 files, 2 stations, 16 records, 4 signed checkpoints\n', stderr: '' });
  });

  it('exits 1 with one line per problem, the same lines the app shows', async () => {
    const run = await auditVerify('--', files['edited.jsonl']!, files['gap.jsonl']!);
    expect(run.code).toBe(1);
    const expected = (await verifyExports(['edited.jsonl', 'gap.jsonl'].map((name) => ({ name: files[name]!, text: fs.readFileSync(files[name]!, 'utf8') })))).problems.map(formatProblem);
    expect(run.stdout.split('\n').filter(Boolean)).toEqual(expected);
    expect(expected).toHaveLength(3);
    for (const line of expected) expect(line).toMatch(new RegExp(`^station ${stationA} seq \\d+: `));
    expect(run.stdout).toContain(`station ${stationA} seq 3: record changed: its content does not match its entryHash (a field was edited) (${files['edited.jsonl']} line 4)`);
    expect(run.stdout).toContain(`station ${stationA} seq 6: missing record (${files['gap.jsonl']})`);
    expect(run.stderr).toBe('audit:verify: 3 problems in 2 files\n');
  });

  it('exits 1 for a file that is not an export', async () => {
    const run = await auditVerify(files['not-an-export.csv']!);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(`station ? seq -: not an Imprint audit export: the first line is not a header line {"type":"header",…} (${files['not-an-export.csv']} line 1)\n`);
  });

  it('exits 2 for no files, an unknown option, or a file it cannot read', async () => {
    expect(await auditVerify()).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^audit:verify: no files given\nusage: /) });
    expect(await auditVerify('--strict', files['a.jsonl']!)).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown option --strict/) });
    expect(await auditVerify(path.join(dir, 'missing.jsonl'))).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read .*missing\.jsonl/) });
    expect(await auditVerify('--help')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: npm run -s audit:verify/) });
  });
});
