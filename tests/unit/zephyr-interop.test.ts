/**
 * Interop with the real thing: Zephyr's own smp_svr sample (native_sim build, see
 * ../shared/peers/zephyr-smp/README.md) over a pty, through openSerialDevice and connectBoard.
 * Each test starts its own board (-flash_in_ram: blank flash) and kills it afterwards.
 * Skipped, with the reason in the title, when zephyr.exe is not there.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectBoard } from '../../src/lib/device';
import { TransportFailure } from '../../src/lib/transport/types';
import { openSerialDevice } from '../../src/node/pty-transport';
import { findZephyrExe, startZephyr, zephyrExeLocation } from '../../src/node/zephyr';
import { type BoardTarget, boardContract, echoTextForPacketSize, useBoards } from './support/board-contract';

const exe = findZephyrExe();
const title = exe ? `Zephyr smp_svr (${exe}) over a pty` : `Zephyr board not found at ${zephyrExeLocation()}, set ZEPHYR_SMP_EXE`;

const zephyr: BoardTarget = {
  params: { bufSize: 1100, bufCount: 4 },
  async start() {
    const instance = await startZephyr({ exe: exe! });
    try {
      return { transport: await openSerialDevice(instance.pty), stop: () => instance.stop() };
    } catch (caught) {
      await instance.stop();
      throw caught;
    }
  },
};

/** The pty's open descriptors in this process, from /proc. */
function descriptorsFor(pty: string): string[] {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === pty;
    } catch {
      return false;
    }
  });
}

describe.skipIf(!exe)(title, () => {
  describe('the shared board checks', () => boardContract(zephyr));

  describe('what only Zephyr does', () => {
    const open = useBoards(zephyr);

    it('has no images on fresh -flash_in_ram flash', async () => {
      const { board } = await open();
      expect(await board.image.state()).toEqual({ ok: true, value: [] });
    });

    it('skips the shell prompt glued in front of the first frame', async () => {
      const framingErrors: string[] = [];
      const { board, consoleText } = await open({ onFramingError: (error) => framingErrors.push(error.code) });
      expect(await board.os.echo('after the prompt')).toEqual({ ok: true, value: 'after the prompt' });
      expect(consoleText.join('')).toContain('uart:~$ ');
      expect(framingErrors).toEqual([]);
    });

    it('drops a packet over 1096 bytes without a reply; the next request still works', async () => {
      const { board } = await open({ timeoutMs: 500 });
      board.client.maxPacketSize = undefined; // lift connectBoard's limit to see what the board does
      const dropped = await board.os.echo(echoTextForPacketSize(1097));
      expect(dropped.ok || dropped.error.code).toBe('timeout');
      expect(await board.os.echo('next')).toEqual({ ok: true, value: 'next' });
    });

    it('answers reset, then exits: the link reports lost and requests fail fast', async () => {
      const { board, transport } = await open();
      expect(await board.os.reset()).toEqual({ ok: true, value: undefined });
      const resetAt = performance.now();
      // Zephyr still answers for a moment (its reset waits ~250 ms); keep asking until a request fails.
      let failure: string | null = null;
      while (failure === null && performance.now() - resetAt < 3000) {
        const reply = await board.os.echo('are you there');
        if (!reply.ok) failure = reply.error.code;
      }
      expect(['disconnected', 'not-connected']).toContain(failure);
      expect(performance.now() - resetAt).toBeLessThan(1000);
      const info = await transport.disconnected;
      expect(info.reason).toBe('lost');
      expect(info.message).toMatch(/closed the port/);
      await expect(transport.send(Uint8Array.of(0x0a))).rejects.toMatchObject({ name: 'TransportFailure', code: 'not-connected' });
    });
  });

  describe('openSerialDevice', () => {
    it('close() settles promptly as "closed" and releases every descriptor of the pty', async () => {
      const instance = await startZephyr({ exe: exe! });
      try {
        const transport = await openSerialDevice(instance.pty);
        expect(descriptorsFor(instance.pty).length).toBeGreaterThan(0);
        const board = await connectBoard(transport);
        expect(await board.os.echo('hi')).toEqual({ ok: true, value: 'hi' });
        const started = performance.now();
        await board.close();
        expect(performance.now() - started).toBeLessThan(1000);
        expect(await transport.disconnected).toMatchObject({ reason: 'closed' });
        expect(transport.isConnected).toBe(false);
        expect(descriptorsFor(instance.pty)).toEqual([]);
        const sent = transport.send(Uint8Array.of(0x0a));
        await expect(sent).rejects.toBeInstanceOf(TransportFailure);
        await expect(sent).rejects.toMatchObject({ code: 'not-connected' });
        expect(await board.os.echo('hi')).toMatchObject({ ok: false, error: { code: 'not-connected' } });
      } finally {
        await instance.stop();
      }
    });

    it('releases the pty when the board exits under it', async () => {
      const instance = await startZephyr({ exe: exe! });
      try {
        const transport = await openSerialDevice(instance.pty);
        await instance.stop();
        expect(await transport.disconnected).toMatchObject({ reason: 'lost' });
        await transport.close();
        expect(descriptorsFor(instance.pty)).toEqual([]);
      } finally {
        await instance.stop();
      }
    });
  });
});

describe('openSerialDevice without a board', () => {
  it('refuses a path that does not exist', async () => {
    await expect(openSerialDevice('/dev/imprint-no-such-port')).rejects.toMatchObject({ code: 'open-failed', message: expect.stringContaining('/dev/imprint-no-such-port') });
  });

  it('refuses a file that is not a terminal', async () => {
    await expect(openSerialDevice('/dev/null')).rejects.toMatchObject({ code: 'open-failed', message: expect.stringContaining('not a serial device') });
  });
});

describe('startZephyr', () => {
  it('rejects with the reason when the program exits before naming its pty', async () => {
    await expect(startZephyr({ exe: '/bin/false' })).rejects.toThrow(/exited .* before naming its pty/);
  });

  it('rejects on timeout when nothing names a pty, and leaves no process behind', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imprint-zephyr-'));
    const silent = path.join(dir, 'silent-board.sh');
    fs.writeFileSync(silent, '#!/bin/sh\nsleep 30\n', { mode: 0o755 });
    try {
      await expect(startZephyr({ exe: silent, timeoutMs: 300 })).rejects.toThrow(/did not name its pty within 300 ms/);
      expect(() => execFileSync('pgrep', ['-f', silent])).toThrow(); // pgrep exits 1: no such process
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
