/**
 * Audit log figures (issue 7): verify time for 100,000 records in Node (target < 2 s) and the
 * export size per record. The log is filled through the real store (fake-indexeddb in Node),
 * as provisioning runs do: an intent and an outcome per board. The export is then verified in
 * fresh Node processes (bench/audit-verify-child.ts), three times, and the whole
 * `audit:verify` CLI is timed once from spawn to exit.
 *
 *   npm run bench -- audit-verify
 */
import 'fake-indexeddb/auto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJsonl, openAuditLog } from '../src/lib/audit';

export interface AuditBenchResult {
  scenario: string;
  records: number;
  fillSeconds: number;
  exportBytes: number;
  bytesPerRecord: number;
  /** Median of three fresh processes: parse + verify, the file already read. */
  verifySeconds: number;
  verifyRuns: number[];
  /** `audit:verify FILE` from spawn to exit: Node and tsx start-up, reading 40 MB, verifying. */
  cliSeconds: number;
  target: string;
  met: boolean;
}

export async function measureAuditVerify(records = 100_000): Promise<AuditBenchResult> {
  const opened = await openAuditLog({ appBuild: 'bench', dbName: `audit-bench-${Date.now()}` });
  if (!opened.ok) throw new Error(opened.error.message);
  const log = opened.value;
  const filled = performance.now();
  for (let board = 0; board < records / 2; board++) {
    const boardSerial = `SN-${String(board).padStart(6, '0')}`;
    const intent = await log.intent({ operator: 'bench', boardSerial, deviceId: `dev-${board}`, action: 'keys.generate', keyId: '0x00000001' });
    if (!intent.ok) throw new Error(intent.error.message);
    const outcome = await log.outcome(intent.value.seq, { result: 'ok', keyFingerprint: board.toString(16).padStart(64, '0'), counter: board });
    if (!outcome.ok) throw new Error(outcome.error.message);
  }
  const fillSeconds = (performance.now() - filled) / 1000;
  const text = await exportJsonl(log);
  if (!text.ok) throw new Error(text.error.message);
  const exportBytes = new TextEncoder().encode(text.value).length;
  const dir = mkdtempSync(join(tmpdir(), 'imprint-audit-bench-'));
  const file = join(dir, 'bench.jsonl');
  writeFileSync(file, text.value);
  try {
    const runs = [0, 1, 2].map(() => verifyInFreshProcess(file));
    const verifyRuns = runs.map((run) => Math.round(run.verifySeconds * 1000) / 1000);
    const verifySeconds = [...verifyRuns].sort((a, b) => a - b)[1]!;
    const cliStarted = performance.now();
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'src/node/cli/audit-verify.ts', file], { cwd: ROOT, encoding: 'utf8' });
    const cliSeconds = (performance.now() - cliStarted) / 1000;
    if (cli.status !== 0) throw new Error(`audit:verify refused the bench export: ${cli.stdout}${cli.stderr}`);
    return {
      scenario: 'audit-verify',
      records,
      fillSeconds: Math.round(fillSeconds * 100) / 100,
      exportBytes,
      bytesPerRecord: Math.round(exportBytes / records),
      verifySeconds,
      verifyRuns,
      cliSeconds: Math.round(cliSeconds * 100) / 100,
      target: 'verify 100,000 records < 2 s',
      met: verifySeconds < 2,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function verifyInFreshProcess(file: string): { verifySeconds: number } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/audit-verify-child.ts'), file], { cwd: ROOT, encoding: 'utf8' });
  const result = child.status === 0 ? (JSON.parse(child.stdout) as { verifySeconds: number; ok: boolean; problems: number }) : null;
  if (!result) throw new Error(`audit-verify child failed: ${child.stderr}`);
  if (!result.ok) throw new Error(`the bench export does not verify: ${result.problems} problems`);
  return result;
}
