/**
 * Single-bit flips in the records of the 1,000-record export fixture: every (record kind, field,
 * key or value, byte value, bit) class flipped once, spread over the file, each detected and
 * located by the real verifier. Coverage and the judging rule: tests/unit/support/bitflip*.ts,
 * docs/audit-format.md "Tamper tests".
 */
import { describe, expect, it } from 'vitest';
import { checkFlip, loadFixture } from './support/bitflip';
import { classFlips } from './support/bitflip-plan';

const fixture = loadFixture();

describe('every single-bit flip class in the records of a 1,000-record export', () => {
  for (const kind of ['intent', 'outcome'] as const) {
    it(`${kind} records: every field × byte value × bit is detected and located`, async () => {
      const flips = classFlips(fixture, [kind]);
      const failures: string[] = [];
      for (const { position, bit } of flips) {
        const failure = await checkFlip(fixture, position, bit);
        if (failure) failures.push(failure);
      }
      console.log(`${kind}: ${flips.length} flips over ${new Set(flips.map((f) => f.position)).size} bytes`);
      expect(failures.slice(0, 20)).toEqual([]);
    }, 600_000);
  }
});
