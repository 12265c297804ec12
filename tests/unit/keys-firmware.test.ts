/**
 * The keys-group suite against the reference firmware: firmware/zephyr (a Zephyr module on PSA
 * Crypto) in its sample app, built for native_sim_64 by scripts/firmware-build.sh and run as a
 * Linux process that serves SMP on a pty. Each case starts its own board (a fresh seed: native_sim's
 * RNG repeats itself otherwise) on blank flash, in RAM or, when the case restarts the board, in a
 * flash file that the next process opens again. Then what only real flash can show: secrets are
 * sealed at rest, and bytes changed in the flash file are caught.
 *
 * The build runs while this file is collected (cached: about 0.2 s when nothing changed, about
 * 30 s the first time). When it cannot build (no Zephyr tree, no build tools and no root to install
 * them), everything here is skipped and the title says why.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, connectBoard } from '../../src/lib/device';
import type { CborValue } from '../../src/lib/smp/cbor';
import type { SmpExchange } from '../../src/lib/smp/client';
import { openSerialDevice } from '../../src/node/pty-transport';
import { startZephyr, type ZephyrInstance } from '../../src/node/zephyr';
import { buildFirmware } from './support/firmware-build';
import { CHALLENGE, chain, contains, keysSuite, type KeysConnectOptions, type KeysSession, type KeysTarget, must, refusal, sealIndependently, specInfo } from './support/keys-suite';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const firmware = await buildFirmware();
const exe = 'exe' in firmware ? firmware.exe : null;
const title = exe ? `reference firmware (${path.relative(ROOT, exe)}) over a pty` : `firmware not built: ${'reason' in firmware ? firmware.reason : ''}`;

interface Running {
  instance: ZephyrInstance;
  client: Board;
}

/** The board process on `flash` (a file path, or null for RAM), with a fresh seed, connected. */
async function boot(flash: string | null, exchanges: SmpExchange[], options: KeysConnectOptions): Promise<Running> {
  const args = [flash ? `-flash=${flash}` : '-flash_in_ram', `-seed=${randomInt(1, 2 ** 31)}`];
  const instance = await startZephyr({ exe: exe!, args });
  try {
    const transport = await openSerialDevice(instance.pty);
    const client = await connectBoard(transport, {
      timeoutMs: 3000,
      version: options.version,
      keysGroup: options.keysGroup,
      onExchange: (exchange) => exchanges.push(exchange),
    });
    return { instance, client };
  } catch (caught) {
    await instance.stop();
    throw caught;
  }
}

async function halt(running: Running): Promise<void> {
  await running.client.close();
  await running.instance.stop();
}

interface FirmwareSession extends KeysSession {
  /** The flash file (persistent sessions). */
  flash: string | null;
  /** Stops the board, lets `edit` change the flash file, starts it again. */
  editFlash(edit: (image: Uint8Array) => void): Promise<void>;
  /** What the board printed (logs) since it last started. */
  output(): string;
}

async function connectFirmware(options: KeysConnectOptions = {}): Promise<FirmwareSession> {
  const dir = options.persistent ? mkdtempSync(path.join(os.tmpdir(), 'imprint-fw-')) : null;
  const flash = dir ? path.join(dir, 'flash.bin') : null;
  const exchanges: SmpExchange[] = [];
  let running = await boot(flash, exchanges, options);
  const restartWith = async (edit?: (image: Uint8Array) => void) => {
    if (!flash) throw new Error('restart needs a persistent session: connect({ persistent: true })');
    await halt(running);
    if (edit) {
      const image = new Uint8Array(readFileSync(flash));
      edit(image);
      writeFileSync(flash, image);
    }
    running = await boot(flash, exchanges, options);
    session.client = running.client;
  };
  const session: FirmwareSession = {
    client: running.client,
    exchanges,
    flash,
    restart: () => restartWith(),
    editFlash: (edit) => restartWith(edit),
    corruptKey: (_id, publicKey) => restartWith((image) => expect(flipEvery(image, publicKey)).toBeGreaterThan(0)),
    output: () => running.instance.output(),
    close: async () => {
      await halt(running);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return session;
}

/** Flips one bit in the middle of every copy of `needle` in the flash image; how many there were. */
function flipEvery(image: Uint8Array, needle: Uint8Array): number {
  let count = 0;
  for (let i = 0; i + needle.length <= image.length; i++) {
    let match = true;
    for (let j = 0; j < needle.length && match; j++) match = image[i + j] === needle[j];
    if (!match) continue;
    image[i + (needle.length >> 1)]! ^= 0x01;
    count++;
  }
  return count;
}

const target: KeysTarget = { name: 'reference firmware', connect: connectFirmware };

describe.skipIf(!exe)(title, () => {
  keysSuite(target);

  describe('what only the firmware shows: flash, PSA, mbedTLS', () => {
    const sessions: FirmwareSession[] = [];
    const open = async (options: KeysConnectOptions = {}) => {
      const session = await connectFirmware(options);
      sessions.push(session);
      return session;
    };
    afterEachClose(sessions);

    it('info names the firmware and what its PSA build offers: no Ed25519 in mbedTLS 3.4', async () => {
      const { client } = await open();
      const info = must(await client.keys.info());
      expect(info).toMatchObject({
        version: 1,
        firmware: 'imprint-zephyr 1.0.0',
        generateAlgs: ['p256', 'x25519'],
        importAlgs: ['p256', 'x25519', 'hmac-sha256', 'aes-128'],
        slots: 32,
        certMax: 4096,
      });
      expect(info.deviceId).toHaveLength(16);
      expect(refusal(await client.keys.generate({ alg: 'ed25519' as 'p256' })).reason).toBe('unsupported-algorithm');
    }, 20_000);

    it('an imported key is sealed at rest: its bytes are nowhere in the flash file, yet it signs after a restart', async () => {
      const session = await open({ persistent: true });
      const transport = must(await session.client.keys.transportKey()).publicKey;
      const secret = p256.utils.randomSecretKey();
      const hmacKey = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);
      must(await session.client.keys.import({ alg: 'p256', id: 1, wrap: await sealIndependently(transport, specInfo(1, 0, 'p256'), secret) }));
      must(await session.client.keys.import({ alg: 'hmac-sha256', id: 2, wrap: await sealIndependently(transport, specInfo(2, 0, 'hmac-sha256'), hmacKey) }));
      const generated = must(await session.client.keys.generate({ alg: 'p256', id: 3 }));
      await session.restart();
      const image = new Uint8Array(readFileSync(session.flash!));
      expect(contains(image, secret)).toBe(false);
      expect(contains(image, hmacKey)).toBe(false);
      expect(contains(image, generated.publicKey)).toBe(true); // public parts are in the clear (authenticated)
      expect(p256.verify(must(await session.client.keys.sign(1, CHALLENGE)), CHALLENGE, p256.getPublicKey(secret, false), { lowS: false })).toBe(true);
      // Nor did the secret ever cross the wire.
      const received = session.exchanges.filter((exchange) => exchange.direction === 'rx').flatMap((exchange) => byteStrings(exchange.payload));
      expect(received.length).toBeGreaterThan(3);
      for (const bytes of received) for (const hidden of [secret, hmacKey]) expect(contains(bytes, hidden)).toBe(false);
    }, 30_000);

    it('a changed byte in a stored certificate chain is caught: the chain is refused, the key still signs, the event logged once', async () => {
      const session = await open({ persistent: true });
      const key = must(await session.client.keys.generate({ alg: 'p256', id: 1 }));
      const der = crypto.getRandomValues(new Uint8Array(1500));
      must(await session.client.keys.storeCertificate(1, der));
      await session.editFlash((image) => expect(flipEvery(image, der.subarray(600, 700))).toBe(1));
      expect(refusal(await session.client.keys.readCertificate(1)).reason).toBe('storage-failure');
      expect(refusal(await session.client.keys.readCertificate(1)).reason).toBe('storage-failure');
      expect(p256.verify(must(await session.client.keys.sign(1, CHALLENGE)), CHALLENGE, key.publicKey, { lowS: false })).toBe(true);
      expect(must(await session.client.keys.tamperLog())).toEqual([{ seq: 0, kind: 'storage-integrity', boot: 2, id: 1 }]);
      await session.restart();
      expect(refusal(await session.client.keys.readCertificate(1)).reason).toBe('storage-failure');
      expect(must(await session.client.keys.info()).tamperEvents).toBe(1); // logged once, across restarts too
      must(await session.client.keys.storeCertificate(1, chain(200))); // a new chain heals it
      expect(must(await session.client.keys.readCertificate(1))).toEqual(chain(200));
    }, 30_000);

    it('a changed counter record fails closed: locked, counter refused, the event logged', async () => {
      const session = await open({ persistent: true });
      const value = 0x1122334455667;
      must(await session.client.keys.setCounter(value));
      const bytes = Uint8Array.from({ length: 8 }, (_, i) => Number((BigInt(value) >> BigInt(56 - 8 * i)) & 0xffn));
      await session.editFlash((image) => expect(flipEvery(image, bytes)).toBeGreaterThan(0));
      const info = must(await session.client.keys.info());
      expect(info.locked).toBe(true);
      expect(refusal(await session.client.keys.readCounter()).reason).toBe('storage-failure');
      expect(refusal(await session.client.keys.setCounter(value + 1)).reason).toBe('locked');
      expect(must(await session.client.keys.tamperLog()).map((event) => [event.kind, event.id])).toEqual([
        ['storage-integrity', undefined],
        ['locked', undefined],
      ]);
    }, 30_000);

    it('logs the mbedTLS heap peak of a csr', async () => {
      const session = await open();
      must(await session.client.keys.generate({ alg: 'p256', id: 1, csrSubject: 'CN=imprint-fw-0001,serialNumber=FW-0001,O=Imprint' }));
      const peak = /csr: mbedTLS heap peak (\d+) bytes/.exec(session.output());
      expect(peak).not.toBeNull();
      expect(Number(peak![1])).toBeGreaterThan(500);
      expect(Number(peak![1])).toBeLessThan(32768);
    }, 20_000);
  });
});

function byteStrings(value: CborValue | null | undefined): Uint8Array[] {
  if (value instanceof Uint8Array) return [value];
  if (Array.isArray(value)) return value.flatMap(byteStrings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(byteStrings);
  return [];
}

function afterEachClose(sessions: FirmwareSession[]): void {
  // Registered in the describe that calls it.
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((session) => session.close()));
  });
}
