/**
 * A stand-in `navigator.serial` for e2e tests, whose ports carry bytes to and from a Transport
 * in Node: the simulated board, or Zephyr's pty. Headless Chromium has WebSerial, but its port
 * chooser can never be answered, so the page gets this instead (installed before any page script).
 *
 * The stand-in follows the WebSerial spec where the app can tell the difference:
 * - `requestPort({filters})` needs a user gesture (SecurityError otherwise), matches filters, grants
 *   the port, and throws NotFoundError when no port fits (a cancelled chooser); `getPorts()` lists
 *   granted ports that are plugged in. Permission is remembered per USB vendor/product id, so a
 *   board plugged in again is offered without the chooser, and `connect` fires on navigator.serial.
 * - `open({baudRate, bufferSize})` checks its arguments and state; `readable` / `writable` are real
 *   streams, created on demand while open (a new one after a recoverable error, as in Chrome).
 *   More unread bytes than `bufferSize` error the readable with BufferOverrunError.
 * - `close()` cancels and aborts the streams, so it fails with a TypeError while they are locked.
 * - When the Node side goes away, the readable and writable error with NetworkError, `readable`
 *   and `writable` become null, and `disconnect` fires at the port and at navigator.serial with the
 *   port as its target.
 *
 * Bytes cross as base64: page → Node through `page.exposeBinding` calls (awaited, so a write
 * resolves once Node has taken it), Node → page through `page.evaluate`, one chunk at a time and in order.
 *
 * @example
 *   const bridge = await installSerialBridge(page);
 *   const port = bridge.attach(connectSimulatedBoard(board));   // or openSerialDevice(zephyr.pty)
 *   await page.goto('/');  ...  await port.unplug();
 */
import type { Page } from '@playwright/test';
import type { Transport } from '../../../src/lib/transport/types';

export interface UsbIds {
  usbVendorId?: number;
  usbProductId?: number;
}

export interface OpenOptions {
  baudRate: number;
  bufferSize: number;
  dataBits: number;
  stopBits: number;
  parity: string;
  flowControl: string;
}

export interface BridgedPort {
  readonly id: number;
  readonly info: UsbIds;
  /** The options of the page's last `open()`, or null while the page has not opened it. */
  readonly openedWith: OpenOptions | null;
  readonly isOpen: boolean;
  readonly isPresent: boolean;
  /** Bytes the page wrote and Node passed on, and bytes Node passed to the page. */
  readonly bytesFromPage: number;
  readonly bytesToPage: number;
  /** Pulls the cable: the Node transport closes, and the page sees the port lost. */
  unplug(): Promise<void>;
  /** Resolves once the page has been told the port is gone. */
  readonly gone: Promise<void>;
}

export interface SerialBridge {
  /** Plugs a Node transport in as a USB serial port. Default ids: 2fe3:0100 (Zephyr's USB CDC ACM sample). */
  attach(transport: Transport, info?: UsbIds): BridgedPort;
  readonly ports: readonly BridgedPort[];
  /** Unplugs every port. */
  dispose(): Promise<void>;
}

export const ZEPHYR_USB_IDS: UsbIds = { usbVendorId: 0x2fe3, usbProductId: 0x0100 };

interface PortRecord {
  id: number;
  info: UsbIds;
  transport: Transport;
  openedWith: OpenOptions | null;
  isOpen: boolean;
  isPresent: boolean;
  bytesFromPage: number;
  bytesToPage: number;
  gone: Promise<void>;
}

interface PortListing {
  id: number;
  info: UsbIds;
  granted: boolean;
}

/** Installs the stand-in on `page` (before its next navigation) and returns the Node side. */
export async function installSerialBridge(page: Page): Promise<SerialBridge> {
  const records = new Map<number, PortRecord>();
  const handles: BridgedPort[] = [];
  const grantedIds = new Set<string>();
  const idKey = (info: UsbIds) => `${info.usbVendorId ?? '-'}:${info.usbProductId ?? '-'}`;
  let nextId = 1;

  const present = (id: number): PortRecord => {
    const record = records.get(Number(id));
    if (!record || !record.isPresent) throw new Error('The device has been lost.');
    return record;
  };
  const listing = (): PortListing[] =>
    [...records.values()].filter((record) => record.isPresent).map((record) => ({ id: record.id, info: record.info, granted: grantedIds.has(idKey(record.info)) }));

  await page.exposeBinding('__imprintSerialList', () => listing());
  await page.exposeBinding('__imprintSerialGrant', (_source, id: number) => {
    grantedIds.add(idKey(present(id).info));
  });
  await page.exposeBinding('__imprintSerialOpen', (_source, id: number, options: OpenOptions) => {
    const record = present(id);
    record.openedWith = options;
    record.isOpen = true;
  });
  await page.exposeBinding('__imprintSerialClose', (_source, id: number) => {
    const record = records.get(Number(id));
    if (record) record.isOpen = false;
  });
  await page.exposeBinding('__imprintSerialWrite', async (_source, id: number, base64: string) => {
    const record = present(id);
    const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
    record.bytesFromPage += bytes.length;
    await record.transport.send(bytes);
  });
  await page.addInitScript(installStandIn);

  /** Calls the page's stand-in; a page that is closing or navigating has lost its ports anyway. */
  const tellPage = async (action: 'deliver' | 'lose' | 'plugged', id: number, base64 = ''): Promise<void> => {
    if (page.isClosed()) return;
    try {
      await page.evaluate(
        ([what, portId, data]) => {
          const standIn = window.__imprintSerialStandIn;
          if (what === 'deliver') standIn?.deliver(portId, data);
          else if (what === 'lose') standIn?.lose(portId);
          else void standIn?.plugged(portId);
        },
        [action, id, base64] as const,
      );
    } catch {
      // Gone with the page.
    }
  };

  const bridge: SerialBridge = {
    attach(transport, info = ZEPHYR_USB_IDS) {
      const id = nextId++;
      let resolveGone!: () => void;
      const record: PortRecord = {
        id,
        info,
        transport,
        openedWith: null,
        isOpen: false,
        isPresent: true,
        bytesFromPage: 0,
        bytesToPage: 0,
        gone: new Promise((resolve) => (resolveGone = resolve)),
      };
      records.set(id, record);

      const delivered = (async () => {
        try {
          for await (const chunk of transport.receive()) {
            record.bytesToPage += chunk.length;
            await tellPage('deliver', id, Buffer.from(chunk).toString('base64'));
          }
        } catch {
          // The transport reports why through `disconnected`.
        }
      })();
      void transport.disconnected.then(async () => {
        await delivered;
        record.isPresent = false;
        record.isOpen = false;
        await tellPage('lose', id);
        resolveGone();
      });
      void tellPage('plugged', id);

      const handle: BridgedPort = {
        id,
        info,
        get openedWith() {
          return record.openedWith;
        },
        get isOpen() {
          return record.isOpen;
        },
        get isPresent() {
          return record.isPresent;
        },
        get bytesFromPage() {
          return record.bytesFromPage;
        },
        get bytesToPage() {
          return record.bytesToPage;
        },
        gone: record.gone,
        async unplug() {
          await transport.close();
          await record.gone;
        },
      };
      handles.push(handle);
      return handle;
    },
    get ports() {
      return handles;
    },
    async dispose() {
      await Promise.all([...records.values()].filter((record) => record.isPresent).map((record) => record.transport.close()));
    },
  };
  return bridge;
}

interface StandInControl {
  deliver(id: number, base64: string): void;
  lose(id: number): void;
  plugged(id: number): Promise<void>;
}

declare global {
  interface Window {
    __imprintSerialStandIn?: StandInControl;
    __imprintSerialList(): Promise<PortListing[]>;
    __imprintSerialGrant(id: number): Promise<void>;
    __imprintSerialOpen(id: number, options: OpenOptions): Promise<void>;
    __imprintSerialClose(id: number): Promise<void>;
    __imprintSerialWrite(id: number, base64: string): Promise<void>;
  }
}

/** Runs in the page before its scripts: replaces `navigator.serial`. Self-contained (serialised by Playwright). */
function installStandIn(): void {
  const DEFAULT_BUFFER_SIZE = 255;
  const MAX_BUFFER_SIZE = 16 * 1024 * 1024;

  const toBase64 = (bytes: Uint8Array): string => {
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  };
  const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  const lostError = () => new DOMException('The device has been lost.', 'NetworkError');

  /** An event whose target reads as `target`, for the events Chrome bubbles from a port to navigator.serial. */
  const eventFrom = (type: string, target: EventTarget): Event => {
    const event = new Event(type, { bubbles: true });
    Object.defineProperty(event, 'target', { get: () => target });
    return event;
  };

  class StandInPort extends EventTarget {
    onconnect: ((event: Event) => void) | null = null;
    ondisconnect: ((event: Event) => void) | null = null;
    state: 'closed' | 'opening' | 'opened' | 'closing' = 'closed';
    lost = false;
    bufferSize = DEFAULT_BUFFER_SIZE;
    private currentReadable: ReadableStream<Uint8Array> | null = null;
    private currentWritable: WritableStream<Uint8Array> | null = null;
    private readController: ReadableStreamDefaultController<Uint8Array> | null = null;
    private writeController: WritableStreamDefaultController | null = null;
    /** Bytes received and not yet read: the OS/driver buffer, limited to `bufferSize`. */
    private inbox: Uint8Array[] = [];
    private inboxBytes = 0;
    private wake: (() => void) | null = null;

    constructor(
      readonly id: number,
      private readonly info: { usbVendorId?: number; usbProductId?: number },
    ) {
      super();
    }

    getInfo() {
      return { ...this.info };
    }

    get connected() {
      return !this.lost;
    }

    get readable(): ReadableStream<Uint8Array> | null {
      if (this.state !== 'opened' || this.lost) return null;
      if (!this.currentReadable) this.currentReadable = this.makeReadable();
      return this.currentReadable;
    }

    get writable(): WritableStream<Uint8Array> | null {
      if (this.state !== 'opened' || this.lost) return null;
      if (!this.currentWritable) this.currentWritable = this.makeWritable();
      return this.currentWritable;
    }

    async open(options: { baudRate?: number; bufferSize?: number; dataBits?: number; stopBits?: number; parity?: string; flowControl?: string }) {
      if (!options || typeof options.baudRate !== 'number') throw new TypeError("Failed to execute 'open' on 'SerialPort': required member baudRate is undefined.");
      if (!(options.baudRate > 0)) throw new TypeError('Requested baud rate must be greater than zero.');
      const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
      if (!(bufferSize > 0) || bufferSize > MAX_BUFFER_SIZE) throw new TypeError(`Requested buffer size (${bufferSize} bytes) is not allowed.`);
      if (this.state !== 'closed') throw new DOMException('The port is already open.', 'InvalidStateError');
      if (this.lost) throw new DOMException('Failed to open serial port.', 'NetworkError');
      this.state = 'opening';
      try {
        await window.__imprintSerialOpen(this.id, {
          baudRate: options.baudRate,
          bufferSize,
          dataBits: options.dataBits ?? 8,
          stopBits: options.stopBits ?? 1,
          parity: options.parity ?? 'none',
          flowControl: options.flowControl ?? 'none',
        });
      } catch {
        this.state = 'closed';
        throw new DOMException('Failed to open serial port.', 'NetworkError');
      }
      this.bufferSize = bufferSize;
      this.inbox = [];
      this.inboxBytes = 0;
      this.state = 'opened';
    }

    async close() {
      if (this.state !== 'opened') throw new DOMException('The port is already closed.', 'InvalidStateError');
      const cancelled = this.currentReadable ? this.currentReadable.cancel() : Promise.resolve();
      const aborted = this.currentWritable ? this.currentWritable.abort() : Promise.resolve();
      this.state = 'closing';
      try {
        await Promise.all([cancelled, aborted]);
      } catch (caught) {
        this.state = 'opened';
        throw caught;
      }
      this.state = 'closed';
      this.currentReadable = null;
      this.currentWritable = null;
      if (!this.lost) await window.__imprintSerialClose(this.id);
    }

    async forget() {
      // Not used by Imprint; present because Chrome has it.
    }

    /** Node sent bytes: queue them for the reader, or overrun like a full driver buffer. */
    deliver(bytes: Uint8Array) {
      if (this.state !== 'opened' || this.lost) return; // nobody has the port open: the bytes are lost
      this.inbox.push(bytes);
      this.inboxBytes += bytes.length;
      if (this.inboxBytes > this.bufferSize) {
        this.inbox = [];
        this.inboxBytes = 0;
        this.readController?.error(new DOMException('Buffer overrun', 'BufferOverrunError'));
        this.currentReadable = null;
        this.readController = null;
      }
      this.wake?.();
    }

    /** The device went away: streams fail with NetworkError, then `disconnect` fires. */
    lose() {
      if (this.lost) return;
      this.lost = true;
      this.readController?.error(lostError());
      this.writeController?.error(lostError());
      this.currentReadable = null;
      this.currentWritable = null;
      this.readController = null;
      this.writeController = null;
      this.wake?.();
      const onPort = eventFrom('disconnect', this);
      this.dispatchEvent(onPort);
      this.ondisconnect?.(onPort);
      serial.dispatchFromPort('disconnect', this);
    }

    private makeReadable(): ReadableStream<Uint8Array> {
      const port = this;
      const stream: ReadableStream<Uint8Array> = new ReadableStream<Uint8Array>(
        {
          start(controller) {
            port.readController = controller;
          },
          async pull(controller) {
            while (port.inbox.length === 0) {
              if (port.lost || port.readController !== controller) return;
              await new Promise<void>((resolve) => (port.wake = resolve));
              port.wake = null;
            }
            if (port.readController !== controller) return;
            const chunk = port.inbox.shift()!;
            port.inboxBytes -= chunk.length;
            controller.enqueue(chunk);
          },
          cancel() {
            if (port.currentReadable === stream) port.currentReadable = null;
            if (port.readController) port.readController = null;
            port.inbox = [];
            port.inboxBytes = 0;
            port.wake?.();
          },
        },
        { highWaterMark: 0 },
      );
      return stream;
    }

    private makeWritable(): WritableStream<Uint8Array> {
      const port = this;
      const stream: WritableStream<Uint8Array> = new WritableStream<Uint8Array>({
        start(controller) {
          port.writeController = controller;
        },
        async write(chunk) {
          let bytes: Uint8Array;
          if (chunk instanceof Uint8Array) bytes = chunk;
          else if (ArrayBuffer.isView(chunk)) bytes = new Uint8Array((chunk as ArrayBufferView).buffer, (chunk as ArrayBufferView).byteOffset, (chunk as ArrayBufferView).byteLength);
          else if ((chunk as unknown) instanceof ArrayBuffer) bytes = new Uint8Array(chunk as unknown as ArrayBuffer);
          else throw new TypeError('The provided value is not of type (ArrayBuffer or ArrayBufferView).');
          if (port.lost) throw lostError();
          try {
            await window.__imprintSerialWrite(port.id, toBase64(bytes));
          } catch {
            throw lostError();
          }
        },
        close() {
          if (port.currentWritable === stream) port.currentWritable = null;
          port.writeController = null;
        },
        abort() {
          if (port.currentWritable === stream) port.currentWritable = null;
          port.writeController = null;
        },
      });
      return stream;
    }
  }

  class StandInSerial extends EventTarget {
    onconnect: ((event: Event) => void) | null = null;
    ondisconnect: ((event: Event) => void) | null = null;
    private readonly ports = new Map<number, StandInPort>();

    portFor(id: number, info: { usbVendorId?: number; usbProductId?: number }): StandInPort {
      let port = this.ports.get(id);
      if (!port) this.ports.set(id, (port = new StandInPort(id, info)));
      return port;
    }

    known(id: number): StandInPort | undefined {
      return this.ports.get(id);
    }

    async getPorts(): Promise<StandInPort[]> {
      const list = await window.__imprintSerialList();
      return list.filter((entry) => entry.granted).map((entry) => this.portFor(entry.id, entry.info));
    }

    async requestPort(options: { filters?: { usbVendorId?: number; usbProductId?: number }[] } = {}): Promise<StandInPort> {
      if (!navigator.userActivation?.isActive) {
        throw new DOMException("Failed to execute 'requestPort' on 'Serial': Must be handling a user gesture to show a permission request.", 'SecurityError');
      }
      const filters = options.filters ?? [];
      for (const filter of filters) {
        if (filter.usbVendorId === undefined && filter.usbProductId !== undefined) throw new TypeError('A filter containing a usbProductId must also specify a usbVendorId.');
      }
      const fits = (info: { usbVendorId?: number; usbProductId?: number }) =>
        filters.length === 0 ||
        filters.some((filter) => (filter.usbVendorId === undefined || filter.usbVendorId === info.usbVendorId) && (filter.usbProductId === undefined || filter.usbProductId === info.usbProductId));
      const choice = (await window.__imprintSerialList()).find((entry) => fits(entry.info));
      if (!choice) throw new DOMException('No port selected by the user.', 'NotFoundError');
      await window.__imprintSerialGrant(choice.id);
      return this.portFor(choice.id, choice.info);
    }

    dispatchFromPort(type: 'connect' | 'disconnect', port: StandInPort) {
      const event = eventFrom(type, port);
      this.dispatchEvent(event);
      (type === 'connect' ? this.onconnect : this.ondisconnect)?.(event);
    }
  }

  const serial = new StandInSerial();
  Object.defineProperty(Navigator.prototype, 'serial', { configurable: true, get: () => serial });
  Object.defineProperty(window, '__imprintSerialStandIn', {
    configurable: true,
    enumerable: false,
    value: {
      deliver(id: number, base64: string) {
        serial.known(id)?.deliver(fromBase64(base64));
      },
      lose(id: number) {
        serial.known(id)?.lose();
      },
      async plugged(id: number) {
        const entry = (await window.__imprintSerialList()).find((candidate) => candidate.id === id);
        if (!entry || !entry.granted) return; // Chrome only tells pages about ports they may use
        const port = serial.portFor(entry.id, entry.info);
        port.dispatchEvent(eventFrom('connect', port));
        serial.dispatchFromPort('connect', port);
      },
    } satisfies StandInControl,
  });
}
