/**
 * Single-bit flips of the 1,000-record audit export fixture (tests/fixtures/audit/export-1000.jsonl,
 * made by `makeFixture` below and committed so every run flips the same bytes). A flip happens on
 * the file's bytes (so bit 7 makes invalid UTF-8, decoded to U+FFFD as a browser would), the whole
 * flipped file goes through the real verifier, and the flip must be both detected (at least one
 * problem) and located: a problem on the flipped line, on the next line (a flipped newline joins
 * two lines; a record's chain link is checked by its successor), or naming the flipped line's seq
 * (a record) or tree size (a checkpoint).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatProblem, type Problem, verifyExport } from '../../../src/lib/audit';

export const FIXTURE_PATH = fileURLToPath(new URL('../../fixtures/audit/export-1000.jsonl', import.meta.url));

export interface Fixture {
  bytes: Uint8Array;
  /** Byte offset where each line starts (index 0 = line 1). */
  starts: number[];
  /** The line's kind and the number a problem may name it by (seq or treeSize). */
  lines: Array<{ kind: 'header' | 'intent' | 'outcome' | 'checkpoint' | 'empty'; id: number | null; text: string }>;
}

export function loadFixture(): Fixture {
  const bytes = new Uint8Array(readFileSync(FIXTURE_PATH));
  const text = new TextDecoder().decode(bytes);
  const raw = text.split('\n');
  const starts: number[] = [];
  let offset = 0;
  for (const line of raw) {
    starts.push(offset);
    offset += line.length + 1; // ASCII only: chars = bytes
  }
  const lines = raw.map((line): Fixture['lines'][number] => {
    if (line === '') return { kind: 'empty', id: null, text: line };
    const value = JSON.parse(line) as { type: string; seq?: number; treeSize?: number; phase?: string };
    const kind: Fixture['lines'][number]['kind'] = value.type === 'record' ? (value.phase === 'intent' ? 'intent' : 'outcome') : (value.type as 'header' | 'checkpoint');
    return { kind, id: value.type === 'record' ? value.seq! : value.type === 'checkpoint' ? value.treeSize! : null, text: line };
  });
  return { bytes, starts, lines };
}

export function lineOf(fixture: Fixture, position: number): number {
  let low = 0;
  let high = fixture.starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (fixture.starts[mid]! <= position) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}

const decoder = new TextDecoder();

/** Flips one bit, verifies, and returns null when detected and located, else why not. */
export async function checkFlip(fixture: Fixture, position: number, bit: number): Promise<string | null> {
  const flipped = fixture.bytes.slice();
  flipped[position]! ^= 1 << bit;
  const problems: Problem[] = (await verifyExport(decoder.decode(flipped), 'fixture.jsonl')).problems;
  const line = lineOf(fixture, position);
  const info = fixture.lines[line - 1]!;
  if (problems.length === 0) return `bit ${bit} of byte ${position} (line ${line}, ${info.kind}): not detected`;
  const located = problems.some((p) => p.line === line || p.line === line + 1 || (info.id !== null && p.seq === info.id));
  return located ? null : `bit ${bit} of byte ${position} (line ${line}, ${info.kind} ${info.id ?? ''}): not located: ${problems.map(formatProblem).join(' | ')}`;
}

/**
 * The byte classes of one line: a flip's effect depends on the line kind, the field it falls in,
 * whether it is in the key (with its quotes and colon) or the value (with its quotes and the comma
 * or brace after it), and the byte's value. Returns, per byte offset in the line, its class name.
 */
export function byteClasses(kind: string, line: string): string[] {
  const classes: string[] = [];
  // Walk the JSON text: track the top-level field and whether we are in a key or a value.
  let depth = 0;
  let inString = false;
  let escaped = false;
  let field = '(open)';
  let role: 'key' | 'value' = 'key';
  let token = '';
  let readingKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    classes.push(`${kind}/${field}/${role}/${c}`);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') {
        inString = false;
        if (readingKey && depth === 1) field = token;
      } else if (readingKey && depth === 1) token += c;
      continue;
    }
    if (c === '"') {
      inString = true;
      if (depth === 1 && role === 'key') {
        readingKey = true;
        token = '';
      } else readingKey = false;
    } else if (c === ':' && depth === 1) role = 'value';
    else if (c === ',' && depth === 1) role = 'key';
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return classes;
}
