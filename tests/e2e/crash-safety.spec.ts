// Crash safety of the audit log in Chromium, at every step boundary of a provisioning run: at the
// first request of step k the tab is closed (page.close(), as a closed tab or a renderer crash
// would), a new tab of the same profile opens the Audit page, and the log is checked
// (support/crash-run.ts: no record lost, every intent matched or offered for reconciliation, no
// duplicate serial). browser-crash.spec.ts kills the whole browser instead.
import { expect, test } from './support/fixtures';
import { CRASH_PROFILES, createCa, expectLogIntact, runAndCut } from './support/crash-run';

test.describe.configure({ timeout: 240_000 });

for (const profile of CRASH_PROFILES) test(`${profile.name}: a tab closed at every step boundary — no record lost, every intent matched or offered for reconciliation, no duplicate serial`, async ({ browser }) => {
  const summary: Array<Record<string, unknown>> = [];
  for (let target = 0; target < 30; ) {
    const context = await browser.newContext();
    if (profile.needsCa) await createCa(context);
    const closedAt = await runAndCut(context, profile, target, `SN-CRASH-${target}`, (page) => page.close({ runBeforeUnload: false }));
    target = (closedAt?.index ?? target) + 1;
    const log = await expectLogIntact(context);
    summary.push({ step: closedAt ? closedAt.index : 'after the run', closedAt: closedAt?.label.replace(/ running.*$/, '') ?? 'after the run', ...log });
    await context.close();
    if (closedAt === null) break; // the run finished before step `target`: every boundary is covered
  }
  console.log(JSON.stringify(summary));
  expect(summary.at(-1)!.closedAt).toBe('after the run');
});
