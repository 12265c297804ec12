/**
 * `npm run -s cose:verify`: exit 0 with the payload as JSON for a valid COSE_Sign1, 1 with the
 * reason when the signature or algorithm is wrong, 2 when the input is not a COSE_Sign1 at all,
 * 3 for bad usage; keys as JWK, PUBLIC KEY PEM or CERTIFICATE PEM; messages as raw CBOR or hex.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePem, spkiFromP256Point } from '../../src/lib/pki';
import { hexToBytes } from '../../src/lib/util/bytes';
import { provisionSimulatedBoard, signTelemetry, type ProvisionedBoard } from '../../src/node/telemetry-publisher';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'src/node/cli/cose-verify.ts');
const WG = path.join(ROOT, 'tests/fixtures/cose/cose-wg');

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, timeout: 20000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let dir: string;
let provisioned: ProvisionedBoard;
const file = (name: string, content: string | Uint8Array) => {
  const at = path.join(dir, name);
  writeFileSync(at, content);
  return at;
};
const example = (name: string) => JSON.parse(readFileSync(path.join(WG, name), 'utf8')) as { input: { sign0: { key: Record<string, string>; external?: string } }; output: { cbor: string } };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-cose-cli-'));
  provisioned = await provisionSimulatedBoard({ serialNumber: 'SIM-CLI-1' });
  const { kty, crv, x, y } = example('RFC8152/Appendix_C_2_1.json').input.sign0.key;
  file('wg.jwk', JSON.stringify({ kty, crv, x, y }));
  const p521 = example('ecdsa-examples/ecdsa-sig-03.json').input.sign0.key;
  file('p521.jwk', JSON.stringify({ kty: p521.kty, crv: p521.crv, x: p521.x, y: p521.y }));
  file('board.pem', encodePem('PUBLIC KEY', spkiFromP256Point(provisioned.publicKey)));
  file('board-cert.pem', provisioned.chainPem.slice(0, provisioned.chainPem.indexOf('-----END CERTIFICATE-----') + 26));
  file('telemetry.cbor', await signTelemetry(provisioned, { counter: 42n, time: 1767225600, data: { t: 20 } }));
}, 30_000);

afterAll(async () => {
  await provisioned?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('cose:verify', () => {
  it('exit 0 and the payload for the RFC example (hex file), and for board telemetry (raw CBOR) with a PEM or certificate key', async () => {
    const rfc = await run('--key', path.join(dir, 'wg.jwk'), file('rfc.hex', example('RFC8152/Appendix_C_2_1.json').output.cbor + '\n'));
    expect(rfc).toMatchObject({ code: 0, stdout: '"This is the content."\n' });
    for (const key of ['board.pem', 'board-cert.pem']) {
      const board = await run('--key', path.join(dir, key), path.join(dir, 'telemetry.cbor'));
      expect(board.code, board.stderr).toBe(0);
      expect(JSON.parse(board.stdout)).toEqual({ data: { t: 20 }, time: 1767225600, device: provisioned.deviceId, counter: 42 });
    }
    const p521 = await run('--key', path.join(dir, 'p521.jwk'), file('p521.hex', example('ecdsa-examples/ecdsa-sig-03.json').output.cbor));
    expect(p521.code, p521.stderr).toBe(0);
    expect(p521.stderr).toContain('ES512');
  });

  it('honours --aad', async () => {
    const message = file('aad.hex', example('sign1-tests/sign-pass-02.json').output.cbor);
    expect((await run('--key', path.join(dir, 'wg.jwk'), '--aad', example('sign1-tests/sign-pass-02.json').input.sign0.external!, message)).code).toBe(0);
    const without = await run('--key', path.join(dir, 'wg.jwk'), message);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('cose-bad-signature');
  });

  it('exit 1 with the reason for a wrong signature or algorithm', async () => {
    const changed = await run('--key', path.join(dir, 'wg.jwk'), file('fail02.hex', example('sign1-tests/sign-fail-02.json').output.cbor));
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('cose-bad-signature');
    const mismatch = await run('--key', path.join(dir, 'wg.jwk'), file('sig04.hex', example('ecdsa-examples/ecdsa-sig-04.json').output.cbor));
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('cose-algorithm-mismatch');
    const flipped = new Uint8Array(readFileSync(path.join(dir, 'telemetry.cbor')));
    flipped[20]! ^= 1;
    expect((await run('--key', path.join(dir, 'board.pem'), file('flipped.cbor', flipped))).code).toBe(1);
    const wrongKey = await run('--key', path.join(dir, 'wg.jwk'), path.join(dir, 'telemetry.cbor'));
    expect(wrongKey.code).toBe(1);
  });

  it('exit 2 when the input is not a COSE_Sign1', async () => {
    const cases = {
      'tag998.hex': example('sign1-tests/sign-fail-01.json').output.cbor,
      'text.txt': 'hello, not CBOR',
      'map.cbor': hexToBytes('a10102'),
      'empty.bin': '',
    };
    for (const [name, content] of Object.entries(cases)) {
      const result = await run('--key', path.join(dir, 'wg.jwk'), file(name, content));
      expect(result.code, name).toBe(2);
      expect(result.stderr, name).toMatch(/cose-(not-cbor|not-sign1)/);
    }
  });

  it('exit 3 for bad usage and unreadable keys', async () => {
    expect((await run(path.join(dir, 'telemetry.cbor'))).code).toBe(3);
    expect((await run('--key', path.join(dir, 'missing.jwk'), path.join(dir, 'telemetry.cbor'))).code).toBe(3);
    expect((await run('--key', file('bad.jwk', '{"kty":"EC"}'), path.join(dir, 'telemetry.cbor'))).code).toBe(3);
    expect((await run('--help')).code).toBe(0);
  });
});
