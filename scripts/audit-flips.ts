#!/usr/bin/env -S npx tsx
/**
 * Every single-bit flip of whole lines of the 1,000-record audit fixture, each checked by the
 * real verifier (detected and located, tests/unit/support/bitflip.ts), for when the class-based
 * tests in `npm test` are not enough: all 8 × 413,767 flips of the file take about 12 h on one
 * core, so it takes a line range and can be split across machines or cores.
 *
 *   npx tsx scripts/audit-flips.ts --lines 1-12          # the header and the first 11 records
 *   npx tsx scripts/audit-flips.ts --lines 1-1011        # everything (hours)
 *
 * Prints one JSON line at the end: lines, flips, misses (the first 20), seconds.
 */
import { checkFlip, loadFixture } from '../tests/unit/support/bitflip';

function parseRange(argv: string[], last: number): [number, number] {
  const at = argv.indexOf('--lines');
  const text = at >= 0 ? argv[at + 1] : undefined;
  const match = text ? /^(\d+)-(\d+)$/.exec(text) : null;
  if (!match) {
    process.stderr.write('usage: npx tsx scripts/audit-flips.ts --lines FIRST-LAST   (1-based, inclusive)\n');
    process.exit(2);
  }
  const first = Math.max(1, Number(match[1]));
  return [first, Math.min(last, Math.max(first, Number(match[2])))];
}

const fixture = loadFixture();
const [first, last] = parseRange(process.argv.slice(2), fixture.lines.length);
const from = fixture.starts[first - 1]!;
const to = last < fixture.starts.length ? fixture.starts[last]! : fixture.bytes.length; // each line with its newline
const started = performance.now();
const misses: string[] = [];
let flips = 0;
for (let position = from; position < to; position++) {
  for (let bit = 0; bit < 8; bit++) {
    const miss = await checkFlip(fixture, position, bit);
    flips++;
    if (miss && misses.length < 20) misses.push(miss);
  }
  if ((position - from) % 4096 === 4095) process.stderr.write(`${position - from + 1}/${to - from} bytes, ${flips} flips, ${misses.length} misses\n`);
}
const seconds = Math.round((performance.now() - started) / 100) / 10;
process.stdout.write(JSON.stringify({ lines: `${first}-${last}`, bytes: to - from, flips, misses, seconds }) + '\n');
process.exitCode = misses.length === 0 ? 0 : 1;
