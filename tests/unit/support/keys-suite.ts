/**
 * The keys-group suite: one list of cases that every board implementing docs/protocol/keys-group.md
 * must pass, run against the simulated board (keys-group.test.ts) and the reference firmware on
 * real Zephyr (keys-firmware.test.ts). A board is reached only through a `KeysTarget`: a fresh
 * board per case, restarted on the same storage when a case asks, its stored key corrupted when
 * a case asks. The cases read what a board may choose (algorithms, slots, cert_max) from `info`,
 * as a host does; they never ask which board it is. Cases that need the simulator's fault
 * injection live with the simulator, in keys-group.test.ts.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Aes128Gcm, CipherSuite, HkdfSha256 } from '@hpke/core';
import { DhkemX25519HkdfSha256 } from '@hpke/dhkem-x25519';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Pkcs10CertificateRequest } from '@peculiar/x509';
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, COMMANDS, type KeysError, type KeysErrorReason, runCommand } from '../../../src/lib/device';
import { GENERATE_ALGS, KEY_USAGE, KEYS_MGMT_ERR, KEYS_MGMT_ERR_V1, type KeysMgmtErr, TAMPER_KIND } from '../../../src/lib/device/keys-ids';
import { wrapKeyForImport } from '../../../src/lib/device/keys-wrap';
import { decodeCoseSign1, sigStructure } from '../../../src/lib/cose/sign1';
import type { CborValue } from '../../../src/lib/smp/cbor';
import type { SmpExchange } from '../../../src/lib/smp/client';
import { MGMT_ERR, SMP_VERSION, type SmpVersion } from '../../../src/lib/smp/ids';
import type { Result } from '../../../src/lib/smp/result';
import { bytesToBase64, concatBytes, hexToBytes, utf8 } from '../../../src/lib/util/bytes';

export interface KeysConnectOptions {
  version?: SmpVersion;
  /** The group id the host uses (the board's stays what it is). */
  keysGroup?: number;
  /** Storage that outlives a restart (the firmware then runs on a flash file instead of RAM). */
  persistent?: boolean;
}

/** One board, connected, with a blank store. */
export interface KeysSession {
  /** The connected client; a restart replaces it. */
  client: Board;
  /** Every packet of every client of this session, in order. */
  exchanges: SmpExchange[];
  /** Power-cycles the board on the same storage and reconnects (needs `persistent`). */
  restart(): Promise<void>;
  /** Flips a byte of the stored record of key `id` (its public key is how the record is found), then restarts. */
  corruptKey(id: number, publicKey: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface KeysTarget {
  /** Names the board in the suite's titles. */
  name: string;
  connect(options?: KeysConnectOptions): Promise<KeysSession>;
}

/** The value of a result that must have succeeded; a failure shows its message. */
export function must<T>(result: Result<T, KeysError>): T {
  if (!result.ok) throw new Error(`expected success, got ${result.error.message}`);
  return result.value;
}

export function refusal(result: Result<unknown, KeysError>): KeysError {
  if (result.ok) throw new Error('expected a refusal, the board said yes');
  return result.error;
}

export const CHALLENGE = sha256(utf8.encode('a fresh challenge'));

/** Illustrative chain bytes (the board does not parse certificates). */
export function chain(bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, index) => (index * 7 + 3) & 0xff);
}

const hpke = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes128Gcm() });

/** The spec's `info`, byte by byte: label, 0x00, id and usage as u32 big-endian, algorithm name. */
export function specInfo(id: number, usage: number, alg: string): Uint8Array {
  return concatBytes(utf8.encode('imprint keys import v1'), new Uint8Array([0]), hexToBytes(id.toString(16).padStart(8, '0')), hexToBytes(usage.toString(16).padStart(8, '0')), utf8.encode(alg));
}

/** An import wrap made with @hpke/core directly, not through the client's wrapKeyForImport. */
export async function sealIndependently(transportPublicKey: Uint8Array, info: Uint8Array, secret: Uint8Array): Promise<{ enc: Uint8Array; ct: Uint8Array }> {
  const sealed = await hpke.seal({ recipientPublicKey: await hpke.kem.deserializePublicKey(transportPublicKey), info }, secret);
  return { enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) };
}

export const openssl = ['/usr/bin/openssl', 'openssl'].find((candidate) => spawnSync(candidate, ['version']).status === 0);

export function opensslVerifyCsr(der: Uint8Array): { ok: boolean; output: string } {
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
export async function readCsr(der: Uint8Array): Promise<{ publicKey: Uint8Array; verified: boolean; subject: string }> {
  const csr = new Pkcs10CertificateRequest(new Uint8Array(der));
  const spki = new Uint8Array(csr.publicKey.rawData);
  const size = csr.publicKey.algorithm.name === 'ECDSA' ? 65 : 32;
  return { publicKey: spki.subarray(spki.length - size), verified: await csr.verify(), subject: csr.subject };
}

export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Default usage per algorithm (spec section 2). */
const DEFAULT_USAGE: Record<string, number> = {
  p256: KEY_USAGE.SIGN_HASH | KEY_USAGE.SIGN_MESSAGE | KEY_USAGE.VERIFY_HASH | KEY_USAGE.VERIFY_MESSAGE,
  x25519: KEY_USAGE.DERIVE,
  ed25519: KEY_USAGE.SIGN_MESSAGE | KEY_USAGE.VERIFY_MESSAGE,
};
const PUBLIC_SIZE: Record<string, number> = { p256: 65, x25519: 32, ed25519: 32 };

/** Registers the suite's cases, each on a fresh board of `target`. */
export function keysSuite(target: KeysTarget): void {
  const sessions: KeysSession[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((session) => session.close()));
  });
  const open = async (options?: KeysConnectOptions): Promise<KeysSession> => {
    const session = await target.connect(options);
    sessions.push(session);
    return session;
  };
  const name = target.name;

  describe(`keys group on the ${name}: info, generate, public, list, destroy`, () => {
    it('info describes a fresh board', async () => {
      const { client } = await open();
      const info = must(await client.keys.info());
      expect(info).toMatchObject({ version: 1, used: 0, counter: 0, tamperEvents: 0, locked: false });
      expect(info.deviceId).toBeInstanceOf(Uint8Array);
      expect(info.deviceId.length).toBeGreaterThanOrEqual(1);
      expect(info.deviceId.length).toBeLessThanOrEqual(32);
      expect(info.firmware).toMatch(/\S/);
      expect(info.generateAlgs).toContain('p256');
      for (const alg of info.generateAlgs) expect(['p256', 'x25519', 'ed25519']).toContain(alg);
      for (const alg of info.importAlgs) expect(['p256', 'x25519', 'hmac-sha256', 'aes-128']).toContain(alg);
      expect(info.slots).toBeGreaterThanOrEqual(2);
      expect(info.certMax).toBeGreaterThanOrEqual(3072);
    });

    it('generates every algorithm info names at the lowest free ids, with default usage and the public key size of each; refuses the rest', async () => {
      const { client } = await open();
      const algs = must(await client.keys.info()).generateAlgs as ('p256' | 'x25519' | 'ed25519')[];
      for (const [index, alg] of algs.entries()) {
        const key = must(await client.keys.generate({ alg }));
        expect(key).toMatchObject({ id: index + 1, alg, usage: DEFAULT_USAGE[alg] });
        expect(key.publicKey).toHaveLength(PUBLIC_SIZE[alg]!);
        expect(key.csr).toBeUndefined();
        if (alg === 'p256') {
          expect(key.publicKey[0]).toBe(0x04);
          expect(() => p256.Point.fromBytes(key.publicKey)).not.toThrow();
        }
      }
      for (const alg of GENERATE_ALGS.filter((alg) => !algs.includes(alg as 'p256'))) {
        expect(refusal(await client.keys.generate({ alg: alg as 'p256' })).reason).toBe('unsupported-algorithm');
      }
      expect(must(await client.keys.info()).used).toBe(algs.length);
    });

    it('takes a given id anywhere in the PSA user range and refuses ids outside it', async () => {
      const { client } = await open();
      expect(must(await client.keys.generate({ alg: 'p256', id: 0x3fffffff })).id).toBe(0x3fffffff);
      expect(must(await client.keys.generate({ alg: 'p256' })).id).toBe(1);
      for (const id of [0, 0x40000000, 0xffffffff]) expect(refusal(await client.keys.generate({ alg: 'p256', id })).reason).toBe('bad-request');
    });

    it('replaces an occupied id only with replace: true', async () => {
      const { client } = await open();
      const first = must(await client.keys.generate({ alg: 'p256', id: 5 }));
      const refused = refusal(await client.keys.generate({ alg: 'p256', id: 5 }));
      expect(refused).toMatchObject({ code: 'group', group: 64, rc: KEYS_MGMT_ERR.SLOT_IN_USE, reason: 'slot-in-use' });
      expect(refused.message).toMatch(/keys\/generate: keys error 4 \(slot in use\)/);
      expect(must(await client.keys.publicKey(5)).publicKey).toEqual(first.publicKey);
      const second = must(await client.keys.generate({ alg: 'p256', id: 5, usage: KEY_USAGE.SIGN_HASH, replace: true }));
      expect(second.publicKey).not.toEqual(first.publicKey);
      expect(must(await client.keys.publicKey(5))).toMatchObject({ alg: 'p256', usage: KEY_USAGE.SIGN_HASH, publicKey: second.publicKey });
      expect(must(await client.keys.info()).used).toBe(1);
    });

    it('checks usage flags: export is never allowed, and a flag must fit the algorithm', async () => {
      const { client } = await open();
      expect(refusal(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.SIGN_HASH | KEY_USAGE.EXPORT })).reason).toBe('not-permitted');
      expect(refusal(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.ENCRYPT })).reason).toBe('bad-request');
      expect(refusal(await client.keys.generate({ alg: 'p256', usage: 0 })).reason).toBe('bad-request');
      expect(refusal(await client.keys.generate({ alg: 'p256', usage: 2 ** 32 + KEY_USAGE.SIGN_HASH })).reason).toBe('bad-request');
      expect(must(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.DERIVE })).usage).toBe(KEY_USAGE.DERIVE);
      expect(must(await client.keys.info()).used).toBe(1);
    });

    it('generates only p256, x25519 and ed25519', async () => {
      const { client } = await open();
      for (const alg of ['hmac-sha256', 'aes-128', 'rsa2048']) {
        expect(refusal(await client.keys.generate({ alg: alg as 'p256' })).reason).toBe('unsupported-algorithm');
      }
    });

    it('public reads any key, and a missing one is a typed no-such-key; exists says so without an error', async () => {
      const { client } = await open();
      const made = must(await client.keys.generate({ alg: 'p256', id: 9 }));
      expect(must(await client.keys.publicKey(9))).toEqual({ id: 9, alg: 'p256', usage: DEFAULT_USAGE.p256, certBytes: 0, publicKey: made.publicKey });
      expect(refusal(await client.keys.publicKey(8))).toMatchObject({ code: 'group', rc: KEYS_MGMT_ERR.NO_SUCH_KEY, reason: 'no-such-key' });
      expect(await client.keys.exists(9)).toEqual({ ok: true, value: true });
      expect(await client.keys.exists(8)).toEqual({ ok: true, value: false });
      expect(refusal(await client.keys.exists(0)).reason).toBe('bad-request');
    });

    it('list gives every key in id order, in as many pages as the board buffer needs', async () => {
      const { client, exchanges } = await open();
      expect(must(await client.keys.list())).toEqual([]);
      const { slots } = must(await client.keys.info());
      // Large ids and a chain on each: entries of 36 bytes, so a full board needs more than one page.
      const ids = Array.from({ length: slots }, (_, i) => 0x10000000 + (slots - i) * 7919);
      for (const id of ids) {
        must(await client.keys.generate({ alg: 'p256', id }));
        must(await client.keys.storeCertificate(id, chain(300)));
      }
      const before = exchanges.length;
      const listed = must(await client.keys.list());
      expect(listed.map((key) => key.id)).toEqual([...ids].sort((a, b) => a - b));
      expect(listed.every((key) => key.alg === 'p256' && key.usage === DEFAULT_USAGE.p256 && key.certBytes === 300)).toBe(true);
      const pages = exchanges.slice(before).filter((exchange) => exchange.direction === 'rx');
      const packet = client.client.maxPacketSize ?? Infinity;
      expect(Math.max(...pages.map((exchange) => exchange.size))).toBeLessThanOrEqual(packet);
      expect(pages.length).toBeGreaterThanOrEqual(Math.ceil((slots * 36) / packet));
    });

    it('destroy deletes a key and its certificate; the id can be used again', async () => {
      const { client } = await open();
      must(await client.keys.generate({ alg: 'p256', id: 2 }));
      must(await client.keys.storeCertificate(2, chain(300)));
      must(await client.keys.destroy(2));
      expect(refusal(await client.keys.publicKey(2)).reason).toBe('no-such-key');
      expect(refusal(await client.keys.destroy(2)).reason).toBe('no-such-key');
      must(await client.keys.generate({ alg: 'p256', id: 2 }));
      expect(await client.keys.readCertificate(2)).toEqual({ ok: true, value: null });
    });
  });

  describe(`keys group on the ${name}: sign and transport-key`, () => {
    it('P-256 signs raw r‖s over SHA-256 of the challenge', async () => {
      const { client } = await open();
      const key = must(await client.keys.generate({ alg: 'p256' }));
      const signature = must(await client.keys.sign(key.id, CHALLENGE));
      expect(signature).toHaveLength(64);
      expect(p256.verify(signature, CHALLENGE, key.publicKey, { lowS: false })).toBe(true);
      expect(p256.verify(signature, sha256(CHALLENGE), key.publicKey, { prehash: false, lowS: false })).toBe(true);
    });

    it('Ed25519 signs the message where info offers it, and is unsupported-algorithm where not', async () => {
      const { client } = await open();
      const offered = must(await client.keys.info()).generateAlgs.includes('ed25519');
      const made = await client.keys.generate({ alg: 'ed25519' });
      if (!offered) {
        expect(refusal(made).reason).toBe('unsupported-algorithm');
        return;
      }
      const key = must(made);
      expect(ed25519.verify(must(await client.keys.sign(key.id, CHALLENGE)), CHALLENGE, key.publicKey)).toBe(true);
    });

    it('refuses what it must: no signing key, too long, the reserved prefix, a missing key', async () => {
      const { client } = await open();
      const derive = must(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.DERIVE }));
      const signer = must(await client.keys.generate({ alg: 'p256' }));
      if (must(await client.keys.info()).generateAlgs.includes('x25519')) {
        const x = must(await client.keys.generate({ alg: 'x25519' }));
        expect(refusal(await client.keys.sign(x.id, CHALLENGE)).reason).toBe('not-permitted');
      }
      expect(refusal(await client.keys.sign(derive.id, CHALLENGE)).reason).toBe('not-permitted');
      expect(refusal(await client.keys.sign(signer.id, new Uint8Array(1025))).reason).toBe('too-large');
      expect(must(await client.keys.sign(signer.id, new Uint8Array(1024)))).toHaveLength(64);
      expect(refusal(await client.keys.sign(signer.id, utf8.encode('imprint keys transport-key v1\0forged'))).reason).toBe('not-permitted');
      expect(refusal(await client.keys.sign(77, CHALLENGE)).reason).toBe('no-such-key');
    });

    it('fmt "cose" wraps the message in a tagged COSE_Sign1 (ES256) that verifies; an HMAC key or another fmt is refused', async () => {
      const { client } = await open();
      const key = must(await client.keys.generate({ alg: 'p256', id: 1 }));
      const message = utf8.encode('telemetry: 21.5 C');
      const bytes = must(await client.keys.signCose(1, message));
      expect(Array.from(bytes.subarray(0, 2))).toEqual([0xd2, 0x84]);
      const cose = decodeCoseSign1(bytes);
      if (!cose.ok) throw new Error(cose.error.message);
      expect(cose.value).toMatchObject({ tagged: true, payload: message, protectedBytes: hexToBytes('a10126') });
      expect(cose.value.unprotectedHeader.size).toBe(0);
      expect(p256.verify(cose.value.signature, sigStructure(cose.value.protectedBytes, new Uint8Array(0), message), key.publicKey, { lowS: false })).toBe(true);
      const transport = must(await client.keys.transportKey()).publicKey;
      must(await client.keys.import({ alg: 'hmac-sha256', id: 2, wrap: await sealIndependently(transport, specInfo(2, 0, 'hmac-sha256'), new Uint8Array(32).fill(1)) }));
      expect(refusal(await client.keys.signCose(2, message)).reason).toBe('not-permitted');
      expect(refusal(await runCommand(client.client, COMMANDS.keysSign, { id: 1, msg: message, fmt: 'jws' })).rc).toBe(KEYS_MGMT_ERR.BAD_REQUEST);
      expect(must(await runCommand(client.client, COMMANDS.keysSign, { id: 1, msg: message, fmt: 'raw' })).sig).toHaveLength(64);
    });

    it('transport-key gives the X25519 key and suite, the same every time, signed on request by a signing key', async () => {
      const { client } = await open();
      const plain = must(await client.keys.transportKey());
      expect(plain.publicKey).toHaveLength(32);
      expect(plain.suite).toEqual({ kem: 0x20, kdf: 1, aead: 1 });
      expect(plain.signature).toBeUndefined();
      expect(must(await client.keys.transportKey()).publicKey).toEqual(plain.publicKey);
      const identity = must(await client.keys.generate({ alg: 'p256', id: 1 }));
      const signed = must(await client.keys.transportKey(1));
      expect(signed.signer).toBe(1);
      expect(signed.publicKey).toEqual(plain.publicKey);
      const statement = concatBytes(utf8.encode('imprint keys transport-key v1'), new Uint8Array([0]), signed.publicKey);
      expect(p256.verify(signed.signature!, statement, identity.publicKey, { lowS: false })).toBe(true);
      must(await client.keys.generate({ alg: 'p256', id: 2, usage: KEY_USAGE.DERIVE }));
      expect(refusal(await client.keys.transportKey(2)).reason).toBe('not-permitted');
      expect(refusal(await client.keys.transportKey(3)).reason).toBe('no-such-key');
    });
  });

  describe(`keys group on the ${name}: import (HPKE to the transport key)`, () => {
    it('round trip: a P-256 key wrapped here with @hpke/core signs on the board, verified against its known public key', async () => {
      const { client } = await open();
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
      const { client } = await open();
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
      const { client } = await open();
      const other = await open();
      const transportPublicKey = must(await client.keys.transportKey()).publicKey;
      const secret = p256.utils.randomSecretKey();
      const boundTo5 = await sealIndependently(transportPublicKey, specInfo(5, 0, 'p256'), secret);
      const flipped = { enc: boundTo5.enc, ct: boundTo5.ct.map((byte, index) => (index === 3 ? byte ^ 1 : byte)) };
      const forOtherBoard = await sealIndependently(must(await other.client.keys.transportKey()).publicKey, specInfo(5, 0, 'p256'), secret);
      const attempts = [
        () => client.keys.import({ alg: 'p256', id: 6, wrap: boundTo5 }), // another id
        () => client.keys.import({ alg: 'p256', id: 5, usage: KEY_USAGE.SIGN_HASH, wrap: boundTo5 }), // another usage
        () => client.keys.import({ alg: 'x25519', id: 5, wrap: boundTo5 }), // another algorithm
        () => client.keys.import({ alg: 'p256', id: 5, wrap: flipped }),
        () => client.keys.import({ alg: 'p256', id: 5, wrap: forOtherBoard }),
        () => client.keys.import({ alg: 'p256', id: 5, wrap: { enc: new Uint8Array(32), ct: boundTo5.ct } }),
      ];
      for (const attempt of attempts) expect(refusal(await attempt())).toMatchObject({ rc: KEYS_MGMT_ERR.BAD_WRAP, reason: 'bad-wrap' });
      expect(must(await client.keys.info()).used).toBe(0);
      const log = must(await client.keys.tamperLog());
      expect(log.map((event) => event.kind)).toEqual(Array(6).fill(TAMPER_KIND.BAD_WRAP));
      expect(log.map((event) => event.seq)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(log.map((event) => event.id)).toEqual([6, 5, 5, 5, 5, 5]);
      must(await client.keys.import({ alg: 'p256', id: 5, wrap: boundTo5 }));
    });

    it('refuses key material of the wrong size even when the wrap opens, and algorithms that cannot be imported', async () => {
      const { client } = await open();
      const transportPublicKey = must(await client.keys.transportKey()).publicKey;
      const short = await sealIndependently(transportPublicKey, specInfo(1, 0, 'hmac-sha256'), new Uint8Array(8));
      expect(refusal(await client.keys.import({ alg: 'hmac-sha256', id: 1, wrap: short })).reason).toBe('bad-request');
      const long = await sealIndependently(transportPublicKey, specInfo(1, 0, 'hmac-sha256'), new Uint8Array(65));
      expect(refusal(await client.keys.import({ alg: 'hmac-sha256', id: 1, wrap: long })).reason).toBe('bad-request');
      const zero = await sealIndependently(transportPublicKey, specInfo(1, 0, 'p256'), new Uint8Array(32));
      expect(refusal(await client.keys.import({ alg: 'p256', id: 1, wrap: zero })).reason).toBe('bad-request');
      const order = await sealIndependently(transportPublicKey, specInfo(1, 0, 'p256'), hexToBytes('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'));
      expect(refusal(await client.keys.import({ alg: 'p256', id: 1, wrap: order })).reason).toBe('bad-request');
      const ed = await sealIndependently(transportPublicKey, specInfo(1, 0, 'ed25519'), new Uint8Array(32));
      expect(refusal(await client.keys.import({ alg: 'ed25519' as 'p256', id: 1, wrap: ed })).reason).toBe('unsupported-algorithm');
      expect(must(await client.keys.info()).used).toBe(0);
    });
  });

  const csrTitle = openssl ? `keys group on the ${name}: CSRs built on the board (checked by openssl req -verify)` : `keys group on the ${name}: CSRs — skipped, openssl is not installed`;
  describe.skipIf(!openssl)(csrTitle, () => {
    it('csr for every signing algorithm info offers verifies with openssl and carries the subject in order', async () => {
      const { client } = await open();
      const algs = must(await client.keys.info()).generateAlgs.filter((alg) => alg === 'p256' || alg === 'ed25519') as ('p256' | 'ed25519')[];
      for (const alg of algs) {
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

    it('a P-256 CSR is exactly what the spec says: version 0, no attributes, ecdsa-with-SHA256 without parameters', async () => {
      const { client } = await open();
      must(await client.keys.generate({ alg: 'p256', id: 1 }));
      const der = must(await client.keys.csr(1, 'CN=a,OU=x,OU=y'));
      const hex = Array.from(der, (byte) => byte.toString(16).padStart(2, '0')).join('');
      expect(hex).toContain('020100'); // version 0
      expect(hex).toContain('a000300a06082a8648ce3d040302'); // empty attributes, then the AlgorithmIdentifier without NULL
      expect(opensslVerifyCsr(der).output).toContain('CN = a, OU = x, OU = y');
    });

    it('generate returns the CSR in the same response, for the key it just made', async () => {
      const { client } = await open();
      const key = must(await client.keys.generate({ alg: 'p256', id: 3, csrSubject: 'CN=dev-3' }));
      expect(key.csr).toBeInstanceOf(Uint8Array);
      expect(opensslVerifyCsr(key.csr!).ok).toBe(true);
      const parsed = await readCsr(key.csr!);
      expect(parsed).toMatchObject({ publicKey: key.publicKey, verified: true, subject: 'CN=dev-3' });
    });

    it('refuses a CSR for a key that cannot sign, or a subject it cannot encode, before making a key', async () => {
      const { client } = await open();
      expect(refusal(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.DERIVE, csrSubject: 'CN=x' })).reason).toBe('not-permitted');
      for (const subject of ['', 'CN', 'XX=1', 'CN=', 'C=DEU', 'serialNumber=ä', `CN=${'a'.repeat(65)}`, 'CN=a,']) {
        expect(refusal(await client.keys.generate({ alg: 'p256', csrSubject: subject })).reason, subject).toBe('bad-request');
      }
      expect(must(await client.keys.info()).used).toBe(0);
      const derive = must(await client.keys.generate({ alg: 'p256', usage: KEY_USAGE.DERIVE }));
      expect(refusal(await client.keys.csr(derive.id, 'CN=x')).reason).toBe('not-permitted');
      expect(refusal(await client.keys.csr(99, 'CN=x')).reason).toBe('no-such-key');
    });
  });

  describe(`keys group on the ${name}: certificate store and read (chunked)`, () => {
    it('stores a 3 KiB chain and reads it back in chunks that fit the board buffer', async () => {
      const { client, exchanges } = await open();
      must(await client.keys.generate({ alg: 'p256', id: 1 }));
      const der = chain(3 * 1024);
      const progress: number[] = [];
      must(await client.keys.storeCertificate(1, der, { onProgress: ({ sent }) => progress.push(sent) }));
      const packet = client.client.maxPacketSize ?? Infinity;
      const stores = exchanges.filter((exchange) => exchange.direction === 'tx' && exchange.header.command === 9 && exchange.header.op === 2);
      expect(stores.length).toBe(Math.ceil(der.length / (packet - 40)));
      expect(Math.max(...stores.map((exchange) => exchange.size))).toBeLessThanOrEqual(packet);
      expect(progress.at(-1)).toBe(der.length);
      expect(must(await client.keys.publicKey(1)).certBytes).toBe(der.length);
      expect(must(await client.keys.list())[0]!.certBytes).toBe(der.length);
      const reads = exchanges.length;
      expect(must(await client.keys.readCertificate(1))).toEqual(der);
      const readReplies = exchanges.slice(reads).filter((exchange) => exchange.direction === 'rx');
      expect(readReplies.length).toBe(Math.ceil(der.length / (packet - 40)));
      expect(Math.max(...readReplies.map((exchange) => exchange.size))).toBeLessThanOrEqual(packet);
    });

    it('replaces a chain, reads none for a key without one, refuses a chain too large or for a missing key', async () => {
      const { client } = await open();
      const { certMax } = must(await client.keys.info());
      must(await client.keys.generate({ alg: 'p256', id: 1 }));
      expect(await client.keys.readCertificate(1)).toEqual({ ok: true, value: null });
      must(await client.keys.storeCertificate(1, chain(500)));
      must(await client.keys.storeCertificate(1, chain(200)));
      expect(must(await client.keys.readCertificate(1))).toEqual(chain(200));
      must(await client.keys.storeCertificate(1, chain(certMax)));
      expect(must(await client.keys.readCertificate(1))).toEqual(chain(certMax));
      expect(refusal(await client.keys.storeCertificate(1, chain(certMax + 1))).reason).toBe('too-large');
      expect(refusal(await client.keys.storeCertificate(2, chain(10))).reason).toBe('no-such-key');
      expect(refusal(await client.keys.readCertificate(2)).reason).toBe('no-such-key');
    });

    it('answers a chunk out of place with the offset it expects', async () => {
      const { client } = await open();
      must(await client.keys.generate({ alg: 'p256', id: 1 }));
      const store = (payload: Record<string, CborValue>) => runCommand(client.client, COMMANDS.keysCertStore, payload);
      expect(must(await store({ id: 1, off: 10, data: new Uint8Array(4) }))).toEqual({ off: 0 });
      expect(must(await store({ id: 1, off: 0, len: 8, data: new Uint8Array(4) }))).toEqual({ off: 4 });
      expect(must(await store({ id: 1, off: 6, data: new Uint8Array(2) }))).toEqual({ off: 4 });
      expect(refusal(await store({ id: 1, off: 4, data: new Uint8Array(5) })).rc).toBe(KEYS_MGMT_ERR.BAD_REQUEST);
      expect(must(await store({ id: 1, off: 4, data: new Uint8Array(4) }))).toEqual({ off: 8 });
      expect(refusal(await store({ id: 1, off: 0, len: 0, data: new Uint8Array(0) })).rc).toBe(KEYS_MGMT_ERR.BAD_REQUEST);
      const read = (payload: Record<string, CborValue>) => runCommand(client.client, COMMANDS.keysCertRead, payload);
      expect(must(await read({ id: 1, off: 6 }))).toEqual({ off: 6, len: 8, data: new Uint8Array(2) });
      expect(refusal(await read({ id: 1, off: 9 })).rc).toBe(KEYS_MGMT_ERR.BAD_REQUEST);
    });
  });

  describe(`keys group on the ${name}: session counter and tamper log`, () => {
    it('moves only up: the same value again is fine, lower is refused and recorded, and it survives a restart', async () => {
      const session = await open({ persistent: true });
      const { client } = session;
      expect(must(await client.keys.readCounter())).toBe(0);
      expect(must(await client.keys.setCounter(100))).toBe(100);
      expect(must(await client.keys.setCounter(100))).toBe(100);
      const refused = refusal(await client.keys.setCounter(99));
      expect(refused).toMatchObject({ code: 'group', rc: KEYS_MGMT_ERR.COUNTER_ROLLBACK, reason: 'counter-rollback' });
      expect(must(await client.keys.readCounter())).toBe(100);
      expect(must(await client.keys.tamperLog())).toEqual([{ seq: 0, kind: 'counter-rollback', boot: 1, value: 99 }]);
      expect(must(await client.keys.info())).toMatchObject({ counter: 100, tamperEvents: 1 });
      await session.restart();
      expect(must(await session.client.keys.readCounter())).toBe(100);
      expect(refusal(await session.client.keys.setCounter(-1)).reason).toBe('bad-request');
      expect(must(await session.client.keys.setCounter(2 ** 40))).toBe(2 ** 40);
      expect(must(await session.client.keys.tamperLog())).toEqual([{ seq: 0, kind: 'counter-rollback', boot: 1, value: 99 }]);
    });

    it('tamper-log returns events from a sequence number, across pages, the oldest dropped past the board capacity', async () => {
      const { client, exchanges } = await open();
      must(await client.keys.setCounter(50));
      for (let value = 1; value <= 40; value++) refusal(await client.keys.setCounter(value));
      const before = exchanges.length;
      const all = must(await client.keys.tamperLog());
      expect(exchanges.slice(before).filter((exchange) => exchange.direction === 'rx').length).toBeGreaterThan(1);
      expect(all.length).toBeGreaterThanOrEqual(16);
      expect(all.map((event) => event.seq)).toEqual(Array.from({ length: all.length }, (_, i) => 40 - all.length + i));
      expect(all.map((event) => event.value)).toEqual(Array.from({ length: all.length }, (_, i) => 41 - all.length + i));
      expect(all.every((event) => event.kind === 'counter-rollback' && event.boot === 1)).toBe(true);
      expect(must(await client.keys.tamperLog(37)).map((event) => event.seq)).toEqual([37, 38, 39]);
      expect(must(await client.keys.tamperLog(40))).toEqual([]);
      expect(must(await client.keys.info()).tamperEvents).toBe(40);
    });
  });

  describe(`keys group on the ${name}: lock`, () => {
    it('after lock: import, destroy, counter writes and replacing a key are refused and logged; info reports it; it survives a restart', async () => {
      const session = await open({ persistent: true });
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
      await session.restart();
      expect(must(await session.client.keys.info()).locked).toBe(true);
      expect(refusal(await session.client.keys.destroy(3)).reason).toBe('locked');
    });
  });

  describe(`keys group on the ${name}: every error, v2 and v1`, () => {
    it.each(errorCases())('$name: v2 {err: {group: 64, rc: $code}}', async ({ code, name: title, run }) => {
      const error = refusal(await run(await open()));
      expect(error).toMatchObject({ code: 'group', group: 64, rc: code });
      expect(error.reason).toBe(title.replace(/ /g, '-'));
      expect(error.message).toContain(`(${title})`);
    });

    it.each(errorCases())('$name: v1 {rc} as the spec translates it', async ({ code, v1Reason, run }) => {
      const error = refusal(await run(await open({ version: SMP_VERSION.V1 })));
      expect(error).toMatchObject({ code: 'mgmt', rc: KEYS_MGMT_ERR_V1[code], reason: v1Reason });
    });

    it('a group the board does not have answers v1 rc 8, read as not-supported', async () => {
      const { client } = await open({ keysGroup: 100 });
      expect(refusal(await client.keys.info())).toMatchObject({ code: 'mgmt', rc: MGMT_ERR.ENOTSUP, reason: 'not-supported' });
    });
  });

  describe(`keys group on the ${name}: slots, storage, restarts`, () => {
    it('slots run out at the count info reports; a replace needs no new slot; destroy frees one', async () => {
      const { client } = await open();
      const { slots } = must(await client.keys.info());
      for (let i = 0; i < slots; i++) must(await client.keys.generate({ alg: 'p256' }));
      expect(refusal(await client.keys.generate({ alg: 'p256' })).reason).toBe('slots-full');
      expect(refusal(await client.keys.import({ alg: 'aes-128', wrap: { enc: new Uint8Array(32), ct: new Uint8Array(32) } })).reason).toBe('slots-full');
      must(await client.keys.generate({ alg: 'p256', id: 1, replace: true }));
      must(await client.keys.destroy(2));
      expect(must(await client.keys.generate({ alg: 'p256' })).id).toBe(2);
      expect(must(await client.keys.info()).used).toBe(slots);
    });

    it('keys, certificates, counter, lock state and tamper log survive a restart', async () => {
      const session = await open({ persistent: true });
      const key = must(await session.client.keys.generate({ alg: 'p256', id: 1, csrSubject: 'CN=dev-1' }));
      const transport = must(await session.client.keys.transportKey()).publicKey;
      const secret = p256.utils.randomSecretKey();
      must(await session.client.keys.import({ alg: 'p256', id: 2, wrap: await sealIndependently(transport, specInfo(2, 0, 'p256'), secret) }));
      const der = chain(2500);
      must(await session.client.keys.storeCertificate(1, der));
      must(await session.client.keys.setCounter(7));
      refusal(await session.client.keys.setCounter(6));
      const info = must(await session.client.keys.info());
      await session.restart();
      const { client } = session;
      expect(must(await client.keys.info())).toEqual({ ...info });
      expect(must(await client.keys.publicKey(1))).toMatchObject({ publicKey: key.publicKey, certBytes: der.length });
      expect(must(await client.keys.readCertificate(1))).toEqual(der);
      expect(must(await client.keys.transportKey()).publicKey).toEqual(transport);
      expect(p256.verify(must(await client.keys.sign(1, CHALLENGE)), CHALLENGE, key.publicKey, { lowS: false })).toBe(true);
      expect(p256.verify(must(await client.keys.sign(2, CHALLENGE)), CHALLENGE, p256.getPublicKey(secret, false), { lowS: false })).toBe(true);
      expect(must(await client.keys.tamperLog())).toEqual([{ seq: 0, kind: 'counter-rollback', boot: 1, value: 6 }]);
      refusal(await client.keys.setCounter(5));
      expect(must(await client.keys.tamperLog(1))).toEqual([{ seq: 1, kind: 'counter-rollback', boot: 2, value: 5 }]);
    });

    it('a restart between chunks loses the partial chain: the board asks for offset 0, the stored chain stays', async () => {
      const session = await open({ persistent: true });
      must(await session.client.keys.generate({ alg: 'p256', id: 1 }));
      must(await session.client.keys.storeCertificate(1, chain(100)));
      expect(must(await runCommand(session.client.client, COMMANDS.keysCertStore, { id: 1, off: 0, len: 8, data: new Uint8Array(4) }))).toEqual({ off: 4 });
      await session.restart();
      expect(must(await runCommand(session.client.client, COMMANDS.keysCertStore, { id: 1, off: 4, data: new Uint8Array(4) }))).toEqual({ off: 0 });
      expect(must(await session.client.keys.readCertificate(1))).toEqual(chain(100));
    });

    it('a key whose stored record changed answers storage-failure to every use, is logged once, and can be destroyed', async () => {
      const session = await open({ persistent: true });
      const key = must(await session.client.keys.generate({ alg: 'p256', id: 1 }));
      must(await session.client.keys.generate({ alg: 'p256', id: 2 }));
      await session.corruptKey(1, key.publicKey);
      const { client } = session;
      expect(refusal(await client.keys.sign(1, CHALLENGE)).reason).toBe('storage-failure');
      expect(refusal(await client.keys.publicKey(1)).reason).toBe('storage-failure');
      expect(refusal(await client.keys.csr(1, 'CN=x')).reason).toBe('storage-failure');
      must(await client.keys.sign(2, CHALLENGE));
      expect(must(await client.keys.tamperLog())).toEqual([{ seq: 0, kind: TAMPER_KIND.STORAGE_INTEGRITY, boot: 2, id: 1 }]);
      must(await client.keys.destroy(1));
      must(await client.keys.generate({ alg: 'p256', id: 1 }));
      must(await client.keys.sign(1, CHALLENGE));
      expect(must(await client.keys.info()).tamperEvents).toBe(1);
    });
  });
}

interface ErrorCase {
  code: KeysMgmtErr;
  name: string;
  v1Reason: KeysErrorReason;
  run: (session: KeysSession) => Promise<Result<unknown, KeysError>>;
}

/** One way to make any board answer each keys-group error (storage failures need fault injection: keys-group.test.ts). */
function errorCases(): ErrorCase[] {
  return [
    { code: KEYS_MGMT_ERR.BAD_REQUEST, name: 'bad request', v1Reason: 'bad-request', run: (s) => s.client.keys.publicKey(0x40000000) },
    { code: KEYS_MGMT_ERR.NO_SUCH_KEY, name: 'no such key', v1Reason: 'no-such-key', run: (s) => s.client.keys.publicKey(12) },
    {
      code: KEYS_MGMT_ERR.SLOT_IN_USE,
      name: 'slot in use',
      v1Reason: 'slot-in-use',
      run: async (s) => (await s.client.keys.generate({ alg: 'p256', id: 1 }), s.client.keys.generate({ alg: 'p256', id: 1 })),
    },
    {
      code: KEYS_MGMT_ERR.SLOTS_FULL,
      name: 'slots full',
      v1Reason: 'slots-full',
      run: async (s) => {
        const { slots } = must(await s.client.keys.info());
        for (let i = 0; i < slots; i++) must(await s.client.keys.generate({ alg: 'p256' }));
        return s.client.keys.generate({ alg: 'p256' });
      },
    },
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
      run: async (s) => (await s.client.keys.generate({ alg: 'p256', id: 1, usage: KEY_USAGE.DERIVE }), s.client.keys.sign(1, CHALLENGE)),
    },
    { code: KEYS_MGMT_ERR.LOCKED, name: 'locked', v1Reason: 'not-permitted', run: async (s) => (await s.client.keys.lock(), s.client.keys.setCounter(5)) },
    { code: KEYS_MGMT_ERR.TOO_LARGE, name: 'too large', v1Reason: 'too-large', run: async (s) => (await s.client.keys.generate({ alg: 'p256', id: 1 }), s.client.keys.sign(1, new Uint8Array(1025))) },
  ];
}
