/**
 * Single-bit flips at the edges of every string and number in one line of each kind of the
 * 1,000-record export fixture (the header, intent 501, outcome 502, the checkpoint at 500): all 8
 * bits of each first and last character, each detected and located. See tests/unit/support/bitflip*.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkFlip, loadFixture } from './support/bitflip';
import { edgeFlips } from './support/bitflip-plan';

const fixture = loadFixture();
const lineOf = (kind: string, id: number | null) => fixture.lines.findIndex((line) => line.kind === kind && line.id === id);

describe('single-bit flips at the edges of every field', () => {
  it('header, an intent, an outcome and a checkpoint: every bit of every first and last character', async () => {
    const lines = [lineOf('header', null), lineOf('intent', 501), lineOf('outcome', 502), lineOf('checkpoint', 500)];
    expect(lines.every((index) => index >= 0)).toBe(true);
    const flips = edgeFlips(fixture, lines);
    const failures: string[] = [];
    for (const { position, bit } of flips) {
      const failure = await checkFlip(fixture, position, bit);
      if (failure) failures.push(failure);
    }
    console.log(`edges: ${flips.length} flips`);
    expect(failures.slice(0, 20)).toEqual([]);
  }, 600_000);
});
