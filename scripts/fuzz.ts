/**
 * `npm run fuzz [-- --count N] [--seed S] [--target framing,cbor,header,client]`
 * Fuzzes the SMP layer (serial framing, CBOR, header, client); see tests/fuzz/targets.ts for the
 * invariants. Prints a JSON summary per target and exits 1 on any violation, printing the seed to replay.
 */
import { FUZZ_TARGETS, runFuzz, totalViolations, type FuzzTarget } from '../tests/fuzz/targets';

function parseArgs(argv: readonly string[]): { count: number; seed: number; targets: FuzzTarget[] } {
  const value = (name: string) => {
    const index = argv.indexOf(`--${name}`);
    const inline = argv.find((arg) => arg.startsWith(`--${name}=`));
    return inline ? inline.slice(name.length + 3) : index >= 0 ? argv[index + 1] : undefined;
  };
  const count = Number(value('count') ?? 100_000);
  const seed = Number(value('seed') ?? Date.now() % 0x1_0000_0000);
  const targets = (value('target')?.split(',') ?? [...FUZZ_TARGETS]) as FuzzTarget[];
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer, got ${value('count')}`);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, got ${value('seed')}`);
  for (const target of targets) if (!FUZZ_TARGETS.includes(target)) throw new Error(`--target: unknown target "${target}" (known: ${FUZZ_TARGETS.join(', ')})`);
  return { count, seed, targets };
}

let options: ReturnType<typeof parseArgs>;
try {
  options = parseArgs(process.argv.slice(2));
} catch (caught) {
  console.error(`fuzz: ${caught instanceof Error ? caught.message : String(caught)}`);
  process.exit(2);
}

// Anything escaping the layer under test (e.g. from a receive loop) is a violation, not a crash.
const uncaught: string[] = [];
process.on('uncaughtException', (error) => uncaught.push(`uncaught exception: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (reason) => uncaught.push(`unhandled rejection: ${String(reason)}`));

const started = performance.now();
const report = await runFuzz(options);
const violations = totalViolations(report) + uncaught.length;
console.log(
  JSON.stringify(
    { seed: options.seed, countPerTarget: options.count, totalMs: Math.round(performance.now() - started), violations, ...report, ...(uncaught.length ? { uncaught } : {}) },
    null,
    2,
  ),
);
if (violations > 0) {
  console.error(`fuzz: ${violations} violation(s); replay with: npm run fuzz -- --count ${options.count} --seed ${options.seed}`);
  process.exit(1);
}
