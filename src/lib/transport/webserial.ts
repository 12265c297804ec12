/**
 * WebSerial transport: the port chooser, a 64 KiB receive buffer, a read loop feeding
 * `receive()`, a clean close, and the platform's `disconnect` event turned into 'lost'.
 */
import { AsyncQueue } from './queue';
import { type DisconnectInfo, type Transport, type TransportError, TransportFailure } from './types';

export const DEFAULT_BAUD_RATE = 115200;
/** Large enough for a whole burst of pipelined responses without the browser dropping bytes. */
export const RECEIVE_BUFFER_SIZE = 64 * 1024;

export interface WebSerialOptions {
  baudRate?: number;
  /** USB vendor/product filters for the chooser. */
  filters?: SerialPortFilter[];
  /** Where the platform reports this port unplugged; default `navigator.serial` (WebUSB ports use `navigator.usb`). */
  disconnectEvents?: { target: EventTarget; isThisPort: (event: Event) => boolean };
  /** Overrides the description in messages, e.g. "USB CDC-ACM 2fe3:0100". */
  description?: string;
}

export function isWebSerialSupported(): boolean {
  return typeof navigator !== 'undefined' && 'serial' in navigator && !!navigator.serial;
}

/** Ports this origin was granted before: offered again without the chooser. */
export async function grantedSerialPorts(): Promise<SerialPort[]> {
  if (!isWebSerialSupported()) return [];
  return navigator.serial.getPorts();
}

/** A label for a port: USB ids when the platform gives them. */
export function describeSerialPort(port: SerialPort): string {
  const info = port.getInfo();
  if (info.usbVendorId === undefined) return 'serial port';
  const hex = (id: number) => id.toString(16).padStart(4, '0');
  return `USB serial ${hex(info.usbVendorId)}:${hex(info.usbProductId ?? 0)}`;
}

/** Shows the browser's chooser. Resolves to null when the user cancels it. */
export async function requestSerialPort(options: WebSerialOptions = {}): Promise<SerialPort | null> {
  if (!isWebSerialSupported()) throw new TransportFailure(notSupported());
  try {
    return await navigator.serial.requestPort({ filters: options.filters ?? [] });
  } catch (caught) {
    if (caught instanceof DOMException && caught.name === 'NotFoundError') return null;
    throw new TransportFailure({ code: 'open-failed', message: `could not choose a port: ${String(caught)}` });
  }
}

export async function openWebSerial(port: SerialPort, options: WebSerialOptions = {}): Promise<Transport> {
  const baudRate = options.baudRate ?? DEFAULT_BAUD_RATE;
  try {
    await port.open({ baudRate, bufferSize: RECEIVE_BUFFER_SIZE });
  } catch (caught) {
    const text = caught instanceof Error ? caught.message : String(caught);
    throw new TransportFailure({
      code: 'open-failed',
      message: `could not open the ${describeSerialPort(port)}: ${text}. Is another program (a terminal, mcumgr) using it?`,
    });
  }
  const disconnectEvents = options.disconnectEvents ?? { target: navigator.serial, isThisPort: (event: Event) => event.target === port };
  return new WebSerialTransport(port, options.description ?? `${describeSerialPort(port)} at ${baudRate} baud`, disconnectEvents);
}

class WebSerialTransport implements Transport {
  readonly framing = 'console' as const;
  readonly description: string;
  readonly disconnected: Promise<DisconnectInfo>;
  private readonly incoming = new AsyncQueue<Uint8Array>();
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  private connected = true;
  private readLoopDone: Promise<void> = Promise.resolve();
  private resolveDisconnected!: (info: DisconnectInfo) => void;
  private readonly onPlatformDisconnect = (event: Event) => {
    if (this.disconnectEvents.isThisPort(event)) void this.finish({ reason: 'lost', message: 'the serial port went away (unplugged or the board reset its USB)' });
  };

  constructor(
    private readonly port: SerialPort,
    description: string,
    private readonly disconnectEvents: { target: EventTarget; isThisPort: (event: Event) => boolean },
  ) {
    this.description = description;
    this.disconnected = new Promise((resolve) => (this.resolveDisconnected = resolve));
    disconnectEvents.target.addEventListener('disconnect', this.onPlatformDisconnect);
    if (port.writable) this.writer = port.writable.getWriter();
    this.readLoopDone = this.readLoop();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  private async readLoop(): Promise<void> {
    let lost: DisconnectInfo = { reason: 'lost', message: 'the serial port closed' };
    // A framing or parity error ends one reader; the port stays usable, so take a new one.
    while (this.connected && this.port.readable) {
      this.reader = this.port.readable.getReader();
      try {
        for (;;) {
          const { value, done } = await this.reader.read();
          if (done) break;
          if (value && value.length > 0) this.incoming.push(value);
        }
      } catch (caught) {
        const name = caught instanceof DOMException ? caught.name : '';
        if (name === 'NetworkError' || name === 'InvalidStateError' || name === 'NotFoundError') {
          lost = { reason: 'lost', message: 'the serial port stopped answering (unplugged?)' };
          break;
        }
      } finally {
        this.reader.releaseLock();
        this.reader = null;
      }
    }
    if (this.connected) await this.finish(lost, false);
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (!this.connected || !this.writer) throw new TransportFailure({ code: 'not-connected', message: `${this.description} is not connected` });
    try {
      await this.writer.write(bytes);
    } catch (caught) {
      throw new TransportFailure({ code: 'write-failed', message: `writing to ${this.description} failed: ${String(caught)}` });
    }
  }

  receive(): AsyncIterableIterator<Uint8Array> {
    return this.incoming;
  }

  close(): Promise<void> {
    return this.finish({ reason: 'closed', message: `${this.description} closed` });
  }

  private async finish(info: DisconnectInfo, waitForReader = true): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    this.disconnectEvents.target.removeEventListener('disconnect', this.onPlatformDisconnect);
    this.incoming.end();
    try {
      await this.reader?.cancel();
    } catch {
      // Already gone.
    }
    // The port only closes once the read loop has let go of its reader.
    if (waitForReader) await this.readLoopDone;
    try {
      await this.writer?.close();
    } catch {
      // The port went away with bytes still queued.
    } finally {
      // A writer that keeps its lock makes close() fail on the locked stream (web-serial-polyfill aborts it).
      this.writer?.releaseLock();
    }
    try {
      await this.port.close();
    } catch {
      // A port that vanished cannot be closed; nothing is held any more.
    }
    this.resolveDisconnected(info);
  }
}

function notSupported(): TransportError {
  return { code: 'not-supported', message: 'this browser has no WebSerial: use Chrome or Edge on a desktop, or the simulated board' };
}
