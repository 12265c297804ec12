/**
 * Audit log figures (issue 7): verify time for 100,000 records in Node (target < 2 s) and the
 * export size per record. The log is filled through the real store (fake-indexeddb in Node),
 * as provisioning runs do: an intent and an outcome per board.
 *
 *   npm run bench -- audit-verify
 */
import 'fake-indexeddb/auto';
import { exportJsonl, openAuditLog, verifyExports } from '../src/lib/audit';

export interface AuditBenchResult {
  scenario: string;
  records: number;
  fillSeconds: number;
  exportBytes: number;
  bytesPerRecord: number;
  verifySeconds: number;
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
  const started = performance.now();
  const report = await verifyExports([{ name: 'bench.jsonl', text: text.value }]);
  const verifySeconds = (performance.now() - started) / 1000;
  if (!report.ok) throw new Error(`the bench export does not verify: ${report.problems.length} problems`);
  const exportBytes = new TextEncoder().encode(text.value).length;
  return {
    scenario: 'audit-verify',
    records,
    fillSeconds: Math.round(fillSeconds * 100) / 100,
    exportBytes,
    bytesPerRecord: Math.round(exportBytes / records),
    verifySeconds: Math.round(verifySeconds * 1000) / 1000,
    target: 'verify 100,000 records < 2 s',
    met: verifySeconds < 2,
  };
}
