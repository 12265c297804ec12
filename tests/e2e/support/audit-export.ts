/** An audit log export the page downloaded, checked in Node with the same verify code the app ships. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { type AuditRecord, parseExport, type Problem, verifyExports } from '../../../src/lib/audit';
import { downloaded } from './app';

export interface CheckedExport {
  fileName: string;
  /** The file as the page saved it. */
  text: string;
  /** Everything `verifyExports` found wrong: empty for an intact export. */
  problems: Problem[];
  /** The records in file order. */
  records: AuditRecord[];
}

/** Clicks the export button `testId`, verifies the JSONL file it saves and returns its records. */
export async function exportAuditLog(page: Page, testId: string): Promise<CheckedExport> {
  const { download, text } = await downloaded(page, () => page.getByTestId(testId).click());
  const fileName = download.suggestedFilename();
  const report = await verifyExports([{ name: fileName, text }]);
  const records = parseExport(text, fileName).records.map((entry) => entry.record).filter((record): record is AuditRecord => record !== null);
  return { fileName, text, problems: report.problems, records };
}

/** Intents no outcome closes. */
export function openIntents(records: readonly AuditRecord[]): AuditRecord[] {
  const closed = new Set(records.map((record) => record.intentSeq));
  return records.filter((record) => record.phase === 'intent' && !closed.has(record.seq));
}

/** The outcomes of provisioning runs (`provision.run`), in log order. */
export function runOutcomes(records: readonly AuditRecord[]): AuditRecord[] {
  return records.filter((record) => record.action === 'provision.run' && record.phase === 'outcome');
}

/**
 * Runs the `audit:verify` CLI (src/node/cli/audit-verify.ts, as `npm run audit:verify` does) on
 * exports the page saved; returns its exit status and output.
 */
export function auditVerifyCli(files: ReadonlyArray<{ name: string; text: string }>): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-cli-'));
  try {
    const paths = files.map((file) => {
      const path = join(dir, file.name);
      writeFileSync(path, file.text);
      return path;
    });
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/node/cli/audit-verify.ts', ...paths], { encoding: 'utf8' });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
