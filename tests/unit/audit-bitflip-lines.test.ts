/**
 * Single-bit flips in the 1,000-record export fixture outside the records, and in every line:
 * every (header/checkpoint field, key or value, byte value, bit) class flipped once, and one flip
 * in each of the file's 1,011 lines (header, 1,000 records, 10 checkpoints),
 * each detected and located by the real verifier. See tests/unit/support/bitflip*.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkFlip, loadFixture } from './support/bitflip';
import { classFlips, everyLineFlips } from './support/bitflip-plan';

const fixture = loadFixture();

async function failuresOf(flips: Array<{ position: number; bit: number }>): Promise<string[]> {
  const failures: string[] = [];
  for (const { position, bit } of flips) {
    const failure = await checkFlip(fixture, position, bit);
    if (failure) failures.push(failure);
  }
  return failures;
}

describe('single-bit flips of a 1,000-record export', () => {
  it('the fixture verifies clean', async () => {
    const { verifyExport } = await import('../../src/lib/audit');
    const report = await verifyExport(new TextDecoder().decode(fixture.bytes));
    expect(report.problems).toEqual([]);
    expect(fixture.lines.filter((line) => line.kind === 'intent' || line.kind === 'outcome')).toHaveLength(1000);
  });

  for (const kind of ['header', 'checkpoint'] as const) {
    it(`${kind} lines: every field × byte value × bit is detected and located`, async () => {
      const flips = classFlips(fixture, [kind]);
      console.log(`${kind}: ${flips.length} flips`);
      expect((await failuresOf(flips)).slice(0, 20)).toEqual([]);
    }, 600_000);
  }

  it('one flip in every line of the file (each of the 1,000 records included) is detected and located', async () => {
    const flips = everyLineFlips(fixture);
    expect(flips.length).toBeGreaterThanOrEqual(1011);
    expect((await failuresOf(flips)).slice(0, 20)).toEqual([]);
  }, 600_000);
});
