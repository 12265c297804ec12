/** The OS management group as a typed API. */
import { type CborMap, isCborMap } from '../smp/cbor';
import type { SmpClient } from '../smp/client';
import type { SmpError } from '../smp/errors';
import { type Result, ok } from '../smp/result';
import { COMMANDS } from './commands';
import { type CallOptions, map, runCommand } from './run';

export interface McumgrParams {
  bufSize: number;
  bufCount: number;
}

export interface TaskStat {
  name: string;
  prio: number;
  state: number;
  stackUsed: number;
  stackSize: number;
  contextSwitches: number;
  runtime: number;
}

export interface MemoryPoolStat {
  name: string;
  blockSize: number;
  blocks: number;
  free: number;
  minFree: number;
}

export class OsGroup {
  constructor(private readonly client: SmpClient) {}

  /** @example await board.os.echo('hi') // { ok: true, value: 'hi' } */
  async echo(text: string, options?: CallOptions): Promise<Result<string, SmpError>> {
    return map(await runCommand(this.client, COMMANDS.echo, { d: text }, options), (value) => value.r as string);
  }

  async params(options?: CallOptions): Promise<Result<McumgrParams, SmpError>> {
    return map(await runCommand(this.client, COMMANDS.params, {}, options), (value) => ({ bufSize: value.buf_size as number, bufCount: value.buf_count as number }));
  }

  /** `format` letters as `uname`: s kernel, n node, r release, v version, b build date, m machine, p processor, i platform, o OS; a = all. */
  async info(format = 'a', options?: CallOptions): Promise<Result<string, SmpError>> {
    return map(await runCommand(this.client, COMMANDS.info, { format }, options), (value) => value.output as string);
  }

  async taskStats(options?: CallOptions): Promise<Result<TaskStat[], SmpError>> {
    return map(await runCommand(this.client, COMMANDS.taskStats, {}, options), (value) =>
      Object.entries(value.tasks as CborMap).map(([name, raw]) => {
        const task = isCborMap(raw) ? raw : {};
        return {
          name,
          prio: num(task.prio),
          state: num(task.state),
          stackUsed: num(task.stkuse),
          stackSize: num(task.stksiz),
          contextSwitches: num(task.cswcnt),
          runtime: num(task.runtime),
        };
      }),
    );
  }

  async memoryPoolStats(options?: CallOptions): Promise<Result<MemoryPoolStat[], SmpError>> {
    return map(await runCommand(this.client, COMMANDS.memoryPoolStats, {}, options), (value) =>
      Object.entries(value.pools as CborMap).map(([name, raw]) => {
        const pool = isCborMap(raw) ? raw : {};
        return { name, blockSize: num(pool.blksiz), blocks: num(pool.nblks), free: num(pool.nfree), minFree: num(pool.min) };
      }),
    );
  }

  async readDateTime(options?: CallOptions): Promise<Result<string, SmpError>> {
    return map(await runCommand(this.client, COMMANDS.readDateTime, {}, options), (value) => value.datetime as string);
  }

  /** Zephyr takes RFC 3339 without fractions; we send the UTC time that way. */
  async writeDateTime(date: Date, options?: CallOptions): Promise<Result<void, SmpError>> {
    const datetime = date.toISOString().replace(/\.\d+Z$/, '');
    return map(await runCommand(this.client, COMMANDS.writeDateTime, { datetime }, options), () => undefined);
  }

  /** The board answers, then reboots: on a serial link expect the boot banner, on Zephyr's native_sim a disconnect. */
  async reset(force = false, options?: CallOptions): Promise<Result<void, SmpError>> {
    return map(await runCommand(this.client, COMMANDS.reset, force ? { force: true } : {}, options), () => undefined);
  }

  async bootloaderInfo(options?: CallOptions): Promise<Result<{ bootloader: string; mode?: number }, SmpError>> {
    const name = await runCommand(this.client, COMMANDS.bootloaderInfo, {}, options);
    if (!name.ok) return name;
    const bootloader = typeof name.value.bootloader === 'string' ? name.value.bootloader : 'unknown';
    if (bootloader !== 'MCUboot') return ok({ bootloader });
    const mode = await runCommand(this.client, COMMANDS.bootloaderInfo, { query: 'mode' }, options);
    return ok({ bootloader, mode: mode.ok && typeof mode.value.mode === 'number' ? mode.value.mode : undefined });
  }
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : 0;
}
