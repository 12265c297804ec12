/**
 * The fuzzer of `npm run fuzz`, small: 2,000 cases per target with a fixed seed (so a failure here
 * replays with `npm run fuzz -- --count 2000 --seed 20240601 --target <name>`), plus a fresh seed each run.
 */
import { describe, expect, it } from 'vitest';
import { FUZZ_TARGETS, runFuzz, type FuzzTarget } from '../fuzz/targets';

const COUNT = 2000;
const FIXED_SEED = 20240601;
/** A hang is forever; a busy CI machine can still pause one call for a second. */
const SLOW_CALL_MS = 5000;

describe.each(FUZZ_TARGETS.map((target) => [target] as [FuzzTarget]))('fuzz %s', (target) => {
  it(`${COUNT} cases, fixed seed: no exception, only typed errors, no hang`, async () => {
    const report = await runFuzz({ count: COUNT, seed: FIXED_SEED, targets: [target], slowCallMs: SLOW_CALL_MS });
    const summary = report[target]!;
    expect(summary.examples).toEqual([]);
    expect(summary.violations).toBe(0);
    expect(summary.cases).toBe(COUNT);
    expect(Object.keys(summary.errors).length).toBeGreaterThan(0);
    expect(summary.packets).toBeGreaterThan(0);
  });

  it(`${COUNT} cases, fresh seed`, async () => {
    const seed = Math.floor(Math.random() * 0x1_0000_0000);
    const report = await runFuzz({ count: COUNT, seed, targets: [target], slowCallMs: SLOW_CALL_MS });
    expect(report[target]!.examples, `replay: npm run fuzz -- --count ${COUNT} --seed ${seed} --target ${target}`).toEqual([]);
  });
});
