/**
 * The command line's image verbs as people run them: `image upload FILE` against the simulated
 * board and against Zephyr (which then lists the image in slot 1 with our TLV hash), and files
 * that are not images refused before anything is sent.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMcubootImage, parseMcubootImage } from '../../src/lib/device/mcuboot-image';
import { findZephyrExe, startZephyr, type ZephyrInstance, zephyrExeLocation } from '../../src/node/zephyr';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'src/node/cli/smp.ts');
const dir = mkdtempSync(path.join(tmpdir(), 'imprint-cli-image-'));

function smp(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, timeout: 30000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

function writeImage(name: string, bodyBytes: number): { file: string; hash: string } {
  const body = new Uint8Array(bodyBytes).map((_, i) => (i * 13) & 0xff);
  const image = buildMcubootImage({ version: { major: 2, minor: 0, revision: 1, build: 7 }, body });
  const file = path.join(dir, name);
  writeFileSync(file, image);
  const info = parseMcubootImage(image);
  if (!info.ok) throw new Error(info.error.message);
  return { file, hash: info.value.hashHex };
}

describe('smp CLI image verbs against --port sim', () => {
  it('uploads an image: JSON summary on stdout, progress on stderr', async () => {
    const { file, hash } = writeImage('sim.bin', 20000);
    const run = await smp('--port', 'sim', 'image', 'upload', file, '--window', '2');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary).toMatchObject({ bytes: 20000 + 0x200 + 40, version: '2.0.1.7', imageHash: hash, resumedFrom: 0 });
    expect(summary.bytesPerSecond).toBeGreaterThan(0);
    expect(summary.sha).toMatch(/^[0-9a-f]{64}$/);
    expect(run.stderr).toContain('upload 100.0%');
  });

  it('refuses a file that is not an MCUboot image, naming the problem', async () => {
    const file = path.join(dir, 'notes.txt');
    writeFileSync(file, 'these are not the bytes you are looking for');
    const run = await smp('--port', 'sim', 'image', 'upload', file);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stderr.trim().split('\n').pop()!)).toMatchObject({ code: 'image-bad-magic' });
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await smp('--port', 'sim', 'image', 'upload')).code).toBe(2);
    expect((await smp('--port', 'sim', 'image', 'test', 'xyz')).code).toBe(2);
    expect((await smp('--port', 'sim', 'image', 'upload', 'a.bin', '--slot', '2')).code).toBe(2);
  });

  it('image confirm without a hash confirms the running image', async () => {
    const run = await smp('--port', 'sim', 'image', 'confirm');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)[0]).toMatchObject({ slot: 0, active: true, confirmed: true });
  });
});

const zephyrExe = findZephyrExe();
describe.skipIf(!zephyrExe)(zephyrExe ? 'smp CLI image verbs against Zephyr' : `smp CLI image verbs against Zephyr: skipped, Zephyr board not found at ${zephyrExeLocation()}, set ZEPHYR_SMP_EXE`, () => {
  let zephyr: ZephyrInstance | null = null;
  afterEach(async () => {
    await zephyr?.stop();
    zephyr = null;
  });

  it('uploads a 64 KiB image that Zephyr then lists in slot 1 with its TLV hash, and marks it for test', async () => {
    zephyr = await startZephyr();
    const { file, hash } = writeImage('zephyr.bin', 64 * 1024);
    const upload = await smp('--port', zephyr.pty, 'image', 'upload', file);
    expect(upload.code).toBe(0);
    expect(JSON.parse(upload.stdout)).toMatchObject({ imageHash: hash, version: '2.0.1.7' });
    const state = await smp('--port', zephyr.pty, 'image', 'state');
    expect(JSON.parse(state.stdout).images).toEqual([expect.objectContaining({ slot: 1, version: '2.0.1.7', hash, bootable: true, pending: false })]);
    const test = await smp('--port', zephyr.pty, 'image', 'test', hash);
    expect(test.code).toBe(0);
    expect(JSON.parse(test.stdout)).toEqual([expect.objectContaining({ slot: 1, hash, pending: true })]);
  });
});
