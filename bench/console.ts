/**
 * `console-verify`: messages per second through the verification console's whole path in
 * Chromium — mosquitto (websockets) → mqtt.js → COSE_Sign1 verify (WebCrypto ES256) → replay
 * window → IndexedDB with strict durability (group commit) → the page's counters. The built app,
 * a real broker, a provisioned simulated board's signed telemetry published from Node in one
 * burst; the clock runs from the first publish to the page showing every message accepted.
 * Target: at least 1,000 messages per second.
 *
 *   npm run bench -- console-verify      (builds the app first when build/ is missing)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from '@playwright/test';
import { findMosquitto, startMosquitto } from '../src/node/mosquitto';
import { provisionSimulatedBoard, signRange, TelemetryPublisher, telemetryTopic } from '../src/node/telemetry-publisher';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
const TARGET = 1000;
const WARM_UP = 200;

export interface ConsoleBenchResult {
  scenario: 'console-verify';
  transport: string;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
  /** Messages per strict IndexedDB transaction, as the page reported it (group commit). */
  messagesPerTransaction: number | null;
  target: string;
  met?: boolean;
  skipped?: string;
}

export async function measureConsoleVerify(messages = 5000): Promise<ConsoleBenchResult> {
  const base = { scenario: 'console-verify' as const, transport: 'mosquitto websockets, Chromium, IndexedDB strict', messages, target: `>= ${TARGET} messages/s` };
  if (!findMosquitto()) return { ...base, seconds: 0, messagesPerSecond: 0, messagesPerTransaction: null, skipped: 'mosquitto is not installed (apt-get install -y mosquitto)' };
  if (!existsSync('build/index.html')) execFileSync('npx', ['vite', 'build'], { stdio: 'ignore' });
  const broker = await startMosquitto();
  const board = await provisionSimulatedBoard({ serialNumber: 'SIM-BENCH-1' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-console-bench-'));
  writeFileSync(path.join(dir, 'chain.pem'), board.chainPem);
  writeFileSync(path.join(dir, 'root.pem'), board.rootPem);
  const port = 4300 + Math.floor(Math.random() * 500);
  const server = spawn(process.execPath, ['scripts/serve.js', 'build'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const publisher = await TelemetryPublisher.connect(broker.tcpUrl);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.stdout!.on('data', (chunk: Buffer) => {
        const match = /http:\/\/localhost:(\d+)/.exec(chunk.toString());
        if (match) resolve(`http://localhost:${match[1]}`);
      });
      server.once('exit', () => reject(new Error('the static server exited')));
    });
    const warmUp = await signRange(board, 1n, WARM_UP);
    const burst = await signRange(board, BigInt(WARM_UP + 1), messages);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${url}/console`);
    await page.getByLabel('Broker URL').fill(broker.wsUrl);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.getByTestId('console-status').filter({ hasText: 'Connected' }).waitFor();
    await page.getByLabel('Choose chain…').setInputFiles(path.join(dir, 'chain.pem'));
    await page.getByLabel('Choose root…').setInputFiles(path.join(dir, 'root.pem'));
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByTestId('console-registered').waitFor();
    const accepted = async () => Number((await page.getByTestId('console-accepted').textContent()) ?? 0);
    const until = async (count: number) => {
      const deadline = Date.now() + 120_000;
      while ((await accepted()) < count) {
        if (Date.now() > deadline) throw new Error(`console-verify: only ${await accepted()} of ${count} accepted`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const topic = telemetryTopic(board.deviceId);
    await publisher.publish(topic, warmUp);
    await until(WARM_UP);
    const started = performance.now();
    await publisher.publish(topic, burst);
    await until(WARM_UP + messages);
    const seconds = (performance.now() - started) / 1000;
    const refused = Number((await page.getByTestId('console-refused').textContent()) ?? 0);
    if (refused !== 0) throw new Error(`console-verify: ${refused} messages refused`);
    const batch = /about (\d+) message/.exec((await page.locator('p.foot').textContent()) ?? '');
    const messagesPerSecond = Math.round(messages / seconds);
    return { ...base, seconds: Math.round(seconds * 1000) / 1000, messagesPerSecond, messagesPerTransaction: batch ? Number(batch[1]) : null, met: messagesPerSecond >= TARGET };
  } finally {
    await publisher.close();
    await browser.close();
    server.kill();
    await board.close();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
