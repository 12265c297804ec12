/**
 * The built app on a static server of the test's own (scripts/serve.js), for tests that take the
 * network away by stopping it, or that change what it serves: it serves whatever directory
 * `root` points to, so `switchTo` puts another build behind the same origin (and service worker scope).
 * `buildAppVersion` makes that other build: the same source as version `+hash`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect } from './fixtures';

export interface OwnServer {
  url: string;
  /** From now on, serves `dir` instead. */
  switchTo(dir: string): void;
  stop(): void;
}

export async function startOwnServer(dir = 'build'): Promise<OwnServer> {
  const home = mkdtempSync(path.join(tmpdir(), 'imprint-serve-'));
  const root = path.join(home, 'site');
  // A new link renamed over the old one: no request ever finds the root missing.
  const point = (target: string) => {
    symlinkSync(path.resolve(target), `${root}.next`);
    renameSync(`${root}.next`, root);
  };
  point(dir);
  const server = spawn(process.execPath, ['scripts/serve.js', root], { env: { ...process.env, PORT: String(4600 + Math.floor(Math.random() * 300)) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    server.stdout!.on('data', (chunk: Buffer) => {
      const match = /http:\/\/localhost:\d+/.exec(chunk.toString());
      if (match) resolve(match[0]);
    });
    server.once('exit', () => reject(new Error('the static server exited')));
  });
  return {
    url,
    switchTo: point,
    stop: () => {
      server.kill('SIGKILL');
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `url` and reloads it once the service worker is active (it has precached the whole app):
 * the page is then under its control, as on an operator's second visit.
 */
export async function openUnderServiceWorker(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.reload();
  expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
}

/** Builds the app as version `<package version>+<hash>` into a new directory (about 7 s); the caller removes it. */
export function buildAppVersion(hash: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'imprint-build-'));
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'error'], { env: { ...process.env, IMPRINT_BUILD_HASH: hash, IMPRINT_BUILD_DIR: dir }, stdio: 'pipe' });
  return dir;
}
