/**
 * Helpers shared by the provisioning-*.test.ts files: a simulated board connected over an instant
 * (or real-time) serial wire, one CA per test file, operator values in the forms operators give
 * them (PKCS#8 PEM, raw scalar), a run wrapper that collects events and the audit records, and
 * `openssl verify` of an issued device certificate against the CA's root and intermediate.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { afterEach } from 'vitest';
import { type Board, connectBoard } from '../../../src/lib/device';
import { type CertificateAuthority, createCa, encodePem } from '../../../src/lib/pki';
import {
  type KnownValueInput,
  MemoryAuditSink,
  type Plan,
  type PlanOptions,
  planProvisioning,
  type Profile,
  type ProvisioningEvent,
  type ProvisioningFailure,
  type ProvisioningResult,
  runProvisioning,
  type RunInput,
} from '../../../src/lib/provisioning';
import { connectSimulatedBoard, createSimulatedDevice, createStandardSimulatedDevice, type SimulatedDevice, type SimulatedDeviceOptions, type StandardSimulatedDevice } from '../../../src/lib/sim';
import type { SmpExchange } from '../../../src/lib/smp/client';
import type { Result } from '../../../src/lib/smp/result';

export const OPENSSL = '/usr/bin/openssl';
export const opensslAvailable = existsSync(OPENSSL);

export interface Station<D extends StandardSimulatedDevice = SimulatedDevice> {
  device: D;
  board: Board;
  exchanges: SmpExchange[];
}

const boards: Board[] = [];
afterEach(async () => {
  await Promise.all(boards.splice(0).map((board) => board.close()));
});

export interface StationOptions extends SimulatedDeviceOptions {
  baudRate?: number;
  timeoutMs?: number;
}

/** A simulated board with the keys group (or only Zephyr's standard groups), connected. */
export async function openStation(options: StationOptions = {}): Promise<Station> {
  return connect(createSimulatedDevice({ bootMs: 30, ...options }), options);
}

export async function openStandardStation(options: StationOptions = {}): Promise<Station<StandardSimulatedDevice>> {
  return connect(createStandardSimulatedDevice({ bootMs: 30, ...options }), options);
}

async function connect<D extends StandardSimulatedDevice>(device: D, options: StationOptions): Promise<Station<D>> {
  const exchanges: SmpExchange[] = [];
  const board = await connectBoard(connectSimulatedBoard(device.board, { baudRate: options.baudRate ?? Infinity }), {
    timeoutMs: options.timeoutMs ?? 300,
    onExchange: (exchange) => exchanges.push(exchange),
  });
  boards.push(board);
  return { device, board, exchanges };
}

let ca: Promise<CertificateAuthority> | null = null;
/** One CA per test file (creating one takes a few ms, but every run needs one). */
export function sharedCa(): Promise<CertificateAuthority> {
  ca ??= createCa({ label: 'Provisioning Test', organization: 'Imprint' }).then((created) => {
    if (!created.ok) throw new Error(created.error.message);
    return created.value.ca;
  });
  return ca;
}

/** A P-256 private key as an operator hands it over: PKCS#8 PEM (from WebCrypto). */
export async function pkcs8Pem(): Promise<string> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  return encodePem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey)));
}

/** A raw 32-byte P-256 scalar. */
export function rawScalar(): Uint8Array {
  return p256.utils.randomSecretKey();
}

/** The tfm-sample operator values: one PKCS#8 PEM, one raw scalar. */
export async function tfmKnownValues(): Promise<Record<string, KnownValueInput>> {
  return { known: rawScalar(), certified: await pkcs8Pem() };
}

export interface Provisioned {
  run: Result<ProvisioningResult, ProvisioningFailure>;
  plan: Plan;
  events: ProvisioningEvent[];
  audit: MemoryAuditSink;
}

/** Plans `profile` and runs it on `station`, collecting events and audit records. */
export async function provision(station: Station<StandardSimulatedDevice>, profile: Profile, extra: Partial<RunInput> & PlanOptions = {}): Promise<Provisioned> {
  const { reprovision, ...input } = extra;
  const plan = planProvisioning(profile, { reprovision });
  if (!plan.ok) throw new Error(plan.error.message);
  const events: ProvisioningEvent[] = [];
  const audit = (input.audit as MemoryAuditSink | undefined) ?? new MemoryAuditSink();
  const run = await runProvisioning({
    board: station.board,
    plan: plan.value,
    ca: await sharedCa(),
    boardSerial: station.device.board.serialNumber,
    operator: 'tester',
    audit,
    ...input,
    onEvent: (event) => {
      events.push(event);
      input.onEvent?.(event);
    },
  });
  return { run, plan: plan.value, events, audit };
}

export function succeeded(provisioned: Provisioned): ProvisioningResult {
  if (!provisioned.run.ok) throw new Error(`expected the run to succeed: ${provisioned.run.error.message}`);
  return provisioned.run.value;
}

export function failedWith(provisioned: Provisioned): ProvisioningFailure {
  if (provisioned.run.ok) throw new Error('expected the run to fail, it succeeded');
  return provisioned.run.error;
}

/** `openssl verify -CAfile root.pem -untrusted intermediate.pem device.pem`. */
export function opensslVerify(ca: CertificateAuthority, devicePem: string): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-provisioning-'));
  try {
    writeFileSync(path.join(dir, 'root.pem'), encodePem('CERTIFICATE', ca.root.certificate));
    writeFileSync(path.join(dir, 'intermediate.pem'), encodePem('CERTIFICATE', ca.intermediate.certificate));
    writeFileSync(path.join(dir, 'device.pem'), devicePem);
    const run = spawnSync(OPENSSL, ['verify', '-x509_strict', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'device.pem'], { cwd: dir, encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every intent in the records has exactly one outcome, and every outcome closes an intent. */
export function pairedRecords(audit: MemoryAuditSink): boolean {
  const intents = audit.records.filter((record) => record.phase === 'intent').map((record) => record.seq);
  const closed = audit.records.filter((record) => record.phase === 'outcome').map((record) => record.intentSeq);
  return intents.length === closed.length && intents.every((seq) => closed.filter((closing) => closing === seq).length === 1);
}
