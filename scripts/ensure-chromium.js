#!/usr/bin/env node
// Make sure a system Chromium exists for Playwright (never a downloaded browser).
// Looks at $CHROMIUM_PATH, else /usr/bin/chromium; as root with apt-get, installs Debian's `chromium`.
// Prints the path found; exits 1 with instructions otherwise.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const candidate = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function fail(/** @type {string} */ msg) {
  console.error(`ensure-chromium: ${msg}`);
  console.error('Install it with `sudo apt-get install chromium`, or set CHROMIUM_PATH to a Chromium binary.');
  process.exit(1);
}

if (existsSync(candidate)) {
  console.log(candidate);
  process.exit(0);
}

if (process.env.CHROMIUM_PATH) fail(`CHROMIUM_PATH=${candidate} does not exist.`);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (!isRoot || !hasApt) fail(`Chromium not found at ${candidate}.`);

console.error(`ensure-chromium: ${candidate} missing; installing Debian's chromium package...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [['update'], ['install', '-y', 'chromium']]) {
  const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (r.status !== 0) fail(`\`apt-get ${args.join(' ')}\` failed (status ${r.status}).`);
}
if (!existsSync(candidate)) fail(`apt-get finished but ${candidate} is still missing.`);
console.log(candidate);
