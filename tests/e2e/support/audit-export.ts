/** An audit log export the page downloaded, checked in Node with the same verify code the app ships. */
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
