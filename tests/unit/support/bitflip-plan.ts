/**
 * Which flips the bit-flip tests make (see tests/unit/support/bitflip.ts for how each is judged):
 *
 * - `classFlips`: every (line kind, field, key-or-value, byte value, bit 0–7) class that occurs in
 *   the fixture, each flipped once, at an occurrence picked by rotating the starting line, so the
 *   flips spread over the whole file instead of piling onto record 1.
 * - `everyLineFlips`: one flip in every line (header, 1,000 records, 10 checkpoints), at a byte and bit that move with the line number.
 */
import { byteClasses, type Fixture } from './bitflip';

export interface Flip {
  position: number;
  bit: number;
}

export function classFlips(fixture: Fixture, kinds: ReadonlyArray<Fixture['lines'][number]['kind']>): Flip[] {
  const perLine = fixture.lines.map((info) => (kinds.includes(info.kind) ? byteClasses(info.kind, info.text) : []));
  // Every class → its occurrences (line index, offset); then one pick per (class, bit).
  const occurrences = new Map<string, Array<[number, number]>>();
  perLine.forEach((classes, index) => classes.forEach((name, offset) => {
    let list = occurrences.get(name);
    if (!list) occurrences.set(name, (list = []));
    list.push([index, offset]);
  }));
  const flips: Flip[] = [];
  let counter = 0;
  for (const list of occurrences.values()) {
    for (let bit = 0; bit < 8; bit++) {
      const [index, offset] = list[(counter++ * 7919) % list.length]!;
      flips.push({ position: fixture.starts[index]! + offset, bit });
    }
  }
  return flips;
}

export function everyLineFlips(fixture: Fixture): Flip[] {
  return fixture.lines.map((info, index) => {
    const length = info.text.length + 1; // with its newline
    const offset = (index * 37) % length;
    return { position: fixture.starts[index]! + offset, bit: index % 8 };
  }).filter((flip) => flip.position < fixture.bytes.length);
}

/**
 * Every bit of the first and last character of every string (keys and values, at any depth) and
 * of every number, in one line of each kind: where a flip's effect depends on the position and
 * not only on the byte (the last base64url character of a key coordinate has unused bits; a
 * number's first digit cannot become a leading zero unnoticed).
 */
export function edgeFlips(fixture: Fixture, lineIndexes: readonly number[]): Flip[] {
  const flips: Flip[] = [];
  for (const index of lineIndexes) {
    const text = fixture.lines[index]!.text;
    const positions = new Set<number>();
    for (const match of text.matchAll(/"([^"\\]*)"/g)) {
      if (match[1]!.length === 0) continue;
      positions.add(match.index! + 1);
      positions.add(match.index! + match[0].length - 2);
    }
    for (const match of text.matchAll(/:(\d+)/g)) {
      positions.add(match.index! + 1);
      positions.add(match.index! + match[0].length - 1);
    }
    for (const offset of positions) for (let bit = 0; bit < 8; bit++) flips.push({ position: fixture.starts[index]! + offset, bit });
  }
  return flips;
}
