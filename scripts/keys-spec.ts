/**
 * `npx tsx scripts/keys-spec.ts`: rewrites the byte-exact example blocks of
 * docs/protocol/keys-group.md from the code (src/lib/device/keys-examples.ts run against the
 * seeded simulated board). A block is a fenced `text` block right after a line
 * `<!-- keys-example: NAME -->`; tests/unit/keys-spec.test.ts fails when one is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEYS_EXAMPLE_BLOCK, renderKeysExample } from '../src/lib/device/keys-examples';
import { keysSpecExamples } from '../src/lib/sim/keys/spec-examples';

const KEYS_SPEC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/protocol/keys-group.md');

const examples = new Map((await keysSpecExamples()).map((example) => [example.name, renderKeysExample(example)]));
const seen = new Set<string>();
const text = readFileSync(KEYS_SPEC, 'utf8').replace(KEYS_EXAMPLE_BLOCK, (whole, name: string) => {
  const block = examples.get(name);
  if (block === undefined) {
    process.stderr.write(`keys-group.md names an example the code does not make: ${name}\n`);
    return whole;
  }
  seen.add(name);
  return `<!-- keys-example: ${name} -->\n\`\`\`text\n${block}\n\`\`\``;
});
writeFileSync(KEYS_SPEC, text);
const missing = [...examples.keys()].filter((name) => !seen.has(name));
process.stdout.write(`${seen.size} example blocks written${missing.length ? `; not in the document: ${missing.join(', ')}` : ''}\n`);
