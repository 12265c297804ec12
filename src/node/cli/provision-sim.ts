/**
 * `npm run -s provision:sim -- --out DIR [--profile tfm-sample|supervisor|settings-only] [--baud 115200]`
 *
 * Provisions the simulated board with the same code the app runs (src/lib/provisioning), in Node:
 * a fresh CA (createCa), the board on a real-time serial link model, the audit log in
 * fake-indexeddb. Writes DIR/root.pem, DIR/intermediate.pem, DIR/device.pem (the board's
 * certificate), DIR/device-pubkey.pem (the public key the board reported, SPKI PEM),
 * DIR/result.json (the run result with its timings) and DIR/audit.jsonl (the audit export).
 * Progress goes to stderr, one JSON summary line to stdout.
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
import { connectBoard } from '../../lib/device';
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

const USAGE = `usage: npm run -s provision:sim -- --out DIR [--profile ${BUILTIN_PROFILES.map((profile) => profile.id).join('|')}] [--baud 115200] [--serial SIM-0001] [--known LABEL=FILE]...`;
const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;
const EXIT_GRACE_MS = 2000;
/** The link the timing target is for: a 115200-baud serial console. */
const DEFAULT_BAUD = 115200;

interface Options {
  out: string;
  profile: string;
  baud: number;
  serial: string;
  known: Record<string, string>;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Options | 'help' {
  const options: Options = { out: '', profile: 'tfm-sample', baud: DEFAULT_BAUD, serial: 'SIM-0001', known: {} };
  const args = argv.filter((arg) => arg !== '--');
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`provision:sim: ${arg} needs a value`);
      return next;
    };
    if (arg === '-h' || arg === '--help') return 'help';
    else if (arg === '--out') options.out = value();
    else if (arg === '--profile') options.profile = value();
    else if (arg === '--serial') options.serial = value();
    else if (arg === '--baud') {
      const text = value();
      options.baud = text === 'inf' ? Infinity : Number(text);
      if (!(options.baud > 0)) throw new UsageError(`provision:sim: --baud must be a positive number (or "inf"), got ${text}`);
    } else if (arg === '--known') {
      const [label, file] = value().split(/=(.*)/s);
      if (!label || !file) throw new UsageError('provision:sim: --known takes LABEL=FILE');
      options.known[label] = file;
    } else throw new UsageError(`provision:sim: unknown argument ${arg}`);
  }
  if (!options.out) throw new UsageError('provision:sim: --out DIR is required');
  if (!builtinProfile(options.profile)) throw new UsageError(`provision:sim: unknown profile ${options.profile}`);
  return options;
}

async function run(options: Options): Promise<number> {
  const profile = builtinProfile(options.profile)!;
  const plan = planProvisioning(profile);
  if (!plan.ok) throw new Error(plan.error.message);
  const knownValues = await operatorValues(plan.value.operatorValues, options.known);

  const created = await createCa({ label: 'Imprint provision-sim' });
  if (!created.ok) throw new Error(created.error.message);
  const { ca } = created.value;
  const log = await openAuditLog({ appBuild: 'provision-sim', dbName: `imprint-audit-provision-sim-${Date.now()}` });
  if (!log.ok) throw new Error(log.error.message);

  const simulated = profile.kind === 'settings' ? createStandardSimulatedDevice({ serialNumber: options.serial }) : createSimulatedDevice({ serialNumber: options.serial });
  const board = await connectBoard(connectSimulatedBoard(simulated.board, { baudRate: options.baud }), { keysGroup: profile.kind === 'keys-group' ? profile.keysGroup : undefined });
  let outcome;
  try {
    outcome = await runProvisioning({ board, plan: plan.value, ca, boardSerial: options.serial, operator: 'provision-sim', knownValues, audit: auditLogSink(log.value), onEvent: progress });
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

  if (!outcome.ok) {
    const failure = outcome.error;
    files.push(write('result.json', JSON.stringify({ ok: false, failure }, null, 2) + '\n'));
    process.stdout.write(`${JSON.stringify({ ok: false, profile: profile.id, step: failure.step?.id ?? null, code: failure.error.code, message: failure.message, boardState: failure.boardState, out: options.out, files })}\n`);
    return EXIT.FAILED;
  }
  const result = outcome.value;
  const primary = result.keys.find((key) => key.label === result.primaryKey) ?? result.keys[0];
  if (result.certificate) files.push(write('device.pem', result.certificate.pem));
  if (primary) files.push(write('device-pubkey.pem', primary.publicKeyPem));
  const summary = { totalMs: result.timings.totalMs, browserCryptoMs: result.timings.cryptoMs, boardLinkMs: result.timings.boardMs, auditMs: result.timings.auditMs };
  files.push(write('result.json', JSON.stringify({ ok: true, summary, baud: options.baud, result }, null, 2) + '\n'));
  process.stdout.write(`${JSON.stringify(summaryLine(result, options, summary, files))}\n`);
  return EXIT.OK;
}

function summaryLine(result: ProvisioningResult, options: Options, timings: Record<string, number>, files: string[]) {
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
    baud: options.baud,
    ...timings,
    out: options.out,
    files,
  };
}

/** The operator's values from files, or fresh P-256 keys (PKCS#8) made for this run only. */
async function operatorValues(labels: readonly string[], files: Record<string, string>): Promise<Record<string, KnownValueInput>> {
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
    process.stderr.write(`provision:sim: no --known ${label}=FILE: using a fresh P-256 key for "${label}" (not kept)\n`);
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

async function main(argv: string[]): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseArgs(argv);
  } catch (caught) {
    if (!(caught instanceof UsageError)) throw caught;
    process.stderr.write(`${caught.message}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\nExit status: 0 provisioned; 1 the run failed (JSON on stdout); 2 bad usage.\n`);
    return EXIT.OK;
  }
  return run(options);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => {
      process.stderr.write(`provision:sim: still running ${EXIT_GRACE_MS} ms after finishing (an open handle); exiting\n`);
      process.exit(code);
    }, EXIT_GRACE_MS).unref();
  },
  (caught: unknown) => {
    process.stderr.write(`provision:sim: ${caught instanceof Error ? (caught.stack ?? caught.message) : String(caught)}\n`);
    process.exitCode = EXIT.FAILED;
  },
);
