/**
 * The device registry: a device is registered only from a chain that verifies offline to the
 * chosen root, with keyUsage digitalSignature, a P-256 key and a device id in the subject; every
 * refusal has its reason and stores nothing. Chains come from our CA (a provisioned simulated
 * board) and from openssl (a tool nobody here wrote). HMAC secrets are held only wrapped.
 */
import 'fake-indexeddb/auto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDeviceRegistry, type DeviceRegistry, readChain } from '../../src/lib/registry';
import { decodePemAs, encodePem } from '../../src/lib/pki';
import { utf8 } from '../../src/lib/util/bytes';
import { provisionSimulatedBoard, type ProvisionedBoard } from '../../src/node/telemetry-publisher';
import { OPENSSL, opensslAvailable } from './support/pki';

let provisioned: ProvisionedBoard;
let other: ProvisionedBoard;
let dbCount = 0;

async function freshRegistry(): Promise<DeviceRegistry> {
  const opened = await openDeviceRegistry(`registry-test-${++dbCount}`);
  if (!opened.ok) throw new Error(opened.error.message);
  return opened.value;
}

beforeAll(async () => {
  provisioned = await provisionSimulatedBoard({ serialNumber: 'SIM-REG-1' });
  // Another CA altogether: its chain must not register under the first one's root.
  other = await provisionSimulatedBoard({ serialNumber: 'SIM-REG-2' });
});

afterAll(async () => {
  await provisioned?.close();
  await other?.close();
});

describe('registration from our CA', () => {
  it('registers a provisioned board from its chain: device id from the CN, the board\'s key', async () => {
    const registry = await freshRegistry();
    const registered = await registry.register({ chain: provisioned.chainPem, root: provisioned.rootPem, source: 'file' });
    expect(registered.ok, registered.ok ? '' : registered.error.message).toBe(true);
    if (!registered.ok) return;
    expect(registered.value.change).toBe('new');
    expect(registered.value.device.deviceId).toBe(provisioned.deviceId);
    expect(registered.value.device.publicKey).toEqual(provisioned.publicKey);
    expect(registered.value.device.issuers).toHaveLength(1);
    const listed = await registry.list();
    expect(listed.ok && listed.value.map((device) => device.deviceId)).toEqual([provisioned.deviceId]);
    // The chain as the board stores it (DER back to back) works too, and is a renewal of the same key.
    const board = await provisioned.board.keys.readCertificate(1);
    if (!board.ok || !board.value) throw new Error('no chain on the board');
    const again = await registry.register({ chain: board.value, root: provisioned.rootPem, source: 'board' });
    expect(again.ok && again.value.change).toBe('renewed');
  });

  it('takes the device id from serialNumber when asked', async () => {
    const registry = await freshRegistry();
    const registered = await registry.register({ chain: provisioned.chainPem, root: provisioned.rootPem, deviceIdFrom: 'serialNumber' });
    expect(registered.ok && registered.value.device.deviceId).toBe('SIM-REG-1');
  });

  it('refuses, with the reason, and stores nothing', async () => {
    const registry = await freshRegistry();
    const cases: [string, Parameters<DeviceRegistry['register']>[0], string][] = [
      ['another CA\'s root', { chain: provisioned.chainPem, root: other.rootPem }, 'chain-unknown-root'],
      ['expired at the time of checking', { chain: provisioned.chainPem, root: provisioned.rootPem, at: new Date(Date.now() + 400 * 86_400_000) }, 'chain-expired'],
      ['not yet valid', { chain: provisioned.chainPem, root: provisioned.rootPem, at: new Date(Date.now() - 86_400_000) }, 'chain-not-yet-valid'],
      ['the leaf without its intermediate', { chain: decodePemAs(provisioned.chainPem, 'CERTIFICATE').ok ? [(decodePemAs(provisioned.chainPem, 'CERTIFICATE') as { value: Uint8Array[] }).value[0]!] : [], root: provisioned.rootPem }, 'chain-unknown-root'],
      ['an empty chain', { chain: [], root: provisioned.rootPem }, 'registry-empty-chain'],
      ['bytes that are not certificates', { chain: utf8.encode('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), root: provisioned.rootPem }, 'chain-malformed'],
      ['only the root', { chain: [provisioned.rootPem], root: provisioned.rootPem }, 'registry-empty-chain'],
    ];
    for (const [what, input, code] of cases) {
      const refused = await registry.register(input);
      expect(refused.ok ? 'registered' : refused.error.code, what).toBe(code);
      if (!refused.ok) expect(refused.error.message.length, what).toBeGreaterThan(10);
    }
    const listed = await registry.list();
    expect(listed.ok && listed.value).toEqual([]);
  });

  it('refuses another key under a registered id unless replace is asked for', async () => {
    const registry = await freshRegistry();
    expect((await registry.register({ chain: provisioned.chainPem, root: provisioned.rootPem, deviceIdFrom: 'serialNumber' })).ok).toBe(true);
    // Re-provision: same serial, new key, same CA.
    const again = await provisionSimulatedBoard({ serialNumber: 'SIM-REG-1', ca: provisioned.ca });
    try {
      const conflict = await registry.register({ chain: again.chainPem, root: again.rootPem, deviceIdFrom: 'serialNumber' });
      expect(conflict.ok ? 'registered' : conflict.error.code).toBe('registry-conflict');
      const replaced = await registry.register({ chain: again.chainPem, root: again.rootPem, deviceIdFrom: 'serialNumber' }, { replace: true });
      expect(replaced.ok && replaced.value.change).toBe('replaced');
      const stored = await registry.get('SIM-REG-1');
      expect(stored.ok && stored.value?.publicKey).toEqual(again.publicKey);
    } finally {
      await again.close();
    }
  });

  it('reads chains from PEM text, PEM bytes and DER back to back', () => {
    const pem = readChain(provisioned.chainPem);
    expect(pem.ok && pem.value.length).toBe(2);
    expect(readChain(utf8.encode(`explanatory text\n${provisioned.chainPem}`)).ok).toBe(true);
    expect(readChain(new Uint8Array()).ok).toBe(false);
  });
});

describe('HMAC secrets', () => {
  it('are held wrapped, come back as non-extractable HMAC keys, and the caller\'s bytes are zeroed', async () => {
    const registry = await freshRegistry();
    const secret = new Uint8Array(32).fill(7);
    const refused = await registry.setHmacSecret(provisioned.deviceId, secret.slice());
    expect(refused.ok ? 'stored' : refused.error.code).toBe('registry-unknown-device');
    await registry.register({ chain: provisioned.chainPem, root: provisioned.rootPem });
    expect((await registry.setHmacSecret(provisioned.deviceId, new Uint8Array(8))).ok).toBe(false);
    const given = secret.slice();
    expect((await registry.setHmacSecret(provisioned.deviceId, given)).ok).toBe(true);
    expect(given.every((byte) => byte === 0)).toBe(true);
    const key = await registry.hmacKey(provisioned.deviceId);
    if (!key.ok || !key.value) throw new Error('no key');
    expect(key.value.extractable).toBe(false);
    expect(key.value.algorithm).toMatchObject({ name: 'HMAC' });
    const reference = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const message = new Uint8Array(utf8.encode('check'));
    expect(new Uint8Array(await crypto.subtle.sign('HMAC', key.value, message))).toEqual(new Uint8Array(await crypto.subtle.sign('HMAC', reference, message)));
    const device = await registry.get(provisioned.deviceId);
    expect(device.ok && device.value?.hmac).toBe(true);
    // Nothing stored holds the secret in the clear.
    expect(JSON.stringify(device.ok ? device.value : null)).not.toContain('7,7,7,7');
    expect((await registry.hmacKey('nobody')).ok && (await registry.hmacKey('nobody'))).toMatchObject({ value: null });
  });
});

describe.skipIf(!opensslAvailable)(opensslAvailable ? 'chains built with openssl' : 'chains built with openssl — skipped, openssl is not installed', () => {
  let dir: string;
  const run = (...args: string[]) => {
    const result = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
  };
  const ext = (name: string, lines: string[]) => writeFileSync(path.join(dir, name), lines.join('\n') + '\n');
  const pem = (name: string) => readFileSync(path.join(dir, name), 'utf8');

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-registry-openssl-'));
    ext('ca.ext', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']);
    ext('device.ext', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid']);
    ext('enc-only.ext', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,keyEncipherment', 'authorityKeyIdentifier=keyid']);
    ext('no-usage.ext', ['basicConstraints=critical,CA:FALSE', 'authorityKeyIdentifier=keyid']);
    ext('leaf-as-ca.ext', ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyCertSign', 'authorityKeyIdentifier=keyid']);
    for (const name of ['root', 'int', 'dev', 'dev2', 'dev3', 'dev4', 'dev5']) run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
    run('ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'p384.key');
    run('req', '-new', '-x509', '-key', 'root.key', '-subj', '/CN=OpenSSL Test Root', '-days', '30', '-sha256', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'root.pem');
    run('req', '-new', '-key', 'int.key', '-subj', '/CN=OpenSSL Test Issuing', '-out', 'int.csr');
    run('x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '20', '-sha256', '-extfile', 'ca.ext', '-out', 'int.pem');
    const leaf = (key: string, subject: string, extfile: string, out: string) => {
      run('req', '-new', '-key', key, '-subj', subject, '-out', `${out}.csr`);
      run('x509', '-req', '-in', `${out}.csr`, '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-days', '10', '-sha256', '-extfile', extfile, '-out', `${out}.pem`);
    };
    leaf('dev.key', '/CN=openssl-dev-1/serialNumber=OSSL-1', 'device.ext', 'dev');
    leaf('dev2.key', '/CN=openssl-dev-2', 'enc-only.ext', 'dev2');
    leaf('dev3.key', '/CN=openssl-dev-3', 'no-usage.ext', 'dev3');
    leaf('dev4.key', '/CN=bad device#id', 'device.ext', 'dev4');
    leaf('dev5.key', '/O=No Common Name', 'device.ext', 'dev5');
    leaf('p384.key', '/CN=openssl-p384', 'device.ext', 'p384');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('registers an openssl device certificate that openssl itself verifies', async () => {
    run('verify', '-x509_strict', '-CAfile', 'root.pem', '-untrusted', 'int.pem', 'dev.pem');
    const registry = await freshRegistry();
    const registered = await registry.register({ chain: pem('dev.pem') + pem('int.pem'), root: pem('root.pem') });
    expect(registered.ok ? registered.value.device.deviceId : registered.error.message).toBe('openssl-dev-1');
    const bySerial = await registry.register({ chain: [pem('dev.pem'), pem('int.pem'), pem('root.pem')], root: pem('root.pem'), deviceIdFrom: 'serialNumber' });
    expect(bySerial.ok && bySerial.value.device.deviceId).toBe('OSSL-1');
  });

  it('refuses the openssl certificates it should, each with its reason', async () => {
    const registry = await freshRegistry();
    const cases: [string, string, string][] = [
      ['dev2.pem', 'keyUsage without digitalSignature', 'chain-key-usage'],
      ['dev3.pem', 'no keyUsage at all', 'registry-key-usage'],
      ['dev4.pem', 'a CN that cannot be a topic level', 'registry-bad-device-id'],
      ['dev5.pem', 'no CN', 'registry-no-device-id'],
      ['p384.pem', 'a P-384 key', 'registry-unsupported-key'],
    ];
    for (const [file, what, code] of cases) {
      const refused = await registry.register({ chain: pem(file) + pem('int.pem'), root: pem('root.pem') });
      expect(refused.ok ? 'registered' : refused.error.code, what).toBe(code);
    }
    // Our CA's root does not anchor openssl's chain, nor the reverse.
    const foreign = await registry.register({ chain: pem('dev.pem') + pem('int.pem'), root: provisioned.rootPem });
    expect(foreign.ok ? 'registered' : foreign.error.code).toBe('chain-unknown-root');
    // A tampered signature byte in the device certificate.
    const der = decodePemAs(pem('dev.pem'), 'CERTIFICATE');
    if (!der.ok) throw new Error(der.error.message);
    const tampered = der.value[0]!.slice();
    tampered[tampered.length - 5]! ^= 0x01;
    const bad = await registry.register({ chain: [encodePem('CERTIFICATE', tampered), pem('int.pem')], root: pem('root.pem') });
    expect(bad.ok ? 'registered' : bad.error.code).toMatch(/^chain-(bad-signature|malformed)$/);
    const listed = await registry.list();
    expect(listed.ok && listed.value).toEqual([]);
  });
});
