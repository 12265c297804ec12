/**
 * The keys group end to end: the typed client (src/lib/device/keys.ts) against the simulated
 * board (src/lib/sim/groups/keys.ts) over an instant serial wire. Every command, every error in
 * its v2 and v1 form, every fault (slots full, storage failing part-way, a reboot between
 * steps, bit rot); the HPKE import checked with an independent wrap (@hpke/core, info built
 * from the spec's bytes) and with RFC 9180's own vector; CSRs checked by openssl and
 * @peculiar/x509, signatures by @noble.
 */
import 'reflect-metadata';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aes128Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, COMMANDS, connectBoard, type KeysError, type KeysErrorReason, runCommand } from '../../src/lib/device';
import { KEY_USAGE, KEYS_MGMT_ERR, KEYS_MGMT_ERR_V1, type KeysMgmtErr, TAMPER_KIND } from '../../src/lib/device/keys-ids';
import { openImportWrap, wrapKeyForImport } from '../../src/lib/device/keys-wrap';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice, type SimulatedDeviceOptions } from '../../src/lib/sim';
import { sleep } from '../../src/lib/sim/board';
import type { CborValue } from '../../src/lib/smp/cbor';
import type { SmpExchange } from '../../src/lib/smp/client';
import { MGMT_ERR, SMP_VERSION, type SmpVersion } from '../../src/lib/smp/ids';
import type { Result } from '../../src/lib/smp/result';
import { bytesToBase64, concatBytes, hexToBytes, utf8 } from '../../src/lib/util/bytes';

interface KeysSession extends SimulatedDevice {
  client: Board;
  exchanges: SmpExchange[];
}

const sessions: KeysSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.client.close()));
});

interface OpenOptions extends SimulatedDeviceOptions {
  version?: SmpVersion;
  baudRate?: number;
  timeoutMs?: number;
  keysGroup?: number;
}

async function openKeys(options: OpenOptions = {}): Promise<KeysSession> {
  const device = createSimulatedDevice({ bootMs: 30, ...options });
  const exchanges: SmpExchange[] = [];
  const client = await connectBoard(connectSimulatedBoard(device.board, { baudRate: options.baudRate ?? Infinity }), {
    timeoutMs: options.timeoutMs ?? 1000,
    version: options.version,
    keysGroup: options.keysGroup ?? options.keys?.group,
    onExchange: (exchange) => exchanges.push(exchange),
  });
  const session = { ...device, client, exchanges };
  sessions.push(session);
  return session;
}

/** The value of a result that must have succeeded; a failure shows its message. */
function must<T>(result: Result<T, KeysError>): T {
  if (!result.ok) throw new Error(`expected success, got ${result.error.message}`);
  return result.value;
}

function refusal(result: Result<unknown, KeysError>): KeysError {
  if (result.ok) throw new Error('expected a refusal, the board said yes');
  return result.error;
}

async function waitForBoot(session: KeysSession, bootCount: number): Promise<void> {
  while (session.board.bootCount < bootCount) await sleep(5);
  await sleep(session.board.bootMs + 20);
}

const CHALLENGE = sha256(utf8.encode('a fresh challenge'));

function chain(bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, index) => (index * 7 + 3) & 0xff);
}

describe('keys group: info, generate, public, list, destroy', () => {
  it('info describes a fresh board', async () => {
    const { client, keys } = await openKeys();
    expect(must(await client.keys.info())).toEqual({
      version: 1,
      deviceId: keys.deviceId,
      firmware: 'imprint-sim 1.0.0',
      generateAlgs: ['p256', 'x25519', 'ed25519'],
      importAlgs: ['p256', 'x25519', 'hmac-sha256', 'aes-128'],
      slots: 8,
      used: 0,
      certMax: 4096,
      counter: 0,
      tamperEvents: 0,
      locked: false,
    });
    expect(keys.deviceId).toHaveLength(16);
  });

  it('generates P-256 (SEC1 65 bytes), X25519 and Ed25519 (raw 32) keys at the lowest free ids, with default usage', async () => {
    const { client } = await openKeys();
    const a = must(await client.keys.generate({ alg: 'p256' }));
    const b = must(await client.keys.generate({ alg: 'x25519' }));
    const c = must(await client.keys.generate({ alg: 'ed25519' }));
    expect([a.id, b.id, c.id]).toEqual([1, 2, 3]);
    expect(a.publicKey).toHaveLength(65);
    expect(a.publicKey[0]).toBe(0x04);
    expect(() => p256.Point.fromBytes(a.publicKey)).not.toThrow();
    expect(b.publicKey).toHaveLength(32);
    expect(c.publicKey).toHaveLength(32);
    expect(a.usage).toBe(KEY_USAGE.SIGN_HASH | KEY_USAGE.SIGN_MESSAGE | KEY_USAGE.VERIFY_HASH | KEY_USAGE.VERIFY_MESSAGE);
    expect(b.usage).toBe(KEY_USAGE.DERIVE);
    expect(c.usage).toBe(KEY_USAGE.SIGN_MESSAGE | KEY_USAGE.VERIFY_MESSAGE);
    expect(a.csr).toBeUndefined();
    expect(must(await client.keys.info()).used).toBe(3);
  });

  it('takes a given id anywhere in the PSA user range and refuses ids outside it', async () => {
    const { client } = await openKeys();
    expect(must(await client.keys.generate({ alg: 'p256', id: 0x3fffffff })).id).toBe(0x3fffffff);
    expect(must(await client.keys.generate({ alg: 'p256' })).id).toBe(1);
    for (const id of [0, 0x40000000, 0xffffffff]) expect(refusal(await client.keys.generate({ alg: 'p256', id })).reason).toBe('bad-request');
  });

  it('replaces an occupied id only with replace: true', async () => {
    const { client } = await openKeys();
    const first = must(await client.keys.generate({ alg: 'p256', id: 5 }));
    const refused = refusal(await client.keys.generate({ alg: 'p256', id: 5 }));
    expect(refused).toMatchObject({ code: 'group', group: 64, rc: KEYS_MGMT_ERR.SLOT_IN_USE, reason: 'slot-in-use' });
    expect(refused.message).toMatch(/keys\/generate: keys error 4 \(slot in use\)/);
    expect(must(await client.keys.publicKey(5)).publicKey).toEqual(first.publicKey);
    const second = must(await client.keys.generate({ alg: 'ed25519', id: 5, replace: true }));
    expect(second.publicKey).not.toEqual(first.publicKey);
    expect(must(await client.keys.publicKey(5))).toMatchObject({ alg: 'ed25519', publicKey: second.publicKey });
    expect(must(await client.keys.info()).used).toBe(1);
  });

  it('checks usage flags: export is never allowed, and a flag must fit the algorithm', async () => {
    const { client } = await openKeys();
    expect(refusal(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.SIGN_HASH | KEY_USAGE.EXPORT })).reason).toBe('not-permitted');
    expect(refusal(await client.keys.generate({ alg: 'ed25519', usage: KEY_USAGE.DERIVE })).reason).toBe('bad-request');
    expect(refusal(await client.keys.generate({ alg: 'x25519', usage: 0 })).reason).toBe('bad-request');
    expect(must(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.DERIVE })).usage).toBe(KEY_USAGE.DERIVE);
    expect(must(await client.keys.info()).used).toBe(1);
  });

  it('generates only p256, x25519 and ed25519', async () => {
    const { client } = await openKeys();
    for (const alg of ['hmac-sha256', 'aes-128', 'rsa2048']) {
      expect(refusal(await client.keys.generate({ alg: alg as 'p256' })).reason).toBe('unsupported-algorithm');
    }
  });

  it('public reads any key, and a missing one is a typed no-such-key; exists says so without an error', async () => {
    const { client } = await openKeys();
    const made = must(await client.keys.generate({ alg: 'x25519', id: 9 }));
    expect(must(await client.keys.publicKey(9))).toEqual({ id: 9, alg: 'x25519', usage: KEY_USAGE.DERIVE, certBytes: 0, publicKey: made.publicKey });
    expect(refusal(await client.keys.publicKey(8))).toMatchObject({ code: 'group', rc: KEYS_MGMT_ERR.NO_SUCH_KEY, reason: 'no-such-key' });
    expect(await client.keys.exists(9)).toEqual({ ok: true, value: true });
    expect(await client.keys.exists(8)).toEqual({ ok: true, value: false });
    expect(refusal(await client.keys.exists(0)).reason).toBe('bad-request');
  });

  it('list gives every key in id order, across pages on a 384-byte-buffer board (Zephyr\'s default)', async () => {
    const { client, board } = await openKeys({ bufSize: 384, keys: { slots: 24 } });
    expect(must(await client.keys.list())).toEqual([]);
    for (let i = 0; i < 24; i++) must(await client.keys.generate({ alg: 'x25519', id: 200 - i * 7 }));
    const before = board.stats.requests;
    const listed = must(await client.keys.list());
    expect(listed.map((key) => key.id)).toEqual(Array.from({ length: 24 }, (_, i) => 39 + i * 7));
    expect(listed.every((key) => key.alg === 'x25519' && key.usage === KEY_USAGE.DERIVE && key.certBytes === 0)).toBe(true);
    expect(board.stats.requests - before).toBeGreaterThan(2);
  });

  it('destroy deletes a key and its certificate; the id can be used again', async () => {
    const { client } = await openKeys();
    must(await client.keys.generate({ alg: 'p256', id: 2 }));
    must(await client.keys.storeCertificate(2, chain(300)));
    must(await client.keys.destroy(2));
    expect(refusal(await client.keys.publicKey(2)).reason).toBe('no-such-key');
    expect(refusal(await client.keys.destroy(2)).reason).toBe('no-such-key');
    must(await client.keys.generate({ alg: 'p256', id: 2 }));
    expect(await client.keys.readCertificate(2)).toEqual({ ok: true, value: null });
  });
});

describe('keys group: sign and transport-key', () => {
  it('P-256 signs raw r‖s over SHA-256 of the challenge; Ed25519 signs the message', async () => {
    const { client } = await openKeys();
    const a = must(await client.keys.generate({ alg: 'p256' }));
    const b = must(await client.keys.generate({ alg: 'ed25519' }));
    const sigA = must(await client.keys.sign(a.id, CHALLENGE));
    const sigB = must(await client.keys.sign(b.id, CHALLENGE));
    expect(sigA).toHaveLength(64);
    expect(p256.verify(sigA, CHALLENGE, a.publicKey, { lowS: false })).toBe(true);
    expect(p256.verify(sigA, sha256(CHALLENGE), a.publicKey, { prehash: false, lowS: false })).toBe(true);
    expect(ed25519.verify(sigB, CHALLENGE, b.publicKey)).toBe(true);
  });

  it('refuses what it must: no signing key, too long, the reserved prefix, a missing key', async () => {
    const { client } = await openKeys();
    const x = must(await client.keys.generate({ alg: 'x25519' }));
    const derive = must(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.DERIVE }));
    const signer = must(await client.keys.generate({ alg: 'p256' }));
    expect(refusal(await client.keys.sign(x.id, CHALLENGE)).reason).toBe('not-permitted');
    expect(refusal(await client.keys.sign(derive.id, CHALLENGE)).reason).toBe('not-permitted');
    expect(refusal(await client.keys.sign(signer.id, new Uint8Array(1025))).reason).toBe('too-large');
    expect(must(await client.keys.sign(signer.id, new Uint8Array(1024)))).toHaveLength(64);
    expect(refusal(await client.keys.sign(signer.id, utf8.encode('imprint keys transport-key v1\0forged'))).reason).toBe('not-permitted');
    expect(refusal(await client.keys.sign(77, CHALLENGE)).reason).toBe('no-such-key');
  });

  it('transport-key gives the X25519 key and suite, signed on request by a signing key', async () => {
    const { client, keys } = await openKeys();
    const plain = must(await client.keys.transportKey());
    expect(plain.publicKey).toEqual(x25519.getPublicKey(keys.store.transportSecret));
    expect(plain.suite).toEqual({ kem: 0x20, kdf: 1, aead: 1 });
    expect(plain.signature).toBeUndefined();
    const identity = must(await client.keys.generate({ alg: 'p256', id: 1 }));
    const signed = must(await client.keys.transportKey(1));
    expect(signed.signer).toBe(1);
    const statement = concatBytes(utf8.encode('imprint keys transport-key v1'), new Uint8Array([0]), signed.publicKey);
    expect(p256.verify(signed.signature!, statement, identity.publicKey, { lowS: false })).toBe(true);
    must(await client.keys.generate({ alg: 'x25519', id: 2 }));
    expect(refusal(await client.keys.transportKey(2)).reason).toBe('not-permitted');
    expect(refusal(await client.keys.transportKey(3)).reason).toBe('no-such-key');
  });
});

const hpke = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

/** The spec's `info`, byte by byte: label, 0x00, id and usage as u32 big-endian, algorithm name. */
function specInfo(id: number, usage: number, alg: string): Uint8Array {
  return concatBytes(utf8.encode('imprint keys import v1'), new Uint8Array([0]), hexToBytes(id.toString(16).padStart(8, '0')), hexToBytes(usage.toString(16).padStart(8, '0')), utf8.encode(alg));
}

async function sealIndependently(transportPublicKey: Uint8Array, info: Uint8Array, secret: Uint8Array): Promise<{ enc: Uint8Array; ct: Uint8Array }> {
  const sealed = await hpke.seal({ recipientPublicKey: await hpke.kem.deserializePublicKey(transportPublicKey), info }, secret);
  return { enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) };
}

describe('keys group: import (HPKE to the transport key)', () => {
  it("the board's HPKE open passes RFC 9180 A.1.1 (DHKEM(X25519), HKDF-SHA256, AES-128-GCM, base mode), first encryption", async () => {
    const skRm = hexToBytes('4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8');
    const enc = hexToBytes('37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431');
    const info = hexToBytes('4f6465206f6e2061204772656369616e2055726e');
    const ct = hexToBytes('f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a');
    const aad = utf8.encode('Count-0');
    expect(utf8.decode((await openImportWrap(skRm, enc, ct, info, aad))!)).toBe('Beauty is truth, truth beauty');
    expect(await openImportWrap(skRm, enc, ct, info)).toBeNull(); // another aad
    expect(await openImportWrap(skRm, enc, ct, info.subarray(1), aad)).toBeNull(); // another info
    expect(await openImportWrap(skRm, enc, ct.map((byte, index) => (index === 0 ? byte ^ 1 : byte)), info, aad)).toBeNull();
  });

  it('round trip: a P-256 key wrapped here with @hpke/core signs on the board, verified against its known public key', async () => {
    const { client } = await openKeys();
    const transport = must(await client.keys.transportKey());
    const secret = p256.utils.randomSecretKey();
    const wrap = await sealIndependently(transport.publicKey, specInfo(5, 0, 'p256'), secret);
    const imported = must(await client.keys.import({ alg: 'p256', id: 5, wrap }));
    const known = p256.getPublicKey(secret, false);
    expect(imported).toEqual({ id: 5, alg: 'p256', usage: 0x3c00, publicKey: known });
    const signature = must(await client.keys.sign(5, CHALLENGE));
    expect(p256.verify(signature, CHALLENGE, known, { lowS: false })).toBe(true);
  });

  it('imports an X25519 scalar, an HMAC-SHA256 key and an AES-128 key through wrapKeyForImport, at given and chosen ids', async () => {
    const { client } = await openKeys();
    const transportPublicKey = must(await client.keys.transportKey()).publicKey;
    const seal = async (alg: 'x25519' | 'hmac-sha256' | 'aes-128', secret: Uint8Array, id?: number) => {
      const wrap = await wrapKeyForImport({ transportPublicKey, alg, secret, id });
      if (!wrap.ok) throw new Error(wrap.error.message);
      return must(await client.keys.import({ alg, id, wrap: wrap.value }));
    };
    const scalar = x25519.utils.randomSecretKey();
    expect(await seal('x25519', scalar, 7)).toEqual({ id: 7, alg: 'x25519', usage: KEY_USAGE.DERIVE, publicKey: x25519.getPublicKey(scalar) });
    const macKey = new Uint8Array(32).fill(0x42);
    const mac = await seal('hmac-sha256', macKey);
    expect(mac).toMatchObject({ id: 1, publicKey: null });
    expect(must(await client.keys.sign(mac.id, CHALLENGE))).toEqual(hmac(sha256, macKey, CHALLENGE));
    const aes = await seal('aes-128', new Uint8Array(16).fill(7));
    expect(aes).toMatchObject({ id: 2, alg: 'aes-128', usage: KEY_USAGE.ENCRYPT | KEY_USAGE.DECRYPT, publicKey: null });
    expect(must(await client.keys.publicKey(2)).publicKey).toBeNull();
    expect(refusal(await client.keys.sign(2, CHALLENGE)).reason).toBe('not-permitted');
  });

  it('refuses a wrap that does not open under the binding it arrives with, records each in the tamper log, stores nothing', async () => {
    const { client } = await openKeys();
    const other = await openKeys();
    const transportPublicKey = must(await client.keys.transportKey()).publicKey;
    const secret = p256.utils.randomSecretKey();
    const boundTo5 = await sealIndependently(transportPublicKey, specInfo(5, 0, 'p256'), secret);
    const flipped = { enc: boundTo5.enc, ct: boundTo5.ct.map((byte, index) => (index === 3 ? byte ^ 1 : byte)) };
    const forOtherBoard = await sealIndependently(must(await other.client.keys.transportKey()).publicKey, specInfo(5, 0, 'p256'), secret);
    const attempts = [
      client.keys.import({ alg: 'p256', id: 6, wrap: boundTo5 }), // another id
      client.keys.import({ alg: 'p256', id: 5, usage: KEY_USAGE.SIGN_HASH, wrap: boundTo5 }), // another usage
      client.keys.import({ alg: 'x25519', id: 5, wrap: boundTo5 }), // another algorithm
      client.keys.import({ alg: 'p256', id: 5, wrap: flipped }),
      client.keys.import({ alg: 'p256', id: 5, wrap: forOtherBoard }),
      client.keys.import({ alg: 'p256', id: 5, wrap: { enc: new Uint8Array(32), ct: boundTo5.ct } }),
    ];
    for (const attempt of attempts) expect(refusal(await attempt)).toMatchObject({ rc: KEYS_MGMT_ERR.BAD_WRAP, reason: 'bad-wrap' });
    expect(must(await client.keys.info()).used).toBe(0);
    const log = must(await client.keys.tamperLog());
    expect(log.map((event) => event.kind)).toEqual(Array(6).fill(TAMPER_KIND.BAD_WRAP));
    expect(log.map((event) => event.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    must(await client.keys.import({ alg: 'p256', id: 5, wrap: boundTo5 }));
  });

  it('refuses key material of the wrong size even when the wrap opens, and algorithms that cannot be imported', async () => {
    const { client } = await openKeys();
    const transportPublicKey = must(await client.keys.transportKey()).publicKey;
    const short = await sealIndependently(transportPublicKey, specInfo(1, 0, 'hmac-sha256'), new Uint8Array(8));
    expect(refusal(await client.keys.import({ alg: 'hmac-sha256', id: 1, wrap: short })).reason).toBe('bad-request');
    const zero = await sealIndependently(transportPublicKey, specInfo(1, 0, 'p256'), new Uint8Array(32));
    expect(refusal(await client.keys.import({ alg: 'p256', id: 1, wrap: zero })).reason).toBe('bad-request');
    const ed = await sealIndependently(transportPublicKey, specInfo(1, 0, 'ed25519'), new Uint8Array(32));
    expect(refusal(await client.keys.import({ alg: 'ed25519' as 'p256', id: 1, wrap: ed })).reason).toBe('unsupported-algorithm');
    expect(await wrapKeyForImport({ transportPublicKey, alg: 'aes-128', secret: new Uint8Array(15) })).toMatchObject({ ok: false, error: { code: 'wrap-secret-size' } });
    expect(await wrapKeyForImport({ transportPublicKey: new Uint8Array(31), alg: 'aes-128', secret: new Uint8Array(16) })).toMatchObject({ ok: false, error: { code: 'wrap-public-key' } });
  });
});

const openssl = ['/usr/bin/openssl', 'openssl'].find((candidate) => spawnSync(candidate, ['version']).status === 0);

function opensslVerifyCsr(der: Uint8Array): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-csr-'));
  try {
    const file = path.join(dir, 'x.pem');
    const base64 = bytesToBase64(der).match(/.{1,64}/g)!.join('\n');
    writeFileSync(file, `-----BEGIN CERTIFICATE REQUEST-----\n${base64}\n-----END CERTIFICATE REQUEST-----\n`);
    const run = spawnSync(openssl!, ['req', '-in', file, '-verify', '-noout', '-subject', '-nameopt', 'oneline']);
    return { ok: run.status === 0, output: `${run.stdout.toString()}${run.stderr.toString()}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The public key inside a DER CSR (the BIT STRING at the end of its SubjectPublicKeyInfo), and whether its signature verifies. */
async function readCsr(der: Uint8Array): Promise<{ publicKey: Uint8Array; verified: boolean; subject: string }> {
  const csr = new Pkcs10CertificateRequest(new Uint8Array(der));
  const spki = new Uint8Array(csr.publicKey.rawData);
  const size = csr.publicKey.algorithm.name === 'ECDSA' ? 65 : 32;
  return { publicKey: spki.subarray(spki.length - size), verified: await csr.verify(), subject: csr.subject };
}

describe.skipIf(!openssl)(openssl ? 'keys group: CSRs built on the board (checked by openssl req -verify)' : 'keys group: CSRs — skipped, openssl is not installed', () => {
  it('csr for a P-256 and an Ed25519 key verifies with openssl and carries the subject in order', async () => {
    const { client } = await openKeys();
    for (const alg of ['p256', 'ed25519'] as const) {
      const key = must(await client.keys.generate({ alg }));
      const der = must(await client.keys.csr(key.id, 'CN=imprint-sim-0001, serialNumber=SIM-0001, O=Acme\\, Inc, C=DE'));
      const checked = opensslVerifyCsr(der);
      expect(checked.output).toMatch(/verify OK/);
      expect(checked.ok).toBe(true);
      expect(checked.output).toContain('CN = imprint-sim-0001, serialNumber = SIM-0001, O = "Acme, Inc", C = DE');
      const parsed = await readCsr(der);
      expect(parsed.publicKey).toEqual(key.publicKey);
      expect(parsed.verified).toBe(true);
    }
  });

  it('generate returns the CSR in the same response, for the key it just made', async () => {
    const { client } = await openKeys();
    const key = must(await client.keys.generate({ alg: 'p256', id: 3, csrSubject: 'CN=dev-3' }));
    expect(key.csr).toBeInstanceOf(Uint8Array);
    expect(opensslVerifyCsr(key.csr!).ok).toBe(true);
    const parsed = await readCsr(key.csr!);
    expect(parsed).toMatchObject({ publicKey: key.publicKey, verified: true, subject: 'CN=dev-3' });
  });

  it('refuses a CSR for a key that cannot sign, or a subject it cannot encode, before making a key', async () => {
    const { client } = await openKeys();
    expect(refusal(await client.keys.generate({ alg: 'x25519', csrSubject: 'CN=x' })).reason).toBe('not-permitted');
    for (const subject of ['', 'CN', 'XX=1', 'CN=', 'C=DEU', 'serialNumber=ä', `CN=${'a'.repeat(65)}`]) {
      expect(refusal(await client.keys.generate({ alg: 'p256', csrSubject: subject })).reason, subject).toBe('bad-request');
    }
    expect(must(await client.keys.info()).used).toBe(0);
    const x = must(await client.keys.generate({ alg: 'x25519' }));
    expect(refusal(await client.keys.csr(x.id, 'CN=x')).reason).toBe('not-permitted');
    expect(refusal(await client.keys.csr(99, 'CN=x')).reason).toBe('no-such-key');
  });
});

describe('keys group: certificate store and read (chunked)', () => {
  it('stores a 3 KiB chain and reads it back in chunks over a bufSize 1100 board', async () => {
    const { client, exchanges } = await openKeys({ bufSize: 1100 });
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    const der = chain(3 * 1024);
    const progress: number[] = [];
    must(await client.keys.storeCertificate(1, der, { onProgress: ({ sent }) => progress.push(sent) }));
    const stores = exchanges.filter((exchange) => exchange.direction === 'tx' && exchange.header.command === 9 && exchange.header.op === 2);
    expect(stores.length).toBe(3);
    expect(Math.max(...stores.map((exchange) => exchange.size))).toBeLessThanOrEqual(1096);
    expect(progress.at(-1)).toBe(der.length);
    expect(must(await client.keys.publicKey(1)).certBytes).toBe(der.length);
    expect(must(await client.keys.list())[0]!.certBytes).toBe(der.length);
    const reads = exchanges.length;
    expect(must(await client.keys.readCertificate(1))).toEqual(der);
    const readReplies = exchanges.slice(reads).filter((exchange) => exchange.direction === 'rx');
    expect(readReplies.length).toBe(3);
    expect(Math.max(...readReplies.map((exchange) => exchange.size))).toBeLessThanOrEqual(1096);
  });

  it('replaces a chain, reads none for a key without one, refuses a chain too large or for a missing key', async () => {
    const { client } = await openKeys();
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    expect(await client.keys.readCertificate(1)).toEqual({ ok: true, value: null });
    must(await client.keys.storeCertificate(1, chain(500)));
    must(await client.keys.storeCertificate(1, chain(200)));
    expect(must(await client.keys.readCertificate(1))).toEqual(chain(200));
    expect(refusal(await client.keys.storeCertificate(1, chain(4097))).reason).toBe('too-large');
    expect(refusal(await client.keys.storeCertificate(2, chain(10))).reason).toBe('no-such-key');
    expect(refusal(await client.keys.readCertificate(2)).reason).toBe('no-such-key');
  });

  it('answers a chunk out of place with the offset it expects', async () => {
    const { client } = await openKeys();
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    const store = (payload: Record<string, CborValue>) => runCommand(client.client, COMMANDS.keysCertStore, payload);
    expect(must(await store({ id: 1, off: 10, data: new Uint8Array(4) }))).toEqual({ off: 0 });
    expect(must(await store({ id: 1, off: 0, len: 8, data: new Uint8Array(4) }))).toEqual({ off: 4 });
    expect(must(await store({ id: 1, off: 6, data: new Uint8Array(2) }))).toEqual({ off: 4 });
    expect(refusal(await store({ id: 1, off: 4, data: new Uint8Array(5) })).rc).toBe(KEYS_MGMT_ERR.BAD_REQUEST);
    expect(must(await store({ id: 1, off: 4, data: new Uint8Array(4) }))).toEqual({ off: 8 });
    expect(refusal(await store({ id: 1, off: 0, len: 0, data: new Uint8Array(0) })).rc).toBe(KEYS_MGMT_ERR.BAD_REQUEST);
  });
});

describe('keys group: session counter and tamper log', () => {
  it('moves only up: the same value again is fine, lower is refused and recorded', async () => {
    const { client, board } = await openKeys();
    expect(must(await client.keys.readCounter())).toBe(0);
    expect(must(await client.keys.setCounter(100))).toBe(100);
    expect(must(await client.keys.setCounter(100))).toBe(100);
    const refused = refusal(await client.keys.setCounter(99));
    expect(refused).toMatchObject({ code: 'group', rc: KEYS_MGMT_ERR.COUNTER_ROLLBACK, reason: 'counter-rollback' });
    expect(must(await client.keys.readCounter())).toBe(100);
    expect(must(await client.keys.tamperLog())).toEqual([{ seq: 0, kind: 'counter-rollback', boot: 1, value: 99 }]);
    expect(must(await client.keys.info())).toMatchObject({ counter: 100, tamperEvents: 1 });
    board.reboot();
    await waitForBoot(sessions.at(-1)!, 2);
    expect(must(await client.keys.readCounter())).toBe(100);
    expect(refusal(await client.keys.setCounter(-1)).reason).toBe('bad-request');
    expect(must(await client.keys.setCounter(2 ** 40))).toBe(2 ** 40);
  });

  it('tamper-log returns events from a sequence number, across pages on a small board, oldest dropped past capacity', async () => {
    const { client, board } = await openKeys({ bufSize: 384, keys: { tamperCapacity: 10 } });
    must(await client.keys.setCounter(50));
    for (let value = 1; value <= 12; value++) refusal(await client.keys.setCounter(value));
    const before = board.stats.requests;
    const all = must(await client.keys.tamperLog());
    expect(board.stats.requests - before).toBeGreaterThan(1);
    expect(all.map((event) => event.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(all.map((event) => event.value)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(must(await client.keys.tamperLog(9)).map((event) => event.seq)).toEqual([9, 10, 11]);
    expect(must(await client.keys.tamperLog(12))).toEqual([]);
    expect(must(await client.keys.info()).tamperEvents).toBe(12);
  });
});

describe('keys group: lock', () => {
  it('after lock: import, destroy, counter writes and replacing a key are refused and logged; info reports it; it survives a reboot', async () => {
    const session = await openKeys();
    const { client } = session;
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    must(await client.keys.setCounter(10));
    const transportPublicKey = must(await client.keys.transportKey()).publicKey;
    const wrap = await wrapKeyForImport({ transportPublicKey, alg: 'aes-128', secret: new Uint8Array(16), id: 2 });
    expect(await client.keys.lock()).toEqual({ ok: true, value: undefined });
    expect(await client.keys.lock()).toEqual({ ok: true, value: undefined });
    expect(must(await client.keys.info()).locked).toBe(true);
    const refusals = [
      await client.keys.import({ alg: 'aes-128', id: 2, wrap: wrap.ok ? wrap.value : { enc: new Uint8Array(32), ct: new Uint8Array(32) } }),
      await client.keys.destroy(1),
      await client.keys.setCounter(11),
      await client.keys.generate({ alg: 'p256', id: 1, replace: true }),
    ];
    for (const result of refusals) expect(refusal(result)).toMatchObject({ code: 'group', rc: KEYS_MGMT_ERR.LOCKED, reason: 'locked' });
    const log = must(await client.keys.tamperLog());
    expect(log.map((event) => [event.kind, event.id])).toEqual([
      ['locked', 2],
      ['locked', 1],
      ['locked', undefined],
      ['locked', 1],
    ]);
    // What provisioning still needs after the lock: new keys, certificates, signatures, reads.
    must(await client.keys.generate({ alg: 'p256', id: 3 }));
    must(await client.keys.storeCertificate(1, chain(100)));
    must(await client.keys.sign(1, CHALLENGE));
    expect(must(await client.keys.readCounter())).toBe(10);
    session.board.reboot();
    await waitForBoot(session, 2);
    expect(must(await client.keys.info()).locked).toBe(true);
    expect(refusal(await client.keys.destroy(3)).reason).toBe('locked');
  });
});

/** One way to make the board answer each keys-group error, with what a v1 client reads from the v1 `rc`. */
const ERROR_CASES: { code: KeysMgmtErr; name: string; v1Reason: KeysErrorReason; run: (session: KeysSession) => Promise<Result<unknown, KeysError>> }[] = [
  { code: KEYS_MGMT_ERR.BAD_REQUEST, name: 'bad request', v1Reason: 'bad-request', run: (s) => s.client.keys.publicKey(0x40000000) },
  { code: KEYS_MGMT_ERR.NO_SUCH_KEY, name: 'no such key', v1Reason: 'no-such-key', run: (s) => s.client.keys.publicKey(12) },
  {
    code: KEYS_MGMT_ERR.SLOT_IN_USE,
    name: 'slot in use',
    v1Reason: 'slot-in-use',
    run: async (s) => (await s.client.keys.generate({ alg: 'p256', id: 1 }), s.client.keys.generate({ alg: 'p256', id: 1 })),
  },
  { code: KEYS_MGMT_ERR.SLOTS_FULL, name: 'slots full', v1Reason: 'slots-full', run: (s) => (s.keys.inject({ slotsFull: true }), s.client.keys.generate({ alg: 'x25519' })) },
  { code: KEYS_MGMT_ERR.UNSUPPORTED_ALGORITHM, name: 'unsupported algorithm', v1Reason: 'not-supported', run: (s) => s.client.keys.generate({ alg: 'secp256k1' as 'p256' }) },
  {
    code: KEYS_MGMT_ERR.BAD_WRAP,
    name: 'bad wrap',
    v1Reason: 'bad-wrap',
    run: (s) => s.client.keys.import({ alg: 'aes-128', id: 1, wrap: { enc: x25519.getPublicKey(x25519.utils.randomSecretKey()), ct: new Uint8Array(32) } }),
  },
  { code: KEYS_MGMT_ERR.COUNTER_ROLLBACK, name: 'counter rollback', v1Reason: 'counter-rollback', run: async (s) => (await s.client.keys.setCounter(10), s.client.keys.setCounter(9)) },
  {
    code: KEYS_MGMT_ERR.NOT_PERMITTED,
    name: 'not permitted',
    v1Reason: 'not-permitted',
    run: async (s) => (await s.client.keys.generate({ alg: 'x25519', id: 1 }), s.client.keys.sign(1, CHALLENGE)),
  },
  { code: KEYS_MGMT_ERR.LOCKED, name: 'locked', v1Reason: 'not-permitted', run: async (s) => (await s.client.keys.lock(), s.client.keys.setCounter(5)) },
  { code: KEYS_MGMT_ERR.STORAGE_FAILURE, name: 'storage failure', v1Reason: 'unknown', run: (s) => (s.keys.inject({ failStorageAfterBytes: 10 }), s.client.keys.generate({ alg: 'p256' })) },
  { code: KEYS_MGMT_ERR.TOO_LARGE, name: 'too large', v1Reason: 'too-large', run: async (s) => (await s.client.keys.generate({ alg: 'p256', id: 1 }), s.client.keys.sign(1, new Uint8Array(2000))) },
];

describe('keys group: every error, v2 and v1', () => {
  it.each(ERROR_CASES)('$name: v2 {err: {group: 64, rc: $code}}', async ({ code, name, run }) => {
    const error = refusal(await run(await openKeys()));
    expect(error).toMatchObject({ code: 'group', group: 64, rc: code });
    expect(error.reason).toBe(name.replace(/ /g, '-'));
    expect(error.message).toContain(`(${name})`);
  });

  it.each(ERROR_CASES)('$name: v1 {rc} as the spec translates it', async ({ code, v1Reason, run }) => {
    const error = refusal(await run(await openKeys({ version: SMP_VERSION.V1 })));
    expect(error).toMatchObject({ code: 'mgmt', rc: KEYS_MGMT_ERR_V1[code], reason: v1Reason });
  });

  it('a board without the keys group answers v1 rc 8, read as not-supported', async () => {
    const { client } = await openKeys({ keys: { group: 100 }, keysGroup: 64 });
    expect(refusal(await client.keys.info())).toMatchObject({ code: 'mgmt', rc: MGMT_ERR.ENOTSUP, reason: 'not-supported' });
  });
});

describe('keys group: faults', () => {
  it('slots run out at the configured count; a replace needs no new slot', async () => {
    const { client, keys } = await openKeys({ keys: { slots: 2 } });
    must(await client.keys.generate({ alg: 'p256' }));
    must(await client.keys.generate({ alg: 'p256' }));
    expect(refusal(await client.keys.generate({ alg: 'p256' })).reason).toBe('slots-full');
    must(await client.keys.generate({ alg: 'p256', id: 1, replace: true }));
    must(await client.keys.destroy(2));
    keys.inject({ slotsFull: true });
    expect(refusal(await client.keys.generate({ alg: 'p256' })).reason).toBe('slots-full');
    keys.clearFaults();
    must(await client.keys.generate({ alg: 'p256' }));
  });

  it('a key write that fails part-way stores nothing, is logged, and the retry succeeds', async () => {
    const { client, keys } = await openKeys();
    keys.inject({ failStorageAfterBytes: 60 });
    expect(refusal(await client.keys.generate({ alg: 'p256', id: 4, csrSubject: 'CN=x' })).reason).toBe('storage-failure');
    expect(await client.keys.exists(4)).toEqual({ ok: true, value: false });
    expect(must(await client.keys.tamperLog())).toEqual([{ seq: 0, kind: TAMPER_KIND.STORAGE_WRITE, boot: 1, id: 4 }]);
    must(await client.keys.generate({ alg: 'p256', id: 4 }));
  });

  it('a chain write that fails part-way keeps the chain stored before', async () => {
    const { client, keys } = await openKeys({ bufSize: 1100 });
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    must(await client.keys.storeCertificate(1, chain(100)));
    keys.inject({ failStorageAfterBytes: 1500 });
    expect(refusal(await client.keys.storeCertificate(1, chain(3072))).reason).toBe('storage-failure');
    expect(must(await client.keys.readCertificate(1))).toEqual(chain(100));
    must(await client.keys.storeCertificate(1, chain(3072)));
    expect(must(await client.keys.readCertificate(1))).toEqual(chain(3072));
  });

  it('counter and lock writes fail cleanly too', async () => {
    const { client, keys } = await openKeys();
    keys.inject({ failStorageAfterBytes: 0 });
    expect(refusal(await client.keys.setCounter(5)).reason).toBe('storage-failure');
    expect(must(await client.keys.readCounter())).toBe(0);
    keys.inject({ failStorageAfterBytes: 0 });
    expect(refusal(await client.keys.lock()).reason).toBe('storage-failure');
    expect(must(await client.keys.info()).locked).toBe(false);
  });

  it('a key that fails its integrity check answers storage-failure, is logged once, and can be destroyed', async () => {
    const { client, keys } = await openKeys();
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    keys.store.corrupt(1);
    expect(refusal(await client.keys.sign(1, CHALLENGE)).reason).toBe('storage-failure');
    expect(refusal(await client.keys.publicKey(1)).reason).toBe('storage-failure');
    expect(must(await client.keys.tamperLog())).toEqual([{ seq: 0, kind: TAMPER_KIND.STORAGE_INTEGRITY, boot: 1, id: 1 }]);
    must(await client.keys.destroy(1));
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    must(await client.keys.sign(1, CHALLENGE));
  });

  it('a reboot right after generate: the key persists like flash', async () => {
    const session = await openKeys();
    session.keys.inject({ rebootBetweenSteps: 1 });
    const key = must(await session.client.keys.generate({ alg: 'p256', id: 1 }));
    await waitForBoot(session, 2);
    expect(must(await session.client.keys.publicKey(1)).publicKey).toEqual(key.publicKey);
  });

  it('a reboot between chunks loses the partial chain: the board asks for offset 0', async () => {
    const session = await openKeys();
    must(await session.client.keys.generate({ alg: 'p256', id: 1 }));
    const store = (payload: Record<string, CborValue>) => runCommand(session.client.client, COMMANDS.keysCertStore, payload);
    session.keys.inject({ rebootBetweenSteps: 1 });
    expect(must(await store({ id: 1, off: 0, len: 8, data: new Uint8Array(4) }))).toEqual({ off: 4 });
    await waitForBoot(session, 2);
    expect(must(await store({ id: 1, off: 4, data: new Uint8Array(4) }))).toEqual({ off: 0 });
    expect(await session.client.keys.readCertificate(1)).toEqual({ ok: true, value: null });
  });

  it('storeCertificate starts over when a reboot between chunks lost the chain', async () => {
    // A real-time wire (921600 baud): each chunk takes ~14 ms, the board is back in 0 ms.
    const session = await openKeys({ bufSize: 1100, bootMs: 0, baudRate: 921600 });
    must(await session.client.keys.generate({ alg: 'p256', id: 1 }));
    session.keys.inject({ rebootBetweenSteps: 1 });
    const der = chain(3072);
    must(await session.client.keys.storeCertificate(1, der));
    expect(session.board.bootCount).toBe(2);
    const offsets = session.exchanges.filter((exchange) => exchange.direction === 'tx' && exchange.header.command === 9).map((exchange) => exchange.payload?.off);
    expect(offsets[0]).toBe(0);
    expect(offsets[2]).toBe(0); // the second chunk was answered with offset 0: the store began again
    expect(offsets.length).toBe(5);
    expect(must(await session.client.keys.readCertificate(1))).toEqual(der);
  });
});

describe('keys group: group id and secrecy', () => {
  it('works at another group id, with names in messages', async () => {
    const { client } = await openKeys({ keys: { group: 100 } });
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    const error = refusal(await client.keys.publicKey(2));
    expect(error).toMatchObject({ code: 'group', group: 100, reason: 'no-such-key', command: 'keys/public' });
  });

  it('no private key or secret ever crosses the wire', async () => {
    const { client, keys, exchanges } = await openKeys();
    must(await client.keys.generate({ alg: 'p256', id: 1, csrSubject: 'CN=a' }));
    must(await client.keys.generate({ alg: 'x25519', id: 2 }));
    must(await client.keys.generate({ alg: 'ed25519', id: 3 }));
    must(await client.keys.transportKey(1));
    for (const id of [1, 2, 3]) {
      must(await client.keys.publicKey(id));
      if (id !== 2) must(await client.keys.sign(id, CHALLENGE));
    }
    must(await client.keys.csr(3, 'CN=b'));
    must(await client.keys.list());
    const secrets = [keys.store.transportSecret, ...[1, 2, 3].map((id) => keys.store.peek(id)!.secret)];
    const received = exchanges.filter((exchange) => exchange.direction === 'rx').flatMap((exchange) => byteStrings(exchange.payload));
    expect(received.length).toBeGreaterThan(5);
    for (const bytes of received) for (const secret of secrets) expect(contains(bytes, secret)).toBe(false);
  });
});

function byteStrings(value: CborValue | null | undefined): Uint8Array[] {
  if (value instanceof Uint8Array) return [value];
  if (Array.isArray(value)) return value.flatMap(byteStrings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(byteStrings);
  return [];
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('keys group: the command line', () => {
  it('npm run -s smp -- --port sim keys info prints the board identity as JSON', async () => {
    const run = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/node/cli/smp.ts'), '--port', 'sim', 'keys', 'info'], { cwd: ROOT, timeout: 20000 }, (error, stdout) =>
        resolve({ code: error ? Number(error.code ?? -1) : 0, stdout }),
      );
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ v: 1, fw: 'imprint-sim 1.0.0', slots: 8, used: 0, locked: false, gen: ['p256', 'x25519', 'ed25519'] });
  });
});
