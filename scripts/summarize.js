#!/usr/bin/env node
// Summarise a test run from the runners' JSON reports and step exit codes.
// Usage: node scripts/summarize.js [step=status ...]   e.g. check=0 unit=1 build=0 e2e=0
// Reads reports/unit.json (Vitest) and reports/e2e.json (Playwright); writes reports/summary.json.
// Prints per-suite lines, then the closing line `N passed, N failed`. Exits 1 if anything failed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const REPORTS = 'reports';

/** @type {Record<string, number>} */
const steps = {};
for (const arg of process.argv.slice(2)) {
  const [name, status] = arg.split('=');
  if (name && status !== undefined) steps[name] = Number(status);
}

/** @typedef {{ name: string, passed: number, failed: number, skipped: number, note?: string }} Suite */
/** @type {Suite[]} */
const suites = [];

/** @param {string} file */
function readJson(file) {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** A step with no report of its own (typecheck, build): 1 failed if its status is non-zero. */
function stepSuite(/** @type {string} */ name, /** @type {string} */ key) {
  if (!(key in steps)) return;
  const ok = steps[key] === 0;
  suites.push({ name, passed: 0, failed: ok ? 0 : 1, skipped: 0, note: ok ? 'ok' : `failed (exit ${steps[key]})` });
}

function unitSuite() {
  const r = readJson(`${REPORTS}/unit.json`);
  if (!r) return suites.push({ name: 'unit', passed: 0, failed: 1, skipped: 0, note: 'report missing or unreadable' });
  const passed = r.numPassedTests ?? 0;
  let failed = r.numFailedTests ?? 0;
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  /** @type {string[]} */
  const notes = [];
  // Files that failed before running any test (import/syntax errors) count once each.
  const brokenFiles = (r.testResults ?? []).filter(
    (/** @type {any} */ f) => f.status === 'failed' && !(f.assertionResults ?? []).some((/** @type {any} */ a) => a.status === 'failed')
  );
  if (brokenFiles.length) {
    failed += brokenFiles.length;
    notes.push(`${brokenFiles.length} test file(s) failed to run`);
  }
  if ((r.numTotalTestSuites ?? 0) === 0 && (r.numTotalTests ?? 0) === 0) {
    notes.push('no unit test files found');
  } else if ((r.success === false || (steps.unit ?? 0) !== 0) && failed === 0) {
    failed += 1; // e.g. unhandled errors during the run (not listed in the JSON report)
    notes.push(`vitest reported errors outside tests (exit ${steps.unit ?? '?'})`);
  }
  suites.push({ name: 'unit', passed, failed, skipped, note: notes.join('; ') || undefined });
}

function e2eSuite() {
  const r = readJson(`${REPORTS}/e2e.json`);
  if (!r || !r.stats) return suites.push({ name: 'e2e', passed: 0, failed: 1, skipped: 0, note: 'report missing or unreadable' });
  const s = r.stats;
  const passed = (s.expected ?? 0) + (s.flaky ?? 0);
  let failed = s.unexpected ?? 0;
  const skipped = s.skipped ?? 0;
  /** @type {string[]} */
  const notes = [];
  if (s.flaky) notes.push(`${s.flaky} flaky`);
  const errors = Array.isArray(r.errors) ? r.errors.length : 0;
  if (errors) {
    failed += 1; // global errors: web server, config, or load failures
    notes.push(`${errors} global error(s)`);
  }
  suites.push({ name: 'e2e', passed, failed, skipped, note: notes.join('; ') || undefined });
}

stepSuite('typecheck', 'check');
unitSuite();
stepSuite('build', 'build');
e2eSuite();

const total = suites.reduce(
  (t, s) => ({ passed: t.passed + s.passed, failed: t.failed + s.failed, skipped: t.skipped + s.skipped }),
  { passed: 0, failed: 0, skipped: 0 }
);

if ('chromium' in steps && steps.chromium !== 0) console.log('setup      chromium not available (see above)');
for (const s of suites) {
  const counts = `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`;
  console.log(`${s.name.padEnd(10)} ${counts}${s.note ? `  (${s.note})` : ''}`);
}

mkdirSync(REPORTS, { recursive: true });
writeFileSync(`${REPORTS}/summary.json`, JSON.stringify({ ...total, steps, suites }, null, 2) + '\n');

console.log(`${total.passed} passed, ${total.failed} failed`);
process.exitCode = total.failed > 0 ? 1 : 0;
