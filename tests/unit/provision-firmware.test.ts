/**
 * `npm run provision -- --port <pty> --out DIR` as a child process against the reference firmware
 * (docs/firmware.md) on a flash file, with a fresh seed: the files it writes are those of
 * provision:sim; `openssl verify` accepts root → intermediate → device; the certificate carries the
 * key the firmware reported (device-pubkey.pem); a fresh challenge signed by the firmware with that
 * key verifies. Then the firmware is restarted on the same flash file and reads back the same
 * public key and the same certificate chain.
 *
 * The firmware is built while this file is collected (cached; see keys-firmware.test.ts); when it
 * cannot be built everything here is skipped and the title says why.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, describe, expect, it } from 'vitest';
import { type Board, connectBoard } from '../../src/lib/device';
import { decodePemAs, decodePemOne, parseCertificate, parseSpki } from '../../src/lib/pki';
import { bytesToHex, concatBytes } from '../../src/lib/util/bytes';
import { openSerialDevice } from '../../src/node/pty-transport';
import { startZephyr, type ZephyrInstance } from '../../src/node/zephyr';
import { buildFirmware } from './support/firmware-build';
import { must } from './support/keys-suite';
import { OPENSSL, opensslAvailable } from './support/provisioning';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const firmware = await buildFirmware();
const exe = 'exe' in firmware ? firmware.exe : null;
const title = exe ? `npm run provision -- --port <pty>: the reference firmware (${path.relative(ROOT, exe)})` : `firmware not built: ${'reason' in firmware ? firmware.reason : ''}`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'provision-fw-'));
const flash = path.join(dir, 'flash.bin');
const out = path.join(dir, 'out');
let zephyr: ZephyrInstance | null = null;
afterAll(async () => {
  await zephyr?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The firmware on `flash` with a fresh seed (native_sim's RNG repeats itself otherwise). */
async function boot(): Promise<ZephyrInstance> {
  zephyr = await startZephyr({ exe: exe!, args: [`-flash=${flash}`, `-seed=${randomInt(1, 2 ** 31)}`] });
  return zephyr;
}

async function connect(instance: ZephyrInstance): Promise<Board> {
  return connectBoard(await openSerialDevice(instance.pty), { timeoutMs: 5000 });
}

function npmProvision(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'provision', '--', ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

function openssl(...args: string[]): string {
  const run = spawnSync(OPENSSL, args, { cwd: out, encoding: 'utf8' });
  return `${run.stdout}${run.stderr}`.trim();
}

const pemText = (name: string) => readFileSync(path.join(out, name), 'utf8');

describe.skipIf(!exe)(title, () => {
  /** What the first boot reported, for the restart. */
  let keyId = 0;
  let reportedPoint: Uint8Array = new Uint8Array();
  let chainDer: Uint8Array = new Uint8Array();

  it('provisions tfm-sample over the pty and writes the same files as provision:sim', async () => {
    const instance = await boot();
    const run = await npmProvision('--port', instance.pty, '--out', out, '--serial', 'FW-0001');
    expect(run.code, `${run.stderr}\n${instance.output()}`).toBe(0);
    const summary = JSON.parse(run.stdout.trim());
    expect(summary).toMatchObject({ ok: true, profile: 'tfm-sample', boardSerial: 'FW-0001', path: 'csr', port: instance.pty, clearTextSecrets: false });
    expect(summary.keys.map((key: { keyId: string }) => key.keyId)).toEqual(['0x00000001', '0x00000002', '0x00000003']);
    expect(readdirSync(out).sort()).toEqual(['audit.jsonl', 'device-pubkey.pem', 'device.pem', 'intermediate.pem', 'result.json', 'root.pem']);
    expect(run.stderr).toMatch(/✓ identity .*imprint-zephyr 1\.0\.0/);
    expect(run.stderr).toMatch(/✓ certify:certified .*built by the board/);

    const result = JSON.parse(pemText('result.json'));
    expect(result).toMatchObject({ ok: true, port: instance.pty, summary: { totalMs: summary.totalMs } });
    const primary = result.result.keys.find((key: { label: string }) => key.label === result.result.primaryKey);
    keyId = Number(primary.keyId);
    expect(keyId).toBe(3);

    const device = parseCertificate(pemText('device.pem'));
    const reported = parseSpki(pemText('device-pubkey.pem'));
    if (!device.ok || !reported.ok) throw new Error('device.pem or device-pubkey.pem does not parse');
    expect(bytesToHex(device.value.publicKey.spki)).toBe(bytesToHex(reported.value.spki));
    expect(device.value.serialNumber).toBe(summary.certificate.serial);
    reportedPoint = reported.value.point!;
    // What the run stored on the board: the device certificate, then the issuing CA.
    const deviceDer = decodePemOne(pemText('device.pem'), 'CERTIFICATE');
    const intermediateDer = decodePemAs(pemText('intermediate.pem'), 'CERTIFICATE');
    if (!deviceDer.ok || !intermediateDer.ok) throw new Error('device.pem or intermediate.pem is not PEM');
    chainDer = concatBytes(deviceDer.value, ...intermediateDer.value);
  }, 90_000);

  it.skipIf(!opensslAvailable)(opensslAvailable ? 'openssl verifies root → intermediate → device, and reads the reported key out of device.pem' : `openssl checks: skipped, openssl not found at ${OPENSSL}`, () => {
    expect(openssl('verify', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'device.pem')).toBe('device.pem: OK');
    expect(openssl('x509', '-in', 'device.pem', '-noout', '-pubkey')).toBe(pemText('device-pubkey.pem').trim());
  });

  it('a fresh challenge signed by the firmware verifies with the reported key', async () => {
    const board = await connect(zephyr!);
    try {
      const challenge = sha256(randomBytes(32));
      const signature = must(await board.keys.sign(keyId, challenge));
      expect(p256.verify(signature, challenge, reportedPoint, { lowS: false })).toBe(true);
      expect(p256.verify(signature, sha256(challenge), reportedPoint, { lowS: false })).toBe(false);
    } finally {
      await board.close();
    }
  }, 30_000);

  it('restarted on the same flash file, the firmware reads back the same key and certificate chain', async () => {
    await zephyr!.stop();
    const board = await connect(await boot());
    try {
      const key = must(await board.keys.publicKey(keyId));
      expect(bytesToHex(key.publicKey!)).toBe(bytesToHex(reportedPoint));
      const stored = must(await board.keys.readCertificate(keyId));
      expect(bytesToHex(stored!)).toBe(bytesToHex(chainDer));
      expect(must(await board.keys.info()).tamperEvents).toBe(0);
    } finally {
      await board.close();
    }
  }, 30_000);
});

describe('npm run provision -- --port sim: what provision:sim runs', () => {
  it('writes the same files as provision:sim', async () => {
    const simOut = path.join(dir, 'sim');
    const run = await npmProvision('--port', 'sim', '--out', simOut, '--baud', 'inf');
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ ok: true, profile: 'tfm-sample', boardSerial: 'SIM-0001', baud: null });
    expect(readdirSync(simOut).sort()).toEqual(['audit.jsonl', 'device-pubkey.pem', 'device.pem', 'intermediate.pem', 'result.json', 'root.pem']);
  }, 60_000);

  it('exits 2 without --port, naming it', async () => {
    const run = await npmProvision('--out', path.join(dir, 'none'));
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('provision: --port <path | sim> is required');
    expect(run.stderr).toContain('usage: npm run -s provision -- --port <path | sim> --out DIR');
  }, 60_000);

  it('exits 1 with the reason when the port is not a terminal', async () => {
    const run = await npmProvision('--port', path.join(dir, 'flash.bin.missing'), '--out', path.join(dir, 'none'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/could not open .*flash\.bin\.missing/);
  }, 60_000);
});
