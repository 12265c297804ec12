/**
 * The `npm run smp` command line, run as a child process the way people run it: against the
 * built-in simulated board, and against Zephyr's smp_svr over a pty when zephyr.exe is there.
 * Checks the exact stdout, the exit status, the typed error on stderr, and that it exits promptly.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/lib/device';
import { findZephyrExe, startZephyr, type ZephyrInstance, zephyrExeLocation } from '../../src/node/zephyr';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'src/node/cli/smp.ts');
/**
 * Node start-up with tsx is most of it. A CLI held open by a stray handle is also caught by stderr:
 * it says so on stderr when its 2 s exit guard fires.
 */
const PROMPT_EXIT_MS = 5000;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

function smp(...args: string[]): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, timeout: 20000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe('smp CLI against --port sim', () => {
  it('os echo prints exactly {"r":"hi"} and exits 0 promptly', async () => {
    const run = await smp('--port', 'sim', 'os', 'echo', '{"d":"hi"}');
    expect(run).toMatchObject({ code: 0, stdout: '{"r":"hi"}\n', stderr: '' });
    expect(run.ms).toBeLessThan(PROMPT_EXIT_MS);
  });

  it('speaks v1 with --v1', async () => {
    expect(await smp('--port', 'sim', '--v1', 'os', 'echo', '{"d":"v1"}')).toMatchObject({ code: 0, stdout: '{"r":"v1"}\n' });
  });

  it('os params prints buf_size and buf_count', async () => {
    const run = await smp('--port', 'sim', 'os', 'params');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ buf_size: 2048, buf_count: 4 });
  });

  it('os info prints the OS name', async () => {
    const run = await smp('--port', 'sim', 'os', 'info');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ output: 'Zephyr' });
  });

  it('image state prints hashes as lowercase hex', async () => {
    const run = await smp('--port', 'sim', 'image', 'state');
    expect(run.code).toBe(0);
    const state = JSON.parse(run.stdout) as { images: { slot: number; hash: string }[] };
    expect(state.images.map((image) => image.slot)).toEqual([0, 1]);
    for (const image of state.images) expect(image.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('image state-set takes the hash as hex and reports a board error as JSON on stderr, exit 1', async () => {
    const run = await smp('--port', 'sim', 'image', 'state-set', JSON.stringify({ hash: 'ee'.repeat(32), confirm: false }));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toEqual({ code: 'group', rc: 8, group: 1, message: 'image/state: image error 8 (hash not found)' });
  });

  it('os reset prints {} and exits 0 promptly', async () => {
    const run = await smp('--port', 'sim', 'os', 'reset');
    expect(run).toMatchObject({ code: 0, stdout: '{}\n', stderr: '' });
    expect(run.ms).toBeLessThan(PROMPT_EXIT_MS);
  });

  it('a port that does not exist is a typed error (open-failed), exit 1', async () => {
    const run = await smp('--port', '/dev/imprint-no-such-port', 'os', 'echo', '{"d":"hi"}');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stderr)).toMatchObject({ code: 'open-failed' });
  });

  it.each([
    ['an unknown command', ['--port', 'sim', 'os', 'nope'], /unknown command "os nope"/],
    ['no --port', ['os', 'echo'], /--port is required/],
    ['JSON that does not parse', ['--port', 'sim', 'os', 'echo', '{"d":'], /not valid JSON/],
    ['a hash that is not hex', ['--port', 'sim', 'image', 'state-set', '{"hash":"zz"}'], /"hash" must be a hex string/],
    ['a bad --timeout', ['--port', 'sim', '--timeout', 'soon', 'os', 'echo'], /--timeout must be a positive number/],
    ['an unknown option', ['--port', 'sim', '--fast', 'os', 'echo'], /unknown option --fast/],
  ])('%s exits 2 with the usage line', async (_label, args, reason) => {
    const run = await smp(...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^usage: npm run -s smp -- --port/);
    expect(run.stderr).toMatch(reason);
  });

  it('--help lists every command in the table with its summary and example', async () => {
    const run = await smp('--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}os echo +echo a string back +'\{"d":"hi"\}'$/m);
    for (const spec of Object.values(COMMANDS)) {
      expect(run.stdout).toContain(`${spec.groupName} ${spec.name}`);
      expect(run.stdout).toContain(spec.summary);
      if (spec.example) expect(run.stdout).toContain(`'${spec.example}'`);
    }
  });
});

const exe = findZephyrExe();
const title = exe ? `smp CLI against Zephyr smp_svr (${exe})` : `smp CLI against Zephyr: board not found at ${zephyrExeLocation()}, set ZEPHYR_SMP_EXE`;

describe.skipIf(!exe)(title, () => {
  let zephyr: ZephyrInstance | null = null;
  afterEach(async () => {
    await zephyr?.stop();
    zephyr = null;
  });
  const start = async () => (zephyr = await startZephyr({ exe: exe! }));

  it('os echo prints exactly {"r":"hi"}, in v2 and v1', async () => {
    const { pty } = await start();
    expect(await smp('--port', pty, 'os', 'echo', '{"d":"hi"}')).toMatchObject({ code: 0, stdout: '{"r":"hi"}\n', stderr: '' });
    expect(await smp('--port', pty, '--v1', 'os', 'echo', '{"d":"hi"}')).toMatchObject({ code: 0, stdout: '{"r":"hi"}\n', stderr: '' });
  });

  it('os params prints {"buf_size":1100,"buf_count":4}', async () => {
    const { pty } = await start();
    expect(await smp('--port', pty, 'os', 'params')).toMatchObject({ code: 0, stdout: '{"buf_size":1100,"buf_count":4}\n' });
  });

  it('image state prints no images on fresh flash', async () => {
    const { pty } = await start();
    expect(await smp('--port', pty, 'image', 'state')).toMatchObject({ code: 0, stdout: '{"images":[],"splitStatus":0}\n' });
  });

  it('os reset prints {} and exits 0; then the board process exits', async () => {
    const instance = await start();
    const run = await smp('--port', instance.pty, 'os', 'reset');
    expect(run).toMatchObject({ code: 0, stdout: '{}\n', stderr: '' });
    expect(run.ms).toBeLessThan(PROMPT_EXIT_MS);
    await new Promise<void>((resolve) => (instance.process.exitCode !== null ? resolve() : instance.process.once('exit', () => resolve())));
    expect(instance.output()).toContain('sys_arch_reboot');
  });
});
