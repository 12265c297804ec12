/** Statistics and shell groups as typed APIs (small enough to share a file). */
import type { SmpClient } from '../smp/client';
import type { SmpError } from '../smp/errors';
import type { Result } from '../smp/result';
import { COMMANDS } from './commands';
import { type CallOptions, map, runCommand } from './run';

export class StatGroup {
  constructor(private readonly client: SmpClient) {}

  async list(options?: CallOptions): Promise<Result<string[], SmpError>> {
    return map(await runCommand(this.client, COMMANDS.statList, {}, options), (value) => (value.stat_list as unknown[]).filter((name): name is string => typeof name === 'string'));
  }

  async show(name: string, options?: CallOptions): Promise<Result<Record<string, number>, SmpError>> {
    return map(await runCommand(this.client, COMMANDS.statShow, { name }, options), (value) => value.fields as Record<string, number>);
  }
}

export class ShellGroup {
  constructor(private readonly client: SmpClient) {}

  /** Runs a shell command; `ret` is the command's own exit code (0 on success). */
  async exec(argv: string[], options?: CallOptions): Promise<Result<{ output: string; ret: number }, SmpError>> {
    return map(await runCommand(this.client, COMMANDS.shellExec, { argv }, options), (value) => ({
      output: typeof value.o === 'string' ? value.o : '',
      ret: typeof value.ret === 'number' ? value.ret : 0,
    }));
  }
}
