/**
 * The command line behind `npm run provision` and `npm run provision:sim` (its `--port sim` form):
 *
 *   npm run -s provision -- --port <path | sim> --out DIR [--profile tfm-sample|supervisor|settings-only]
 *                            [--serial SERIAL] [--baud 115200 (sim only)] [--timeout MS] [--known LABEL=FILE]...
 *
 * Provisions a board with the same code the app runs (src/lib/provisioning), in Node: a fresh CA
 * (createCa), the board — the simulated board on a real-time serial link model (`--port sim`), or a
 * real serial device / pty such as the reference firmware's (`--port /dev/pts/N`, through
 * openSerialDevice) — and the audit log in fake-indexeddb. Writes DIR/root.pem,
 * DIR/intermediate.pem, DIR/device.pem (the board's certificate), DIR/device-pubkey.pem (the public
 * key the board reported, SPKI PEM), DIR/result.json (the run result with its timings) and
 * DIR/audit.jsonl (the audit export). Progress goes to stderr, one JSON summary line to stdout.
 *
 * Operator values (tfm-sample's known keys) come from `--known LABEL=FILE` (PKCS#8 PEM/DER, a
 * 32-byte raw scalar, or 64 hex characters); a value not given is made fresh for this run and
 * never written anywhere.
 * Exit status: 0 provisioned; 1 the run failed (the failure as JSON on stdout); 2 bad usage.
 */
import 'fake-indexeddb/auto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJsonl, openAuditLog } from '../../lib/audit';
import { type Board, connectBoard } from '../../lib/device';
import { createCa, encodePem } from '../../lib/pki';
import {
  auditLogSink,
  BUILTIN_PROFILES,
  builtinProfile,
  type KnownValueInput,
  planProvisioning,
  type ProvisioningEvent,
  type ProvisioningResult,
  runProvisioning,
} from '../../lib/provisioning';
import { connectSimulatedBoard, createSimulatedDevice, createStandardSimulatedDevice } from '../../lib/sim';
import { TransportFailure } from '../../lib/transport/types';
import { openSerialDevice } from '../pty-transport';

const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;
const EXIT_GRACE_MS = 2000;
/** The link the timing target is for: a 115200-baud serial console (the simulated board's link model). */
const DEFAULT_BAUD = 115200;
/** Per-request answer timeout on a real port: a CSR or an HPKE import on a small board takes a while. */
const DEFAULT_PORT_TIMEOUT_MS = 5000;

/** How one of the two scripts presents itself. */
export interface ProvisionCliFlavour {
  /** The script name in messages: "provision" or "provision:sim". */
  name: string;
  /** The port, fixed by the script ("sim" for provision:sim), or null: `--port` is required. */
  fixedPort: 'sim' | null;
}

interface Options {
  /** "sim", or the path of a serial device / pty. */
  port: string;
  out: string;
  profile: string;
  baud: number;
  serial: string;
  timeoutMs: number;
  known: Record<string, string>;
}

class UsageError extends Error {}

const PROFILE_IDS = BUILTIN_PROFILES.map((profile) => profile.id).join('|');

function usage(flavour: ProvisionCliFlavour): string {
  if (flavour.fixedPort) return `usage: npm run -s ${flavour.name} -- --out DIR [--profile ${PROFILE_IDS}] [--baud 115200] [--serial SIM-0001] [--known LABEL=FILE]...`;
  return `usage: npm run -s ${flavour.name} -- --port <path | sim> --out DIR [--profile ${PROFILE_IDS}] [--serial SERIAL] [--baud 115200 (sim)] [--timeout MS] [--known LABEL=FILE]...`;
}

function parseArgs(argv: string[], flavour: ProvisionCliFlavour): Options | 'help' {
  const options: Options = { port: flavour.fixedPort ?? '', out: '', profile: 'tfm-sample', baud: DEFAULT_BAUD, serial: '', timeoutMs: DEFAULT_PORT_TIMEOUT_MS, known: {} };
  const args = argv.filter((arg) => arg !== '--');
  const name = flavour.name;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${name}: ${arg} needs a value`);
      return next;
    };
    if (arg === '-h' || arg === '--help') return 'help';
    else if (arg === '--out') options.out = value();
    else if (arg === '--port' && !flavour.fixedPort) options.port = value();
    else if (arg === '--profile') options.profile = value();
    else if (arg === '--serial') options.serial = value();
    else if (arg === '--baud') {
      const text = value();
      options.baud = text === 'inf' ? Infinity : Number(text);
      if (!(options.baud > 0)) throw new UsageError(`${name}: --baud must be a positive number (or "inf"), got ${text}`);
    } else if (arg === '--timeout' && !flavour.fixedPort) {
      const text = value();
      options.timeoutMs = Number(text);
      if (!(options.timeoutMs > 0)) throw new UsageError(`${name}: --timeout must be a positive number of milliseconds, got ${text}`);
    } else if (arg === '--known') {
      const [label, file] = value().split(/=(.*)/s);
      if (!label || !file) throw new UsageError(`${name}: --known takes LABEL=FILE`);
      options.known[label] = file;
    } else throw new UsageError(`${name}: unknown argument ${arg}`);
  }
  if (!options.port) throw new UsageError(`${name}: --port <path | sim> is required`);
  if (!options.out) throw new UsageError(`${name}: --out DIR is required`);
  if (!builtinProfile(options.profile)) throw new UsageError(`${name}: unknown profile ${options.profile}`);
  if (!options.serial) options.serial = options.port === 'sim' ? 'SIM-0001' : 'BOARD-0001';
  return options;
}

/** The board on the chosen port, connected with the profile's keys group. */
async function openBoard(options: Options, keysGroup: number | undefined, settings: boolean): Promise<Board> {
  if (options.port === 'sim') {
    const simulated = settings ? createStandardSimulatedDevice({ serialNumber: options.serial }) : createSimulatedDevice({ serialNumber: options.serial });
    return connectBoard(connectSimulatedBoard(simulated.board, { baudRate: options.baud }), { keysGroup });
  }
  const transport = await openSerialDevice(options.port);
  try {
    return await connectBoard(transport, { keysGroup, timeoutMs: options.timeoutMs });
  } catch (caught) {
    await transport.close();
    throw caught;
  }
}

async function run(options: Options, flavour: ProvisionCliFlavour): Promise<number> {
  const profile = builtinProfile(options.profile)!;
  const plan = planProvisioning(profile);
  if (!plan.ok) throw new Error(plan.error.message);
  const knownValues = await operatorValues(plan.value.operatorValues, options.known, flavour.name);

  const created = await createCa({ label: `Imprint ${flavour.name}` });
  if (!created.ok) throw new Error(created.error.message);
  const { ca } = created.value;
  const slug = flavour.name.replace(/[^a-z0-9]+/gi, '-');
  const log = await openAuditLog({ appBuild: slug, dbName: `imprint-audit-${slug}-${Date.now()}` });
  if (!log.ok) throw new Error(log.error.message);

  const board = await openBoard(options, profile.kind === 'keys-group' ? profile.keysGroup : undefined, profile.kind === 'settings');
  let outcome;
  try {
    outcome = await runProvisioning({ board, plan: plan.value, ca, boardSerial: options.serial, operator: flavour.name, knownValues, audit: auditLogSink(log.value), onEvent: progress });
  } finally {
    await board.close();
  }

  mkdirSync(options.out, { recursive: true });
  const write = (name: string, text: string) => {
    writeFileSync(path.join(options.out, name), text);
    return name;
  };
  const files = [write('root.pem', encodePem('CERTIFICATE', ca.root.certificate)), write('intermediate.pem', encodePem('CERTIFICATE', ca.intermediate.certificate))];
  const exported = await exportJsonl(log.value);
  if (exported.ok) files.push(write('audit.jsonl', exported.value));
  log.value.close();

  // The link: the simulated board's modelled baud rate, or the real port (its speed is the port's own).
  const link = options.port === 'sim' ? { baud: options.baud } : { port: options.port };
  if (!outcome.ok) {
    const failure = outcome.error;
    files.push(write('result.json', JSON.stringify({ ok: false, ...link, failure }, null, 2) + '\n'));
    process.stdout.write(`${JSON.stringify({ ok: false, profile: profile.id, step: failure.step?.id ?? null, code: failure.error.code, message: failure.message, boardState: failure.boardState, ...link, out: options.out, files })}\n`);
    return EXIT.FAILED;
  }
  const result = outcome.value;
  const primary = result.keys.find((key) => key.label === result.primaryKey) ?? result.keys[0];
  if (result.certificate) files.push(write('device.pem', result.certificate.pem));
  if (primary) files.push(write('device-pubkey.pem', primary.publicKeyPem));
  const summary = { totalMs: result.timings.totalMs, browserCryptoMs: result.timings.cryptoMs, boardLinkMs: result.timings.boardMs, auditMs: result.timings.auditMs };
  files.push(write('result.json', JSON.stringify({ ok: true, summary, ...link, result }, null, 2) + '\n'));
  process.stdout.write(`${JSON.stringify(summaryLine(result, link, summary, options.out, files))}\n`);
  return EXIT.OK;
}

function summaryLine(result: ProvisioningResult, link: Record<string, unknown>, timings: Record<string, number>, out: string, files: string[]) {
  return {
    ok: true,
    profile: result.profileId,
    deviceId: result.deviceId,
    boardSerial: result.boardSerial,
    path: result.path,
    certificate: result.certificate ? { serial: result.certificate.serialNumber, fingerprint: result.certificate.fingerprint, subject: result.certificate.subject } : null,
    keys: result.keys.map((key) => ({ label: key.label, keyId: key.keyId, alg: key.alg, spkiFingerprint: key.spkiFingerprint })),
    counter: result.counter,
    clearTextSecrets: result.clearTextSecrets,
    ...link,
    ...timings,
    out,
    files,
  };
}

/** The operator's values from files, or fresh P-256 keys (PKCS#8) made for this run only. */
async function operatorValues(labels: readonly string[], files: Record<string, string>, name: string): Promise<Record<string, KnownValueInput>> {
  const values: Record<string, KnownValueInput> = {};
  for (const label of labels) {
    const file = files[label];
    if (file) {
      const bytes = new Uint8Array(readFileSync(file));
      values[label] = bytes.length === 32 || bytes[0] === 0x30 ? bytes : new TextDecoder().decode(bytes);
      continue;
    }
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    values[label] = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
    process.stderr.write(`${name}: no --known ${label}=FILE: using a fresh P-256 key for "${label}" (not kept)\n`);
  }
  return values;
}

function progress(event: ProvisioningEvent): void {
  const line = (mark: string, id: string, text: string) => process.stderr.write(`${mark} ${id.padEnd(30)} ${text}\n`);
  if (event.type === 'step-done') line('✓', event.step.id, `${event.timing.ms.toFixed(0).padStart(4)} ms  ${event.detail}`);
  else if (event.type === 'step-skipped') line('–', event.step.id, `skipped: ${event.reason}`);
  else if (event.type === 'step-failed') line('✗', event.step.id, event.error.message);
  else if (event.type === 'step-recovering') line('…', event.step.id, `waiting for the board: ${event.reason}`);
  else if (event.type === 'cleanup') line(event.report.removed ? '↺' : '!', 'cleanup', event.report.message);
}

async function main(argv: string[], flavour: ProvisionCliFlavour): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseArgs(argv, flavour);
  } catch (caught) {
    if (!(caught instanceof UsageError)) throw caught;
    process.stderr.write(`${caught.message}\n${usage(flavour)}\n`);
    return EXIT.USAGE;
  }
  if (options === 'help') {
    process.stdout.write(`${usage(flavour)}\nExit status: 0 provisioned; 1 the run failed (JSON on stdout); 2 bad usage.\n`);
    return EXIT.OK;
  }
  return run(options, flavour);
}

/** Runs the command line with `argv` (without node and the script) and sets the exit status. */
export function provisionCli(argv: string[], flavour: ProvisionCliFlavour): void {
  main(argv, flavour).then(
    (code) => {
      process.exitCode = code;
      setTimeout(() => {
        process.stderr.write(`${flavour.name}: still running ${EXIT_GRACE_MS} ms after finishing (an open handle); exiting\n`);
        process.exit(code);
      }, EXIT_GRACE_MS).unref();
    },
    (caught: unknown) => {
      // A port that cannot be opened is the operator's to fix: its message, not a stack.
      const text = caught instanceof TransportFailure ? caught.message : caught instanceof Error ? (caught.stack ?? caught.message) : String(caught);
      process.stderr.write(`${flavour.name}: ${text}\n`);
      process.exitCode = EXIT.FAILED;
    },
  );
}
