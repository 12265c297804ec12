// Writes tests/fixtures/audit/export-1000.jsonl: a station's export of 1,000 records (500
// provisioning runs, intent + outcome each), checkpoints every 100, closed by the export's own
// signed header. Used by tests/unit/audit-bitflip-*.test.ts. Run: npx tsx scripts/make-audit-fixture.ts
import 'fake-indexeddb/auto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { exportText, openTestLog, provision } from '../tests/unit/support/audit-fixture';
import { FIXTURE_PATH } from '../tests/unit/support/bitflip';

const log = await openTestLog({ checkpointEvery: 100 });
await provision(log, 500);
const text = await exportText(log);
log.close();
mkdirSync(new URL('../tests/fixtures/audit/', import.meta.url), { recursive: true });
writeFileSync(FIXTURE_PATH, text);
console.log(`${FIXTURE_PATH}: ${text.length} bytes, ${text.split('\n').length - 1} lines`);
