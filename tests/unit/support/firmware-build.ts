/**
 * Builds (or finds up to date) the reference firmware with scripts/firmware-build.sh, for tests
 * that run it: the path of zephyr.exe, or why there is none (for a skip message).
 * `IMPRINT_FIRMWARE_EXE` names a ready executable instead.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Async, so a first build (about 30 s) does not block the worker while a test file is collected. */
export async function buildFirmware(timeoutMs = 10 * 60_000): Promise<{ exe: string } | { reason: string }> {
  if (process.env.IMPRINT_FIRMWARE_EXE) return { exe: process.env.IMPRINT_FIRMWARE_EXE };
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string; error?: Error }>((resolve) => {
    const child = spawn('bash', [path.join(ROOT, 'scripts/firmware-build.sh')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => (clearTimeout(timer), resolve({ code: null, stdout, stderr, error })));
    child.once('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
  const last = run.stdout.trim().split('\n').at(-1) ?? '';
  if (run.code === 0 && last.endsWith('zephyr.exe')) return { exe: last };
  const why = run.stderr.trim().split('\n').filter(Boolean).at(-1) ?? run.error?.message ?? `exit status ${run.code}`;
  return { reason: why };
}
