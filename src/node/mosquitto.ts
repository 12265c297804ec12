/**
 * A real MQTT broker for tests and the benchmark: Debian's mosquitto, started on free local
 * ports (a websockets listener for the browser, a plain TCP one for Node) from a temporary
 * configuration, and stopped by its pid. `findMosquitto()` says why not when it is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const CANDIDATES = [process.env.MOSQUITTO_PATH, '/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

export interface Mosquitto {
  pid: number;
  /** `ws://127.0.0.1:PORT` */
  wsUrl: string;
  /** `mqtt://127.0.0.1:PORT` */
  tcpUrl: string;
  stop(): Promise<void>;
  /** The broker's log so far (for a failing test's message). */
  log(): string;
}

/** The mosquitto binary, or null (install: `apt-get install -y mosquitto`). */
export function findMosquitto(): string | null {
  return CANDIDATES.find((candidate): candidate is string => !!candidate && existsSync(candidate)) ?? null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * @example const broker = await startMosquitto(); try { … broker.wsUrl … } finally { await broker.stop(); }
 */
export async function startMosquitto(): Promise<Mosquitto> {
  const binary = findMosquitto();
  if (!binary) throw new Error('mosquitto is not installed (apt-get install -y mosquitto)');
  const [tcpPort, wsPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-mosquitto-'));
  const config = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      'persistence false',
      'allow_anonymous true',
      // The tests publish thousands of QoS 1 messages in a burst: no per-client queue limit.
      'max_queued_messages 0',
      'max_inflight_messages 0',
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      `listener ${tcpPort} 127.0.0.1`,
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(binary, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    await waitForPort(tcpPort, child, () => output);
    await waitForPort(wsPort, child, () => output);
  } catch (caught) {
    child.kill('SIGTERM');
    cleanup();
    throw caught;
  }
  return {
    pid: child.pid!,
    wsUrl: `ws://127.0.0.1:${wsPort}`,
    tcpUrl: `mqtt://127.0.0.1:${tcpPort}`,
    log: () => output,
    async stop() {
      if (child.exitCode === null) process.kill(child.pid!, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
      cleanup();
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`mosquitto did not listen on ${port}: ${output()}`);
}
