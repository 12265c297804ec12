/**
 * `npm run provision:sim -- --out DIR` as a child process, the way the README runs it: the same
 * provisioning code in Node against the simulated board on its 115200-baud link, a fresh CA, and
 * the files it writes — root, intermediate, the board's certificate (accepted by `openssl verify`)
 * and the public key the board reported (the one in the certificate), the result with its timings
 * and the audit export (which verifies). Also the other profiles, an operator key from a file,
 * and bad usage.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../../src/lib/audit';
import { parseCertificate, parseSpki, readPrivateScalar } from '../../src/lib/pki';
import { p256 } from '@noble/curves/nist.js';
import { bytesToHex } from '../../src/lib/util/bytes';
import { OPENSSL, opensslAvailable, pkcs8Pem } from './support/provisioning';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'src/node/cli/provision-sim.ts');
const dirs: string[] = [];
/** Output folders with a device.pem, for openssl at the end. */
const written: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'provision-sim-'));
  dirs.push(dir);
  return dir;
}

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function provisionSim(...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, timeout: 30000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

function opensslVerify(dir: string): string {
  const run = spawnSync(OPENSSL, ['verify', '-CAfile', 'root.pem', '-untrusted', 'intermediate.pem', 'device.pem'], { cwd: dir, encoding: 'utf8' });
  return `${run.stdout}${run.stderr}`.trim();
}

describe('provision:sim', () => {
  it('tfm-sample at 115200 baud: writes the four PEMs, the result and the audit export', async () => {
    const out = tempDir();
    const run = await provisionSim('--out', out);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!);
    expect(summary).toMatchObject({ ok: true, profile: 'tfm-sample', boardSerial: 'SIM-0001', path: 'csr', baud: 115200, clearTextSecrets: false });
    expect(summary.keys.map((key: { keyId: string }) => key.keyId)).toEqual(['0x00000001', '0x00000002', '0x00000003']);
    expect(summary.totalMs).toBeGreaterThan(summary.browserCryptoMs);
    expect(readdirSync(out).sort()).toEqual(['audit.jsonl', 'device-pubkey.pem', 'device.pem', 'intermediate.pem', 'result.json', 'root.pem']);
    expect(run.stderr).toMatch(/✓ verify:certified/);

    const device = parseCertificate(readFileSync(path.join(out, 'device.pem'), 'utf8'));
    const reported = parseSpki(readFileSync(path.join(out, 'device-pubkey.pem'), 'utf8'));
    expect(device.ok && reported.ok).toBe(true);
    if (!device.ok || !reported.ok) return;
    expect(bytesToHex(reported.value.spki)).toBe(bytesToHex(device.value.publicKey.spki));
    expect(device.value.serialNumber).toBe(summary.certificate.serial);

    const result = JSON.parse(readFileSync(path.join(out, 'result.json'), 'utf8'));
    expect(result.summary).toEqual({ totalMs: summary.totalMs, browserCryptoMs: summary.browserCryptoMs, boardLinkMs: summary.boardLinkMs, auditMs: summary.auditMs });
    expect(result.result.timings.steps.length).toBeGreaterThan(5);
    const report = await verifyExport(readFileSync(path.join(out, 'audit.jsonl'), 'utf8'));
    expect(report.problems).toEqual([]);
    expect(report.stations[0]).toMatchObject({ records: 12 });

    written.push(out);
  });

  it('takes an operator key from --known LABEL=FILE', async () => {
    const out = tempDir();
    const keyFile = path.join(out, 'certified.key');
    const pem = await pkcs8Pem();
    writeFileSync(keyFile, pem);
    const run = await provisionSim('--out', out, '--baud', 'inf', '--known', `certified=${keyFile}`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('fresh P-256 key for "known"');
    expect(run.stderr).not.toContain('fresh P-256 key for "certified"');
    const scalar = readPrivateScalar(pem, 'P-256');
    const reported = parseSpki(readFileSync(path.join(out, 'device-pubkey.pem'), 'utf8'));
    expect(scalar.ok && reported.ok && bytesToHex(reported.value.point!)).toBe(scalar.ok && bytesToHex(p256.getPublicKey(scalar.value, false)));
    expect(readFileSync(path.join(out, 'result.json'), 'utf8')).not.toContain(bytesToHex(scalar.ok ? scalar.value : new Uint8Array()));
  });

  it('supervisor: no certificate, the X25519 public key, the counter', async () => {
    const out = tempDir();
    const run = await provisionSim('--out', out, '--profile', 'supervisor', '--baud', 'inf');
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, profile: 'supervisor', certificate: null, counter: 1 });
    expect(readdirSync(out)).not.toContain('device.pem');
    expect(readFileSync(path.join(out, 'device-pubkey.pem'), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEA/);
  });

  it('settings-only: flags the clear text', async () => {
    const out = tempDir();
    const run = await provisionSim('--out', out, '--profile', 'settings-only', '--baud', 'inf');
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, profile: 'settings-only', clearTextSecrets: true, path: 'browser-key' });
    expect(readFileSync(path.join(out, 'audit.jsonl'), 'utf8')).toContain('"plaintextOnWire":"true"');
    written.push(out);
  });

  it.skipIf(!opensslAvailable)(
    opensslAvailable ? 'openssl verify -CAfile root.pem -untrusted intermediate.pem accepts both device.pem files above' : `openssl verify of device.pem: skipped, openssl not found at ${OPENSSL}`,
    () => {
      expect(written).toHaveLength(2);
      for (const out of written) expect(opensslVerify(out), out).toBe('device.pem: OK');
    },
  );

  it.each([
    ['no --out', [], /--out DIR is required/],
    ['an unknown profile', ['--out', '/tmp/x', '--profile', 'nope'], /unknown profile nope/],
    ['a bad baud rate', ['--out', '/tmp/x', '--baud', 'fast'], /--baud must be a positive number/],
    ['an unknown argument', ['--out', '/tmp/x', '--port', 'sim'], /unknown argument --port/],
  ])('exits 2 on %s', async (_name, args, message) => {
    const run = await provisionSim(...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('usage: npm run -s provision:sim -- --out DIR');
  });
});
