/**
 * Starts the real Zephyr SMP server (`zephyr.exe`, Zephyr's smp_svr sample built for native_sim;
 * see ../shared/peers/zephyr-smp/README.md) as a child process, for interop tests and the e2e bridge.
 *
 * Each instance gets fresh flash (`-flash_in_ram`) and its own pty. Instances never outlive us:
 * every one is tracked and killed when this process exits, and where util-linux `setpriv` exists
 * the kernel also kills it if we die without running exit handlers (parent-death signal).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ZephyrInstance {
  /** The board's serial port, e.g. /dev/pts/3. */
  pty: string;
  pid: number;
  process: ChildProcess;
  /** Kills the board (SIGKILL) and resolves once the process has exited (about a second). */
  stop(): Promise<void>;
  /** Everything the process printed so far (boot banner, logs), for failure messages. */
  output(): string;
}

export interface StartZephyrOptions {
  /** Path to zephyr.exe; default `findZephyrExe()`. */
  exe?: string;
  /** How long to wait for the pty line; default 5000 ms. */
  timeoutMs?: number;
  /** Command-line options of the board; default `['-flash_in_ram']` (e.g. `['-flash=FILE', '-seed=7']`). */
  args?: string[];
}

/** Relative to the repository root: the repo is cloned with `shared/` beside it. */
const DEFAULT_EXE = '../shared/peers/zephyr-smp/zephyr.exe';
const PTY_LINE = /uart connected to pseudotty: (\S+)/;
const DEFAULT_START_TIMEOUT_MS = 5000;
/** Output kept for messages; a long-running board logs forever. */
const MAX_OUTPUT_CHARS = 64 * 1024;
const SETPRIV = '/usr/bin/setpriv';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `$ZEPHYR_SMP_EXE`, else `../shared/peers/zephyr-smp/zephyr.exe` beside the repo; null when it is not there. */
export function findZephyrExe(): string | null {
  const candidate = process.env.ZEPHYR_SMP_EXE || path.resolve(REPO_ROOT, DEFAULT_EXE);
  try {
    fs.accessSync(candidate, fs.constants.X_OK);
    return candidate;
  } catch {
    return null;
  }
}

/** Where `findZephyrExe` looks, for skip messages. */
export function zephyrExeLocation(): string {
  return process.env.ZEPHYR_SMP_EXE || path.resolve(REPO_ROOT, DEFAULT_EXE);
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllSync(): void {
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  running.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only when nobody else handles the signal: then re-raise it so the default (exit) still happens.
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      killAllSync();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Starts one board and resolves once it names its pty.
 * @example const zephyr = await startZephyr(); const board = await connectBoard(await openSerialDevice(zephyr.pty)); ... await zephyr.stop();
 */
export async function startZephyr(options: StartZephyrOptions = {}): Promise<ZephyrInstance> {
  const exe = options.exe ?? findZephyrExe();
  if (!exe) throw new Error(`Zephyr board not found at ${zephyrExeLocation()}; set ZEPHYR_SMP_EXE`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  installExitHook();

  const boardArgs = options.args ?? ['-flash_in_ram'];
  const [command, args] = fs.existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', exe, ...boardArgs]] : [exe, boardArgs];
  // cwd in tmp: the board must not leave a flash.bin in the repo even if started without -flash_in_ram.
  const child = spawn(command, args, { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);

  const exited = new Promise<void>((resolve) => {
    const gone = () => {
      running.delete(child);
      resolve();
    };
    child.once('exit', gone);
    child.once('error', gone); // could not spawn: there will be no 'exit'
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await exited;
  };

  try {
    const pty = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => fail(`Zephyr board (${exe}) did not name its pty within ${timeoutMs} ms`), timeoutMs);
      const onData = () => {
        const match = PTY_LINE.exec(output);
        if (match) done(() => resolve(match[1]!));
      };
      const onExit = (code: number | null, signal: string | null) => fail(`Zephyr board (${exe}) exited (${signal ?? `status ${code}`}) before naming its pty`);
      const onError = (error: Error) => fail(`could not start the Zephyr board (${exe}): ${error.message}`);
      function done(settle: () => void) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
        settle();
      }
      function fail(message: string) {
        done(() => reject(new Error(output.trim() ? `${message}; it printed:\n${output.trim()}` : message)));
      }
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });
    return { pty, pid: child.pid!, process: child, stop, output: () => output };
  } catch (caught) {
    await stop();
    throw caught;
  }
}
