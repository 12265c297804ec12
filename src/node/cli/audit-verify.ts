/**
 * `npm run -s audit:verify -- FILE...`
 *
 * Verifies and merges audit exports (JSON Lines, docs/audit-format.md) with the same code the app
 * uses (src/lib/audit/verify.ts). Prints one line per problem, `station <id> seq <n>: <what is
 * wrong> (<file> line <n>)`, or one summary line when everything verifies.
 * Exit status: 0 every file verifies, 1 a problem was found, 2 bad usage or a file cannot be read.
 */
import { readFile } from 'node:fs/promises';
import { type ExportInput, formatProblem, verifyExports } from '../../lib/audit';

const USAGE = 'usage: npm run -s audit:verify -- FILE.jsonl [FILE.jsonl ...]';
const EXIT = { OK: 0, PROBLEMS: 1, USAGE: 2 } as const;

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(`${USAGE}\nExit status: 0 every file verifies, 1 problems found (one line each), 2 bad usage or unreadable file.\n`);
    return EXIT.OK;
  }
  const files = argv.filter((arg) => arg !== '--');
  const unknown = files.find((arg) => arg.startsWith('-'));
  if (files.length === 0 || unknown !== undefined) {
    process.stderr.write(`${unknown === undefined ? 'audit:verify: no files given' : `audit:verify: unknown option ${unknown}`}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  const inputs: ExportInput[] = [];
  for (const name of files) {
    try {
      inputs.push({ name, text: await readFile(name, 'utf8') });
    } catch (caught) {
      process.stderr.write(`audit:verify: cannot read ${name}: ${caught instanceof Error ? caught.message : String(caught)}\n`);
      return EXIT.USAGE;
    }
  }
  const report = await verifyExports(inputs);
  if (report.ok) {
    const records = report.stations.reduce((sum, station) => sum + station.records, 0);
    const checkpoints = report.stations.reduce((sum, station) => sum + station.checkpoints, 0);
    process.stdout.write(`verified: ${plural(report.files, 'file')}, ${plural(report.stations.length, 'station')}, ${plural(records, 'record')}, ${plural(checkpoints, 'signed checkpoint')}\n`);
    return EXIT.OK;
  }
  process.stdout.write(report.problems.map((problem) => formatProblem(problem) + '\n').join(''));
  process.stderr.write(`audit:verify: ${plural(report.problems.length, 'problem')} in ${plural(report.files, 'file')}\n`);
  return EXIT.PROBLEMS;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (caught: unknown) => {
    process.stderr.write(`audit:verify: ${caught instanceof Error ? (caught.stack ?? caught.message) : String(caught)}\n`);
    process.exitCode = EXIT.USAGE;
  },
);
