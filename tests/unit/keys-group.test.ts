/**
 * The keys group end to end on the simulated board (src/lib/sim/groups/keys.ts) over an instant
 * serial wire. The shared keys-group suite (support/keys-suite.ts: every command, every error in
 * v2 and v1, restarts, a corrupted key) runs here exactly as it runs against the reference
 * firmware (keys-firmware.test.ts). What follows it needs the simulator itself: its exact
 * identity, configurations (buffer size, slots, tamper capacity, group id), fault injection
 * (slots full, storage failing part-way, a reboot between steps) and a look at its secrets.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, COMMANDS, connectBoard, runCommand } from '../../src/lib/device';
import { KEYS_MGMT_ERR, KEYS_MGMT_ERR_V1, TAMPER_KIND } from '../../src/lib/device/keys-ids';
import { openImportWrap, wrapKeyForImport } from '../../src/lib/device/keys-wrap';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice, type SimulatedDeviceOptions } from '../../src/lib/sim';
import { sleep } from '../../src/lib/sim/board';
import type { CborValue } from '../../src/lib/smp/cbor';
import type { SmpExchange } from '../../src/lib/smp/client';
import { SMP_VERSION, type SmpVersion } from '../../src/lib/smp/ids';
import { hexToBytes, utf8 } from '../../src/lib/util/bytes';
import { CHALLENGE, chain, contains, keysSuite, type KeysConnectOptions, type KeysSession, type KeysTarget, must, refusal } from './support/keys-suite';

interface SimSession extends SimulatedDevice {
  client: Board;
  exchanges: SmpExchange[];
}

interface OpenOptions extends SimulatedDeviceOptions {
  version?: SmpVersion;
  baudRate?: number;
  timeoutMs?: number;
  keysGroup?: number;
}

async function connectSim(options: OpenOptions): Promise<SimSession> {
  const device = createSimulatedDevice({ bootMs: 30, ...options });
  const exchanges: SmpExchange[] = [];
  const client = await connectBoard(connectSimulatedBoard(device.board, { baudRate: options.baudRate ?? Infinity }), {
    timeoutMs: options.timeoutMs ?? 1000,
    version: options.version,
    keysGroup: options.keysGroup ?? options.keys?.group,
    onExchange: (exchange) => exchanges.push(exchange),
  });
  return { ...device, client, exchanges };
}

async function waitForBoot(device: SimulatedDevice, bootCount: number): Promise<void> {
  while (device.board.bootCount < bootCount) await sleep(5);
  await sleep(device.board.bootMs + 20);
}

/**
 * The simulated board for the shared suite, configured like the reference firmware's sample:
 * Zephyr's 1100-byte SMP buffers and 32 key slots. Its flash is the store, which a reboot keeps.
 */
const simTarget: KeysTarget = {
  name: 'simulated board',
  async connect(options: KeysConnectOptions = {}): Promise<KeysSession> {
    const sim = await connectSim({ bufSize: 1100, keys: { slots: 32 }, version: options.version, keysGroup: options.keysGroup });
    const restart = async () => {
      sim.board.reboot();
      await waitForBoot(sim, sim.board.bootCount);
    };
    return {
      client: sim.client,
      exchanges: sim.exchanges,
      restart,
      corruptKey: async (id) => {
        sim.keys.store.corrupt(id);
        await restart();
      },
      close: () => sim.client.close(),
    };
  },
};

keysSuite(simTarget);

// ---- What only the simulated board has ----

const sessions: SimSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.client.close()));
});

async function openKeys(options: OpenOptions = {}): Promise<SimSession> {
  const session = await connectSim(options);
  sessions.push(session);
  return session;
}

describe('keys group, simulated board only: its identity and defaults', () => {
  it('info describes a fresh default board exactly', async () => {
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

  it('the transport key is the X25519 public key of the secret in its store; Ed25519 keys sign', async () => {
    const { client, keys } = await openKeys();
    expect(must(await client.keys.transportKey()).publicKey).toEqual(x25519.getPublicKey(keys.store.transportSecret));
    const key = must(await client.keys.generate({ alg: 'ed25519' }));
    expect(ed25519.verify(must(await client.keys.sign(key.id, CHALLENGE)), CHALLENGE, key.publicKey)).toBe(true);
  });
});

describe('keys group, host side: the HPKE open the simulated board uses', () => {
  it('openImportWrap passes RFC 9180 A.1.1 (DHKEM(X25519), HKDF-SHA256, AES-128-GCM, base mode), first encryption', async () => {
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

  it('wrapKeyForImport refuses key material of the wrong size and a transport key that is not 32 bytes', async () => {
    const transportPublicKey = x25519.getPublicKey(x25519.utils.randomSecretKey());
    expect(await wrapKeyForImport({ transportPublicKey, alg: 'aes-128', secret: new Uint8Array(15) })).toMatchObject({ ok: false, error: { code: 'wrap-secret-size' } });
    expect(await wrapKeyForImport({ transportPublicKey: new Uint8Array(31), alg: 'aes-128', secret: new Uint8Array(16) })).toMatchObject({ ok: false, error: { code: 'wrap-public-key' } });
  });
});

describe('keys group, simulated board only: configurations', () => {
  it('list pages on a 384-byte-buffer board (Zephyr\'s default) with 24 slots', async () => {
    const { client, board } = await openKeys({ bufSize: 384, keys: { slots: 24 } });
    for (let i = 0; i < 24; i++) must(await client.keys.generate({ alg: 'x25519', id: 200 - i * 7 }));
    const before = board.stats.requests;
    const listed = must(await client.keys.list());
    expect(listed.map((key) => key.id)).toEqual(Array.from({ length: 24 }, (_, i) => 39 + i * 7));
    expect(board.stats.requests - before).toBeGreaterThan(2);
  });

  it('tamper-log keeps its configured capacity (10), across pages on a small board', async () => {
    const { client, board } = await openKeys({ bufSize: 384, keys: { tamperCapacity: 10 } });
    must(await client.keys.setCounter(50));
    for (let value = 1; value <= 12; value++) refusal(await client.keys.setCounter(value));
    const before = board.stats.requests;
    const all = must(await client.keys.tamperLog());
    expect(board.stats.requests - before).toBeGreaterThan(1);
    expect(all.map((event) => event.seq)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(must(await client.keys.tamperLog(9)).map((event) => event.seq)).toEqual([9, 10, 11]);
    expect(must(await client.keys.info()).tamperEvents).toBe(12);
  });

  it('works at another group id, with names in messages', async () => {
    const { client } = await openKeys({ keys: { group: 100 } });
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    const error = refusal(await client.keys.publicKey(2));
    expect(error).toMatchObject({ code: 'group', group: 100, reason: 'no-such-key', command: 'keys/public' });
  });
});

describe('keys group, simulated board only: fault injection', () => {
  it('storage failure: v2 {err: {group: 64, rc: 11}} and v1 rc 1', async () => {
    const v2 = await openKeys();
    v2.keys.inject({ failStorageAfterBytes: 10 });
    expect(refusal(await v2.client.keys.generate({ alg: 'p256' }))).toMatchObject({ code: 'group', group: 64, rc: KEYS_MGMT_ERR.STORAGE_FAILURE, reason: 'storage-failure' });
    const v1 = await openKeys({ version: SMP_VERSION.V1 });
    v1.keys.inject({ failStorageAfterBytes: 10 });
    expect(refusal(await v1.client.keys.generate({ alg: 'p256' }))).toMatchObject({ code: 'mgmt', rc: KEYS_MGMT_ERR_V1[KEYS_MGMT_ERR.STORAGE_FAILURE], reason: 'unknown' });
  });

  it('slots full on demand, whatever the slot count', async () => {
    const { client, keys } = await openKeys();
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

  it('bit rot found without a reboot: the integrity check runs on every read', async () => {
    const { client, keys } = await openKeys();
    must(await client.keys.generate({ alg: 'p256', id: 1 }));
    keys.store.corrupt(1);
    expect(refusal(await client.keys.sign(1, CHALLENGE)).reason).toBe('storage-failure');
    expect(must(await client.keys.tamperLog())).toEqual([{ seq: 0, kind: TAMPER_KIND.STORAGE_INTEGRITY, boot: 1, id: 1 }]);
  });

  it('a reboot right after generate: the key persists like flash', async () => {
    const session = await openKeys();
    session.keys.inject({ rebootBetweenSteps: 1 });
    const key = must(await session.client.keys.generate({ alg: 'p256', id: 1 }));
    await waitForBoot(session, 2);
    expect(must(await session.client.keys.publicKey(1)).publicKey).toEqual(key.publicKey);
  });

  it('a reboot between chunks: the board asks for offset 0', async () => {
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

describe('keys group, simulated board only: secrecy', () => {
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
