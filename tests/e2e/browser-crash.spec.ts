// The whole browser killed (SIGKILL, as a power cut of the browser process or a crash would) in
// the middle of a provisioning run, at every step boundary of the richest profile, with one
// browser profile on disk carried from crash to crash: the browser is started again on that
// profile and the audit log must hold every record that was committed before the kill, with the
// checks of support/crash-run.ts (no gap, chain green, every intent matched or offered for
// reconciliation, no duplicate serial). crash-safety.spec.ts closes only the tab.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from '@playwright/test';
import { expect, test } from './support/fixtures';
import { CRASH_PROFILES, createCa, expectLogIntact, readLog, runAndCut } from './support/crash-run';

test.describe.configure({ timeout: 300_000 });

/**
 * Every process of the browser started on `profileDir`: those given the profile on their command
 * line, and all their descendants (the storage service that writes IndexedDB is one of those).
 */
function browserPids(profileDir: string): number[] {
  const processes = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const parent = Number(readFileSync(`/proc/${name}/stat`, 'utf8').replace(/^.*\)\s+\S+\s+/, '').split(' ')[0]);
      return [{ pid: Number(name), parent, ours: cmdline.includes(`--user-data-dir=${profileDir}`) }];
    } catch {
      return []; // gone meanwhile
    }
  });
  const found = new Set(processes.filter((entry) => entry.ours).map((entry) => entry.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const entry of processes) if (!found.has(entry.pid) && found.has(entry.parent)) found.add(entry.pid), (grew = true);
  }
  return [...found];
}

async function killBrowser(profileDir: string): Promise<void> {
  const pids = browserPids(profileDir);
  expect(pids.length, 'the browser process was found').toBeGreaterThan(0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone with its parent
    }
  }
  await expect.poll(() => browserPids(profileDir).length, { timeout: 10_000 }).toBe(0);
}

test('TF-M sample: the browser killed at every step boundary — every committed record survives, every intent matched or offered for reconciliation, no duplicate serial', async ({ baseURL }) => {
  const profile = CRASH_PROFILES.find((candidate) => candidate.needsCa)!;
  const launchOptions = test.info().project.use.launchOptions ?? {};
  const profileDir = mkdtempSync(join(tmpdir(), 'imprint-crash-profile-'));
  const launch = (): Promise<BrowserContext> => chromium.launchPersistentContext(profileDir, { ...launchOptions, baseURL, viewport: { width: 1280, height: 800 } });
  const summary: Array<Record<string, unknown>> = [];
  let context = await launch();
  try {
    await createCa(context);
    for (let target = 0; target < 30; ) {
      let committedBeforeKill = 0;
      const killedAt = await runAndCut(context, profile, target, `SN-KILL-${target}`, async (page) => {
        committedBeforeKill = (await readLog(page)).length;
        await killBrowser(profileDir);
      });
      await context.close().catch(() => {}); // its browser is gone
      target = (killedAt?.index ?? target) + 1;
      // The browser started again on the same profile: check the log, then run the next board there.
      context = await launch();
      const log = await expectLogIntact(context);
      expect(log.records, 'records committed before the kill are all there').toBeGreaterThanOrEqual(committedBeforeKill);
      summary.push({ step: killedAt ? killedAt.index : 'after the run', killedAt: killedAt?.label.replace(/ running.*$/, '') ?? 'after the run', committedBeforeKill, ...log });
      if (killedAt === null) break; // the run finished before step `target`: every boundary is covered
    }
  } finally {
    await context.close().catch(() => {});
    rmSync(profileDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(summary));
  expect(summary.at(-1)!.killedAt).toBe('after the run');
  // The kills really came mid-step: some left a step's intent without its outcome.
  expect(summary.some((entry) => (entry.openIntents as number) > 0)).toBe(true);
});
