/**
 * The simulated board: first the same checks Zephyr's smp_svr passes (zephyr-interop.test.ts),
 * with the simulator sized like it (bufSize 1100, 4 buffers); then what only the simulator has:
 * every OS command, image test/confirm/erase with MCUboot's swap and revert, a 128-byte-buffer
 * part, fault injection, and the wire model's timing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, connectBoard } from '../../src/lib/device';
import { encodeCbor } from '../../src/lib/smp/cbor';
import type { SmpClientOptions } from '../../src/lib/smp/client';
import { encodeSerialFrames } from '../../src/lib/smp/framing/serial';
import { SMP_HEADER_SIZE } from '../../src/lib/smp/header';
import { IMG_MGMT_ERR, MGMT_ERR, MGMT_GROUP_ID, OS_MGMT_ERR, SMP_VERSION } from '../../src/lib/smp/ids';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice, type SimulatedDeviceOptions } from '../../src/lib/sim';
import { sleep } from '../../src/lib/sim/board';
import { SIM_KERNEL_RELEASE } from '../../src/lib/sim/groups/os';
import { bytesToHex } from '../../src/lib/util/bytes';
import { type BoardTarget, boardContract, echoTextForPacketSize } from './support/board-contract';

const zephyrSized: BoardTarget = {
  params: { bufSize: 1100, bufCount: 4 },
  async start() {
    const { board } = createSimulatedDevice({ bufSize: 1100, bufCount: 4 });
    const transport = connectSimulatedBoard(board, { baudRate: Infinity });
    return { transport, stop: () => transport.close() };
  },
};

interface SimSession extends SimulatedDevice {
  client: Board;
  consoleText: string[];
  framingErrors: string[];
}

const sessions: SimSession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.client.close()));
});

/** A fresh simulated device with a client connected over an instant wire (unless `baudRate` is given). */
async function openSim(options: SimulatedDeviceOptions & { baudRate?: number } = {}, client: SmpClientOptions = {}): Promise<SimSession> {
  const device = createSimulatedDevice({ bootMs: 50, ...options });
  const consoleText: string[] = [];
  const framingErrors: string[] = [];
  const board = await connectBoard(connectSimulatedBoard(device.board, { baudRate: options.baudRate ?? Infinity }), {
    timeoutMs: 1000,
    ...client,
    onConsoleText: (text) => consoleText.push(new TextDecoder().decode(text)),
    onFramingError: (error) => framingErrors.push(error.code),
  });
  const session = { ...device, client: board, consoleText, framingErrors };
  sessions.push(session);
  return session;
}

/** Resets and waits for the boot banner, after which the board answers again. */
async function resetAndBoot(session: SimSession): Promise<void> {
  const banners = session.consoleText.filter((text) => text.includes('Booting')).length;
  expect(await session.client.os.reset()).toEqual({ ok: true, value: undefined });
  for (let waited = 0; session.consoleText.filter((text) => text.includes('Booting')).length === banners; waited += 10) {
    if (waited > 2000) throw new Error('the simulated board did not boot within 2 s');
    await sleep(10);
  }
}

const V1 = { version: SMP_VERSION.V1 };

describe('simulated board: the checks Zephyr passes', () => boardContract(zephyrSized));

describe('simulated board: OS group', () => {
  it('echoes empty, unicode and long strings', async () => {
    const { client } = await openSim();
    for (const text of ['', 'grüße 🌍', 'x'.repeat(1500)]) expect(await client.os.echo(text)).toEqual({ ok: true, value: text });
  });

  it('refuses an echo without "d" with rc 3 (EINVAL)', async () => {
    const { client } = await openSim();
    const reply = await client.client.request({ group: MGMT_GROUP_ID.OS, command: 0, op: 'write', payload: { e: 'hi' } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'mgmt', rc: MGMT_ERR.EINVAL } });
  });

  it('reports task and memory pool statistics', async () => {
    const { client, board } = await openSim();
    const tasks = await client.os.taskStats();
    expect(tasks.ok && tasks.value.map((task) => task.name)).toEqual(expect.arrayContaining(['idle', 'main']));
    const pools = await client.os.memoryPoolStats();
    expect(pools).toEqual({ ok: true, value: [{ name: 'net_buf', blockSize: board.bufSize, blocks: board.bufCount, free: board.bufCount - 1, minFree: board.bufCount - 2 }] });
  });

  it('reads and sets the date and time', async () => {
    const { client } = await openSim();
    const now = await client.os.readDateTime();
    expect(now.ok && now.value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(await client.os.writeDateTime(new Date('2030-01-02T03:04:05Z'))).toEqual({ ok: true, value: undefined });
    const later = await client.os.readDateTime();
    expect(later.ok && Date.parse(`${later.value}Z`) - Date.parse('2030-01-02T03:04:05Z')).toBeLessThan(2000);
  });

  it('refuses a date that does not parse with rc 3', async () => {
    const { client } = await openSim();
    const reply = await client.client.request({ group: MGMT_GROUP_ID.OS, command: 4, op: 'write', payload: { datetime: 'yesterday' } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'mgmt', rc: MGMT_ERR.EINVAL } });
  });

  it('answers reset, reboots (banner on the console), forgets the clock and answers echo after boot', async () => {
    const session = await openSim();
    await session.client.os.writeDateTime(new Date('2030-01-02T03:04:05Z'));
    await resetAndBoot(session);
    expect(session.board.bootCount).toBe(2);
    expect(await session.client.os.echo('back')).toEqual({ ok: true, value: 'back' });
    const clock = await session.client.os.readDateTime();
    expect(clock.ok && clock.value.startsWith('2030')).toBe(false);
    expect(session.framingErrors).toEqual([]);
  });

  it('ignores requests while booting: they time out', async () => {
    const session = await openSim({ bootMs: 300 }, { timeoutMs: 100 });
    expect(await session.client.os.reset()).toEqual({ ok: true, value: undefined });
    await sleep(50);
    expect(await session.client.os.echo('too early')).toMatchObject({ ok: false, error: { code: 'timeout' } });
  });

  it('reports MCUmgr params of the default board', async () => {
    const { client } = await openSim();
    expect(await client.os.params()).toEqual({ ok: true, value: { bufSize: 2048, bufCount: 4 } });
  });

  it('answers OS info for each format letter, and "a" for all of them', async () => {
    const { client, board } = await openSim();
    expect(await client.os.info('s')).toEqual({ ok: true, value: 'Zephyr' });
    expect(await client.os.info('n')).toEqual({ ok: true, value: board.name });
    expect(await client.os.info('r')).toEqual({ ok: true, value: SIM_KERNEL_RELEASE });
    expect(await client.os.info('sr')).toEqual({ ok: true, value: `Zephyr ${SIM_KERNEL_RELEASE}` });
    const all = await client.os.info('a');
    expect(all.ok && all.value.split(' ').length).toBeGreaterThanOrEqual(9);
    const none = await client.client.request({ group: MGMT_GROUP_ID.OS, command: 7, op: 'read' });
    expect(none).toEqual({ ok: true, value: { output: 'Zephyr' } });
  });

  it('refuses an invalid info format: v2 group error (os, 2), v1 rc 3', async () => {
    const v2 = await openSim();
    expect(await v2.client.os.info('q')).toMatchObject({ ok: false, error: { code: 'group', group: MGMT_GROUP_ID.OS, rc: OS_MGMT_ERR.INVALID_FORMAT } });
    const v1 = await openSim({}, V1);
    expect(await v1.client.os.info('q')).toMatchObject({ ok: false, error: { code: 'mgmt', rc: MGMT_ERR.EINVAL } });
  });

  it('names the bootloader and its mode', async () => {
    const { client } = await openSim();
    expect(await client.os.bootloaderInfo()).toEqual({ ok: true, value: { bootloader: 'MCUboot', mode: 1 } });
  });

  it('answers an unknown bootloader query: v2 group error (os, 3), v1 rc 8', async () => {
    const request = { group: MGMT_GROUP_ID.OS, command: 8, op: 'read' as const, payload: { query: 'colour' } };
    expect(await (await openSim()).client.client.request(request)).toMatchObject({ ok: false, error: { code: 'group', group: 0, rc: OS_MGMT_ERR.QUERY_YIELDS_NO_ANSWER } });
    expect(await (await openSim({}, V1)).client.client.request(request)).toMatchObject({ ok: false, error: { code: 'mgmt', rc: MGMT_ERR.ENOTSUP } });
  });
});

describe('simulated board: image group', () => {
  const imageError = (rc: number) => ({ ok: false, error: { code: 'group', group: MGMT_GROUP_ID.IMAGE, rc } });
  const mgmtError = (rc: number) => ({ ok: false, error: { code: 'mgmt', rc } });

  it('lists the running image in slot 0 and the update in slot 1', async () => {
    const { client, slots } = await openSim();
    const state = await client.image.state();
    expect(state.ok).toBe(true);
    if (!state.ok) return;
    expect(state.value).toMatchObject([
      { slot: 0, version: '1.0.0', active: true, confirmed: true, pending: false, bootable: true },
      { slot: 1, version: '1.1.0', active: false, confirmed: false, pending: false },
    ]);
    expect(state.value[1]!.hash).toBe(bytesToHex(slots.secondary!.hash));
  });

  it('marks the update for test, swaps it in at reset, and reverts it at the next reset when not confirmed', async () => {
    const session = await openSim();
    const update = session.slots.secondary!.hash;
    const tested = await session.client.image.test(update);
    expect(tested.ok && tested.value[1]).toMatchObject({ version: '1.1.0', pending: true, permanent: false });
    await resetAndBoot(session);
    const running = await session.client.image.state();
    expect(running.ok && running.value[0]).toMatchObject({ version: '1.1.0', active: true, confirmed: false });
    await resetAndBoot(session);
    const reverted = await session.client.image.state();
    expect(reverted.ok && reverted.value.map((slot) => [slot.slot, slot.version, slot.confirmed])).toEqual([
      [0, '1.0.0', true],
      [1, '1.1.0', false],
    ]);
  });

  it('keeps a tested image that is confirmed after the swap', async () => {
    const session = await openSim();
    await session.client.image.test(session.slots.secondary!.hash);
    await resetAndBoot(session);
    const confirmed = await session.client.image.confirm();
    expect(confirmed.ok && confirmed.value[0]).toMatchObject({ version: '1.1.0', confirmed: true });
    await resetAndBoot(session);
    const state = await session.client.image.state();
    expect(state.ok && state.value[0]).toMatchObject({ version: '1.1.0', confirmed: true });
  });

  it('makes the update permanent with confirm(hash)', async () => {
    const session = await openSim();
    const marked = await session.client.image.confirm(session.slots.secondary!.hash);
    expect(marked.ok && marked.value[1]).toMatchObject({ pending: true, permanent: true });
    await resetAndBoot(session);
    await resetAndBoot(session);
    const state = await session.client.image.state();
    expect(state.ok && state.value[0]).toMatchObject({ version: '1.1.0', confirmed: true });
  });

  it('refuses to test the running image: v2 (image, 33), v1 rc 6', async () => {
    const v2 = await openSim();
    expect(await v2.client.image.test(v2.slots.primary!.hash)).toMatchObject(imageError(IMG_MGMT_ERR.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED));
    const v1 = await openSim({}, V1);
    expect(await v1.client.image.test(v1.slots.primary!.hash)).toMatchObject(mgmtError(MGMT_ERR.EBADSTATE));
  });

  it('erases slot 1', async () => {
    const { client } = await openSim();
    expect(await client.image.erase()).toEqual({ ok: true, value: undefined });
    const state = await client.image.state();
    expect(state.ok && state.value.map((slot) => slot.slot)).toEqual([0]);
  });

  it('refuses to erase a pending update or slot 0: v2 (image, 9 no free slot), v1 rc 6', async () => {
    const v2 = await openSim();
    expect(await v2.client.image.erase(0)).toMatchObject(imageError(IMG_MGMT_ERR.NO_FREE_SLOT));
    await v2.client.image.test(v2.slots.secondary!.hash);
    expect(await v2.client.image.erase()).toMatchObject(imageError(IMG_MGMT_ERR.NO_FREE_SLOT));
    const v1 = await openSim({}, V1);
    await v1.client.image.test(v1.slots.secondary!.hash);
    expect(await v1.client.image.erase()).toMatchObject(mgmtError(MGMT_ERR.EBADSTATE));
  });

  it('starts without an update when asked to', async () => {
    const { client } = await openSim({ withUpdateInSecondary: false });
    const state = await client.image.state();
    expect(state.ok && state.value.map((slot) => slot.slot)).toEqual([0]);
  });
});

describe('simulated board: a part with a 128-byte MCUmgr buffer', () => {
  it('reports its params and limits requests to 124 bytes', async () => {
    const { client } = await openSim({ bufSize: 128, bufCount: 2 });
    expect(client.params).toEqual({ bufSize: 128, bufCount: 2 });
    expect(client.client.maxPacketSize).toBe(124);
    expect(await client.os.params()).toEqual({ ok: true, value: { bufSize: 128, bufCount: 2 } });
  });

  it('echoes short strings and the largest that fits', async () => {
    const { client } = await openSim({ bufSize: 128 });
    expect(await client.os.echo('hi')).toEqual({ ok: true, value: 'hi' });
    const largest = echoTextForPacketSize(124);
    expect(await client.os.echo(largest)).toEqual({ ok: true, value: largest });
  });

  it('refuses a too-large echo locally, then carries on', async () => {
    const { client, board } = await openSim({ bufSize: 128 });
    const seen = board.stats.requests;
    expect(await client.os.echo(echoTextForPacketSize(125))).toMatchObject({ ok: false, error: { code: 'too-large' } });
    expect(board.stats.requests).toBe(seen);
    expect(board.stats.dropped).toBe(0);
    expect(await client.os.echo('ok')).toEqual({ ok: true, value: 'ok' });
  });
});

describe('simulated board: fault injection', () => {
  it('a dropped response times out; the next request works', async () => {
    const { client, board } = await openSim({}, { timeoutMs: 150 });
    board.faults.inject({ dropResponses: 1 });
    expect(await client.os.echo('lost')).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(await client.os.echo('next')).toEqual({ ok: true, value: 'next' });
  });

  it('a corrupted response fails its CRC and times out; the next request works', async () => {
    const { client, board, framingErrors } = await openSim({}, { timeoutMs: 150 });
    board.faults.inject({ corruptResponses: 1 });
    expect(await client.os.echo('garbled')).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(framingErrors).toContain('frame-crc');
    expect(await client.os.echo('next')).toEqual({ ok: true, value: 'next' });
  });

  it('still decodes responses written in small pieces with log lines between frames', async () => {
    const { client, board, consoleText, framingErrors } = await openSim();
    board.faults.inject({ splitWritesBytes: 7, logNoise: true });
    const long = 'y'.repeat(300); // a multi-line frame
    expect(await client.os.echo(long)).toEqual({ ok: true, value: long });
    expect(await client.os.echo('short')).toEqual({ ok: true, value: 'short' });
    expect(consoleText.filter((text) => text.includes('<inf> smp_sim')).length).toBe(2);
    expect(framingErrors).toEqual([]);
  });

  it('a link cut mid-frame settles the request as disconnected, and later ones as not-connected', async () => {
    const { client, board } = await openSim();
    board.faults.inject({ disconnectMidFrame: true });
    expect(await client.os.echo('cut')).toMatchObject({ ok: false, error: { code: 'disconnected' } });
    expect(await client.os.echo('again')).toMatchObject({ ok: false, error: { code: 'not-connected' } });
  });

  it('a delay within the timeout only makes the answer late', async () => {
    const { client, board } = await openSim({}, { timeoutMs: 1000 });
    board.faults.inject({ delayMs: 150 });
    const started = performance.now();
    expect(await client.os.echo('slow')).toEqual({ ok: true, value: 'slow' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('a dropped request times out without the board counting it; the next request works', async () => {
    const { client, board } = await openSim({}, { timeoutMs: 150 });
    const seen = board.stats.requests;
    board.faults.inject({ dropRequests: 1 });
    expect(await client.os.echo('unheard')).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(board.stats.requests).toBe(seen);
    expect(await client.os.echo('heard')).toEqual({ ok: true, value: 'heard' });
    expect(board.stats.requests).toBe(seen + 1);
  });
});

describe('simulated board: the wire model', () => {
  it('a large echo over 115200 baud takes at least its bytes × 10 bits on the line', async () => {
    const { client } = await openSim({ baudRate: 115200 });
    const text = 'z'.repeat(1000);
    // Request and response frames have the same size here: the response header and {"r": …} match the request's.
    const packetSize = SMP_HEADER_SIZE + encodeCbor({ d: text }).length;
    const frameBytes = encodeSerialFrames(new Uint8Array(packetSize)).reduce((total, line) => total + line.length, 0);
    const expectedMs = ((2 * frameBytes * 10) / 115200) * 1000;
    const started = performance.now();
    expect(await client.os.echo(text)).toEqual({ ok: true, value: text });
    const elapsed = performance.now() - started;
    expect(expectedMs).toBeGreaterThan(200); // about 2.8 kB both ways: a real wait, not noise
    expect(elapsed).toBeGreaterThanOrEqual(0.9 * expectedMs);
  });
});
