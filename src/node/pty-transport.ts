/**
 * A Transport over a serial device or pseudo-terminal path, for Node (the command line, the e2e
 * bridge, the Zephyr interop tests). Never imported by the browser bundle.
 *
 * Recipe measured against Zephyr's native_sim board (see docs/testing.md): put the line in raw mode
 * with `stty raw -echo` (no echo, no CR/LF translation), open it without making it our controlling
 * terminal, and read and write through `tty.ReadStream` / `tty.WriteStream`, which use libuv's
 * non-blocking tty handles (a plain `fs` stream would park a thread-pool thread in `read()`).
 * When the board's side goes away (Zephyr's process exits after a reset) reads fail with EIO, which
 * Node reports as end of input: a disconnect with reason `lost`, not a crash. A path that is not a
 * terminal is refused at open: the tty streams need one, and nothing else here behaves like a port.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import tty from 'node:tty';
import { AsyncQueue } from '../lib/transport/queue';
import { type DisconnectInfo, type Transport, TransportFailure } from '../lib/transport/types';

export interface SerialDeviceOptions {
  /** What messages call this port; default "serial port <path>". */
  description?: string;
}

/** How long `close()` waits for the streams to report closed before it releases the fd anyway. */
const CLOSE_WAIT_MS = 1000;

/**
 * Opens a serial device or pty and returns it as a console-framed Transport.
 * @example const board = await connectBoard(await openSerialDevice('/dev/pts/3'));
 */
export async function openSerialDevice(path: string, options: SerialDeviceOptions = {}): Promise<Transport> {
  const description = options.description ?? `serial port ${path}`;
  let fd: number;
  try {
    // O_NOCTTY: a session leader opening a pty must not adopt it as its terminal (SIGHUP when it closes).
    fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  } catch (caught) {
    throw new TransportFailure({ code: 'open-failed', message: `could not open ${path}: ${errorText(caught)}` });
  }
  if (!tty.isatty(fd)) {
    fs.closeSync(fd);
    throw new TransportFailure({ code: 'open-failed', message: `${path} is not a serial device or pseudo-terminal` });
  }
  try {
    execFileSync('stty', ['-F', path, 'raw', '-echo'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (caught) {
    fs.closeSync(fd);
    const stderr = (caught as { stderr?: Buffer }).stderr?.toString().trim();
    throw new TransportFailure({ code: 'open-failed', message: `could not put ${path} in raw mode: ${stderr || errorText(caught)}` });
  }
  try {
    return new SerialDeviceTransport(fd, description);
  } catch (caught) {
    fs.closeSync(fd);
    throw new TransportFailure({ code: 'open-failed', message: `could not open ${path} as a terminal: ${errorText(caught)}` });
  }
}

class SerialDeviceTransport implements Transport {
  readonly framing = 'console' as const;
  readonly disconnected: Promise<DisconnectInfo>;
  private readonly incoming = new AsyncQueue<Uint8Array>();
  private readonly input: tty.ReadStream;
  private readonly output: tty.WriteStream;
  private readonly rdev: number;
  private connected = true;
  private released: Promise<void> | null = null;
  private resolveDisconnected!: (info: DisconnectInfo) => void;

  constructor(
    private readonly fd: number,
    readonly description: string,
  ) {
    this.disconnected = new Promise((resolve) => (this.resolveDisconnected = resolve));
    this.rdev = fs.fstatSync(fd).rdev;
    // libuv reopens a tty by name for each handle, so each stream holds its own descriptor and `fd` stays ours.
    this.input = new tty.ReadStream(fd);
    this.output = new tty.WriteStream(fd);
    this.input.on('data', (chunk: Buffer) => this.incoming.push(new Uint8Array(chunk)));
    this.input.on('error', (error: NodeJS.ErrnoException) => this.lose(error));
    this.input.on('end', () => this.lose('end'));
    this.input.on('close', () => this.lose('close'));
    this.output.on('error', (error: NodeJS.ErrnoException) => this.lose(error));
  }

  get isConnected(): boolean {
    return this.connected;
  }

  send(bytes: Uint8Array): Promise<void> {
    if (!this.connected) return Promise.reject(new TransportFailure({ code: 'not-connected', message: `${this.description} is not connected` }));
    return new Promise((resolve, reject) => {
      this.output.write(bytes, (error) => {
        if (error) reject(new TransportFailure({ code: 'write-failed', message: `${this.description}: write failed (${error.message})` }));
        else resolve();
      });
    });
  }

  receive(): AsyncIterableIterator<Uint8Array> {
    return this.incoming;
  }

  async close(): Promise<void> {
    this.end({ reason: 'closed', message: `${this.description} closed` });
    await this.released;
  }

  /**
   * The other side went away or the platform failed. A pty whose board exits reports EIO, which
   * libuv turns into end of input; a real adapter pulled out reports EIO or ENXIO as an error.
   */
  private lose(cause: 'end' | 'close' | NodeJS.ErrnoException): void {
    if (!this.connected) return;
    if (cause === 'end') return this.end({ reason: 'lost', message: `${this.description}: the board closed the port (end of input)` });
    if (cause === 'close') return this.end({ reason: 'lost', message: `${this.description}: the port was closed under us` });
    if (cause.code === 'EIO' || cause.code === 'ENXIO') return this.end({ reason: 'lost', message: `${this.description}: the board closed the port (${cause.code})` });
    this.end({ reason: 'error', message: `${this.description}: ${cause.message}` });
  }

  private end(info: DisconnectInfo): void {
    if (!this.connected) return;
    this.connected = false;
    this.incoming.end();
    this.resolveDisconnected(info);
    this.released = this.release();
  }

  /** Destroys both streams, then closes our descriptor: no fd outlives the transport. */
  private async release(): Promise<void> {
    const closed = (stream: tty.ReadStream | tty.WriteStream) =>
      stream.closed ? Promise.resolve() : new Promise<void>((resolve) => stream.once('close', () => resolve()));
    const both = Promise.all([closed(this.input), closed(this.output)]);
    this.input.destroy();
    this.output.destroy();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([both, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    try {
      // Only when the number still names our device: had libuv used `fd` itself, it is already closed.
      if (fs.fstatSync(this.fd).rdev === this.rdev) fs.closeSync(this.fd);
    } catch {
      // Already closed.
    }
  }
}

function errorText(caught: unknown): string {
  return caught instanceof Error ? caught.message : String(caught);
}
