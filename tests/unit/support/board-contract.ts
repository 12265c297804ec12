/**
 * One list of OS / image / stat / shell checks that every board we talk to must pass: Zephyr's
 * own smp_svr over a pty (zephyr-interop.test.ts) and our simulated board (sim-board.test.ts).
 * Running the same list against both is what keeps the simulator honest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, connectBoard } from '../../../src/lib/device';
import { type CborMap, encodeCbor } from '../../../src/lib/smp/cbor';
import type { SmpClientOptions, SmpExchange } from '../../../src/lib/smp/client';
import { SMP_HEADER_SIZE } from '../../../src/lib/smp/header';
import { IMG_MGMT_ERR, IMG_MGMT_ID, MGMT_ERR, MGMT_GROUP_ID, SMP_VERSION } from '../../../src/lib/smp/ids';
import type { Transport } from '../../../src/lib/transport/types';

export interface BoardTarget {
  /** Starts a fresh board and returns the host's end of its link. */
  start(): Promise<{ transport: Transport; stop(): Promise<void> }>;
  /** What the board reports as MCUmgr parameters. */
  params: { bufSize: number; bufCount: number };
}

export interface ConnectedBoard {
  board: Board;
  transport: Transport;
  exchanges: SmpExchange[];
  consoleText: string[];
}

/** Opens boards for one test and stops them all after it, pass or fail. */
export function useBoards(target: BoardTarget): (options?: SmpClientOptions) => Promise<ConnectedBoard> {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });
  return async (options = {}) => {
    const started = await target.start();
    const exchanges: SmpExchange[] = [];
    const consoleText: string[] = [];
    let board: Board | null = null;
    stops.push(async () => {
      await board?.close();
      await started.stop();
    });
    board = await connectBoard(started.transport, {
      timeoutMs: 2000,
      ...options,
      onExchange: (exchange) => exchanges.push(exchange),
      onConsoleText: (text) => consoleText.push(new TextDecoder().decode(text)),
    });
    return { board, transport: started.transport, exchanges, consoleText };
  };
}

/** An echo string that makes the request packet (header + CBOR) exactly `size` bytes. */
export function echoTextForPacketSize(size: number): string {
  for (let length = size - SMP_HEADER_SIZE; length >= 0; length--) {
    const text = 'x'.repeat(length);
    if (SMP_HEADER_SIZE + encodeCbor({ d: text }).length === size) return text;
  }
  throw new RangeError(`no echo request is exactly ${size} bytes`);
}

/** Registers the shared checks in the current `describe`. */
export function boardContract(target: BoardTarget): void {
  const open = useBoards(target);
  const maxPacket = target.params.bufSize - 4;

  it('answers echo in SMP v1 with a v1 header', async () => {
    const { board, exchanges } = await open({ version: SMP_VERSION.V1 });
    expect(await board.os.echo('hello v1')).toEqual({ ok: true, value: 'hello v1' });
    const reply = exchanges.filter((exchange) => exchange.direction === 'rx').at(-1);
    expect(reply?.header.version).toBe(SMP_VERSION.V1);
    expect(board.client.version).toBe(SMP_VERSION.V1);
  });

  it('answers echo in SMP v2 with a v2 header', async () => {
    const { board, exchanges } = await open();
    expect(await board.os.echo('hello v2')).toEqual({ ok: true, value: 'hello v2' });
    const reply = exchanges.filter((exchange) => exchange.direction === 'rx').at(-1);
    expect(reply?.header.version).toBe(SMP_VERSION.V2);
    expect(board.client.version).toBe(SMP_VERSION.V2);
  });

  it(`reports MCUmgr params ${JSON.stringify(target.params)}, and connectBoard limits packets to bufSize - 4`, async () => {
    const { board } = await open();
    expect(board.params).toEqual(target.params);
    expect(await board.os.params()).toEqual({ ok: true, value: target.params });
    expect(board.client.maxPacketSize).toBe(maxPacket);
  });

  it('names Zephyr in OS info "a"', async () => {
    const { board } = await open();
    const info = await board.os.info('a');
    expect(info.ok && info.value).toContain('Zephyr');
  });

  it('lists threads in task statistics', async () => {
    const { board } = await open();
    const tasks = await board.os.taskStats();
    expect(tasks.ok).toBe(true);
    if (!tasks.ok) return;
    expect(tasks.value.length).toBeGreaterThan(0);
    for (const task of tasks.value) expect(task.name).not.toBe('');
  });

  it('reads the image slots as a list', async () => {
    const { board } = await open();
    const state = await board.image.state();
    expect(state.ok).toBe(true);
    expect(Array.isArray(state.ok && state.value)).toBe(true);
  });

  it('lists smp_svr_stats and shows it', async () => {
    const { board } = await open();
    const list = await board.stat.list();
    expect(list.ok && list.value).toContain('smp_svr_stats');
    const shown = await board.stat.show('smp_svr_stats');
    expect(shown.ok).toBe(true);
    if (shown.ok) for (const value of Object.values(shown.value)) expect(typeof value).toBe('number');
  });

  it('runs "kernel version" in the shell', async () => {
    const { board } = await open();
    const result = await board.shell.exec(['kernel', 'version']);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.output).toContain('3.4.99');
    expect(result.value.ret).toBe(0);
  });

  for (const [label, version] of [['v1', SMP_VERSION.V1], ['v2', SMP_VERSION.V2]] as const) {
    it(`answers an unknown group (100) with the legacy rc 8 form, asked in ${label}`, async () => {
      const { board } = await open({ version });
      const reply = await board.client.request({ group: 100, command: 0, op: 'read' });
      expect(reply.ok).toBe(false);
      if (reply.ok) return;
      expect(reply.error).toMatchObject({ code: 'mgmt', rc: 8 });
    });
  }

  describe('image state-set refusals', () => {
    const stateSet = (board: Board, payload: CborMap) => board.client.request({ group: MGMT_GROUP_ID.IMAGE, command: IMG_MGMT_ID.STATE, op: 'write', payload });
    const cases: [string, CborMap, { v1: number; v2: number }][] = [
      ['a 32-byte hash of no image', { hash: new Uint8Array(32).fill(0xee), confirm: false }, { v1: MGMT_ERR.EUNKNOWN, v2: IMG_MGMT_ERR.HASH_NOT_FOUND }],
      ['a hash that is not 32 bytes', { hash: new Uint8Array(4), confirm: false }, { v1: MGMT_ERR.EINVAL, v2: IMG_MGMT_ERR.INVALID_HASH }],
      ['test without a hash', { confirm: false }, { v1: MGMT_ERR.EINVAL, v2: IMG_MGMT_ERR.INVALID_HASH }],
    ];
    for (const [label, payload, rc] of cases) {
      it(`refuses ${label}: v2 (image, ${rc.v2}), v1 rc ${rc.v1}`, async () => {
        const v2 = await open();
        expect(await stateSet(v2.board, payload)).toMatchObject({ ok: false, error: { code: 'group', group: MGMT_GROUP_ID.IMAGE, rc: rc.v2 } });
        const v1 = await open({ version: SMP_VERSION.V1 });
        expect(await stateSet(v1.board, payload)).toMatchObject({ ok: false, error: { code: 'mgmt', rc: rc.v1 } });
      });
    }

    it('refuses a hash sent as text (not bytes) with rc 3 in v1 and v2', async () => {
      for (const version of [SMP_VERSION.V1, SMP_VERSION.V2]) {
        const { board } = await open({ version });
        expect(await stateSet(board, { hash: 'ee'.repeat(32), confirm: false })).toMatchObject({ ok: false, error: { code: 'mgmt', rc: MGMT_ERR.EINVAL } });
      }
    });
  });

  it(`takes a ${maxPacket}-byte packet; ${maxPacket + 1} bytes is refused before sending`, async () => {
    const { board, exchanges } = await open();
    const largest = echoTextForPacketSize(maxPacket);
    expect(await board.os.echo(largest)).toEqual({ ok: true, value: largest });
    const sentBefore = exchanges.filter((exchange) => exchange.direction === 'tx').length;
    const tooLarge = await board.os.echo(echoTextForPacketSize(maxPacket + 1));
    expect(tooLarge.ok).toBe(false);
    if (!tooLarge.ok) expect(tooLarge.error.code).toBe('too-large');
    expect(exchanges.filter((exchange) => exchange.direction === 'tx').length).toBe(sentBefore);
    expect(await board.os.echo('still here')).toEqual({ ok: true, value: 'still here' });
  });
}
