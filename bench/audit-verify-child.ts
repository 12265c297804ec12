/**
 * Child of the audit-verify bench: reads one export and verifies it in a fresh Node process, the
 * way `npm run audit:verify` does, so the figure is not inflated (or flattered) by the bench
 * process's own heap. Prints `{ "readSeconds", "verifySeconds", "ok" }`.
 */
import { readFile } from 'node:fs/promises';
import { verifyExports } from '../src/lib/audit';

const file = process.argv[2];
if (!file) throw new Error('usage: audit-verify-child.ts FILE');
const read = performance.now();
const text = await readFile(file, 'utf8');
const started = performance.now();
const report = await verifyExports([{ name: file, text }]);
const done = performance.now();
process.stdout.write(JSON.stringify({ readSeconds: (started - read) / 1000, verifySeconds: (done - started) / 1000, ok: report.ok, problems: report.problems.length }) + '\n');
