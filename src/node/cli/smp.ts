/**
 * `npm run -s smp -- --port <serial device | sim> [--timeout ms] [--v1] <group> <command> [json]`
 *
 * Sends one SMP request from the command table (src/lib/device/commands.ts) to a board over a
 * serial device or pty, or to the built-in simulated board, and prints the response as one line
 * of JSON. Same layers as the app: connectBoard, runCommand, the typed errors. See docs/cli.md.
 *
 * JSON cannot carry bytes: request fields the table marks `bytes` (image state-set "hash") are
 * given as hex strings, and bytes in responses are printed as lowercase hex strings.
 * Exit status: 0 answered, 1 the board or the link failed (typed error as JSON on stderr), 2 bad usage.
 */
import { type Board, COMMANDS, type CommandSpec, connectBoard, findCommand, runCommand } from '../../lib/device';
import { connectSimulatedBoard, createSimulatedDevice } from '../../lib/sim';
import type { CborMap } from '../../lib/smp/cbor';
import { DEFAULT_TIMEOUT_MS } from '../../lib/smp/client';
import { isSmpError } from '../../lib/smp/errors';
import { SMP_VERSION } from '../../lib/smp/ids';
import { TransportFailure } from '../../lib/transport/types';
import { bytesToHex, hexToBytes } from '../../lib/util/bytes';
import { openSerialDevice } from '../pty-transport';
import { ImageUsageError, isImageVerb, parseImageInvocation, runImageVerb, type ImageInvocation } from './image-commands';

const USAGE = 'usage: npm run -s smp -- --port <serial device | sim> [--timeout ms] [--v1] <group> <command> [json]\n       npm run -s smp -- --port <…> image upload FILE [--slot N] [--window N] | image test HASH | image confirm [HASH]';
const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;
/** If something still holds the event loop this long after we are done, leave anyway. */
const EXIT_GRACE_MS = 2000;

class UsageError extends Error {}

interface Invocation {
  port: string;
  timeoutMs?: number;
  v1: boolean;
  /** A table command with its JSON request, or one of the image verbs that take files and hashes. */
  spec?: CommandSpec;
  payload: CborMap;
  image?: ImageInvocation;
}

function parseArgs(argv: string[]): Invocation | 'help' {
  let port: string | undefined;
  let timeoutMs: number | undefined;
  let v1 = false;
  const imageFlags: { slot?: string; window?: string } = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    if (flag === '-h' || flag === '--help') return 'help';
    else if (flag === '--port') port = value();
    else if (flag === '--timeout') {
      const text = value();
      timeoutMs = Number(text);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout must be a positive number of milliseconds, got "${text}"`);
    } else if (flag === '--v1') v1 = true;
    else if (flag === '--slot') imageFlags.slot = value();
    else if (flag === '--window') imageFlags.window = value();
    else if (arg.startsWith('--')) throw new UsageError(`unknown option ${flag}`);
    else positional.push(arg);
  }
  if (positional.length < 2) throw new UsageError('name a group and a command, e.g. "os echo"');
  const [groupName, name, json] = positional as [string, string, string | undefined];
  if (isImageVerb(groupName, name)) {
    if (!port) throw new UsageError('--port is required: a serial device such as /dev/ttyACM0, or "sim"');
    try {
      return { port, timeoutMs, v1, payload: {}, image: parseImageInvocation(name, positional.slice(2), imageFlags) };
    } catch (caught) {
      if (caught instanceof ImageUsageError) throw new UsageError(caught.message);
      throw caught;
    }
  }
  if (positional.length > 3) throw new UsageError(`too many arguments: ${positional.slice(3).join(' ')} (quote the JSON request as one argument)`);
  const spec = findCommand(groupName, name);
  if (!spec) throw new UsageError(`unknown command "${groupName} ${name}"; --help lists them`);
  if (!port) throw new UsageError('--port is required: a serial device such as /dev/ttyACM0, or "sim"');
  return { port, timeoutMs, v1, spec, payload: json === undefined ? {} : parseRequest(spec, json) };
}

/** The JSON request as a CBOR map, with hex strings turned into bytes where the table says `bytes`. */
function parseRequest(spec: CommandSpec, json: string): CborMap {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (caught) {
    throw new UsageError(`the request is not valid JSON (${caught instanceof Error ? caught.message : String(caught)}): ${json}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`the request must be a JSON object, e.g. ${spec.example ?? '{}'}`);
  const payload = value as CborMap;
  for (const [field, kind] of Object.entries(spec.request ?? {})) {
    const given = payload[field];
    if (!kind.startsWith('bytes') || given === undefined) continue;
    if (typeof given !== 'string') throw new UsageError(`"${field}" must be a hex string`);
    try {
      payload[field] = hexToBytes(given);
    } catch {
      throw new UsageError(`"${field}" must be a hex string, got "${given}"`);
    }
  }
  return payload;
}

/** JSON for a decoded response: bytes as lowercase hex, big integers as numbers (or strings past 2^53). */
function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, toJson(field)]));
  return value;
}

function helpText(): string {
  const specs: CommandSpec[] = Object.values(COMMANDS);
  const nameWidth = Math.max(...specs.map((spec) => `${spec.groupName} ${spec.name}`.length));
  const summaryWidth = Math.max(...specs.map((spec) => spec.summary.length));
  const rows = specs.map((spec) => {
    const name = `${spec.groupName} ${spec.name}`.padEnd(nameWidth);
    const example = spec.example ? `  '${spec.example}'` : '';
    return `  ${name}  ${spec.summary.padEnd(summaryWidth)}${example}`.trimEnd();
  });
  return [
    USAGE,
    '',
    'Sends one SMP request to a board and prints the response as one line of JSON.',
    '',
    'Options:',
    '  --port <path | sim>  serial device or pty (/dev/ttyACM0, /dev/pts/3), or "sim" for the built-in simulated board',
    `  --timeout <ms>       time to wait for each answer (default ${DEFAULT_TIMEOUT_MS}; longer for erase)`,
    '  --v1                 speak SMP v1 (default v2)',
    '  --slot <N>           image upload: the secondary slot to fill (default 1)',
    '  --window <N>         image upload: chunks in flight (default 2 when the board has 2+ buffers)',
    '  -h, --help           this text',
    '',
    'Commands (group command, what it does, example request):',
    ...rows,
    '  image upload FILE    upload an MCUboot image (progress on stderr; JSON summary: bytes, seconds, bytesPerSecond, sha)',
    '  image test HASH      mark the image with this hash to run once at next reset',
    '  image confirm [HASH] confirm the running image, or make the image with HASH permanent',
    '',
    'Bytes: request fields that are bytes (image state-set "hash", keys sign "msg", keys cert-store "data", keys import "enc"/"ct")',
    'are given as hex strings;',
    'bytes in responses are printed as lowercase hex strings.',
    'Exit status: 0 answered; 1 the board or the link failed (error as JSON on stderr); 2 bad usage.',
    '',
    'Example: npm run -s smp -- --port sim os echo \'{"d":"hi"}\'   prints {"r":"hi"}',
  ].join('\n');
}

async function run(invocation: Invocation): Promise<number> {
  const transport =
    invocation.port === 'sim'
      ? // bootMs 0: a reset's reboot must not keep this one-shot process waiting for a banner nobody reads.
        connectSimulatedBoard(createSimulatedDevice({ bootMs: 0 }).board, { baudRate: Infinity, description: 'simulated board' })
      : await openSerialDevice(invocation.port);
  let board: Board | null = null;
  try {
    board = await connectBoard(transport, { timeoutMs: invocation.timeoutMs, version: invocation.v1 ? SMP_VERSION.V1 : SMP_VERSION.V2 });
    const result = invocation.image
      ? await runImageVerb(board, invocation.image)
      : await runCommand(board.client, invocation.spec!, invocation.payload, { timeoutMs: invocation.timeoutMs });
    if (!result.ok) {
      printError(result.error);
      return EXIT.FAILED;
    }
    process.stdout.write(`${JSON.stringify(toJson(result.value))}\n`);
    return EXIT.OK;
  } finally {
    await (board ? board.close() : transport.close());
  }
}

function printError(error: { code: string; message: string; rc?: number; group?: number }): void {
  const { code, message, rc, group } = error;
  process.stderr.write(`${JSON.stringify({ code, message, rc, group })}\n`);
}

async function main(argv: string[]): Promise<number> {
  let invocation: Invocation | 'help';
  try {
    invocation = parseArgs(argv);
  } catch (caught) {
    if (!(caught instanceof UsageError)) throw caught;
    process.stderr.write(`${USAGE}\n${caught.message}\n`);
    return EXIT.USAGE;
  }
  if (invocation === 'help') {
    process.stdout.write(`${helpText()}\n`);
    return EXIT.OK;
  }
  try {
    return await run(invocation);
  } catch (caught) {
    if (caught instanceof TransportFailure || isSmpError(caught)) printError(caught);
    else printError({ code: 'internal', message: caught instanceof Error ? caught.message : String(caught) });
    return EXIT.FAILED;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Everything is closed, so the process ends by itself; this only guards against a handle we did not know
  // about, and says so (the tests fail on any stderr output after a success).
  setTimeout(() => {
    process.stderr.write(`smp: still running ${EXIT_GRACE_MS} ms after finishing (an open handle); exiting\n`);
    process.exit(code);
  }, EXIT_GRACE_MS).unref();
});
