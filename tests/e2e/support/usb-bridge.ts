/**
 * A stand-in `navigator.usb` for e2e tests: a USB CDC-ACM board (Zephyr's CDC ACM sample, 2fe3:0100)
 * whose bulk endpoints carry bytes to and from a Transport in Node — the simulated board, or any
 * other. Headless Chromium has WebUSB, but its device chooser can never be answered, so the page
 * gets this instead (installed before any page script). The app's WebUSB transport then runs
 * unchanged: web-serial-polyfill's SerialPort over this USBDevice, then `openWebSerial`.
 *
 * The split follows a real setup: the page side plays Chromium (Blink's USBDevice checks, the
 * same DOMException names and messages), the Node side plays the device (its descriptors, its CDC
 * class requests, its transmit FIFO, the bulk endpoints).
 * - `requestDevice({filters})` needs a user gesture (SecurityError otherwise), validates the
 *   filters (TypeError), matches vendor/product/class (device class or any interface's class) and
 *   serial number like the WebUSB spec, grants the device and returns it; NotFoundError "No device
 *   selected." when nothing matches or the test cancels the chooser. `getDevices()` lists granted
 *   devices that are plugged in; the same USBDevice object each time, a new one after a replug.
 *   Permission is remembered per vendor/product/serial number, as Chrome does for devices with a
 *   serial number, so a replugged board fires `connect` (USBConnectionEvent) on navigator.usb.
 * - USBDevice: descriptors (one configuration: CDC control interface 0, class 2, interrupt IN ep 1;
 *   CDC data interface 1, class 10, bulk IN ep 2 and bulk OUT ep 1, 64-byte packets), `opened`,
 *   `configuration` (set, as the OS does on enumeration, unless `configured: false`), and
 *   open/close/selectConfiguration/claimInterface/releaseInterface/selectAlternateInterface/
 *   controlTransferIn/controlTransferOut/transferIn/transferOut/clearHalt/reset/forget with
 *   Blink's state checks: "The device must be opened first.", "must have a configuration
 *   selected", endpoints usable only on a claimed interface, one device state change at a time.
 * - Control requests are answered by the device (Node): CDC SET_LINE_CODING (recorded: baud rate,
 *   stop bits, parity, data bits), GET_LINE_CODING, SET_CONTROL_LINE_STATE (DTR/RTS), SEND_BREAK;
 *   anything else stalls (status 'stall').
 * - transferIn on the bulk IN endpoint waits until the device has bytes and resolves with at most
 *   `length` of them (status 'ok', `data` a DataView over its own buffer). Transfers queue in
 *   order, as on a real endpoint: the oldest pending transfer gets the next bytes, whoever issued
 *   it. `close()` cancels pending transfers (AbortError "The transfer was cancelled."). Bytes the
 *   board sends while nothing reads wait in the device's FIFO (`fifoSize`, default 1024 like
 *   Zephyr's CDC ACM ring buffer; the excess is dropped and counted).
 * - Unplug: `opened` turns false, every pending request rejects — transfers with NotFoundError "The
 *   device was disconnected." (Chromium, when the OS reports the device gone) or, with
 *   `unplugError: 'NetworkError'`, NetworkError "A transfer error has occurred." (a transfer that
 *   fails first) — then, in a later task, `disconnect` (USBConnectionEvent, `.device`) fires on
 *   navigator.usb. Later calls reject with NotFoundError "The device was disconnected.".
 * - A page that navigates away drops its device handles: the device reads as closed again.
 *
 * Bytes cross as base64 through `page.exposeBinding` calls (a transferOut resolves once Node has
 * passed the bytes on; a transferIn resolves when the device has bytes for it).
 *
 * @example
 *   const bridge = await installUsbBridge(page);
 *   const usb = bridge.attach(connectSimulatedBoard(board, { baudRate: 115200 }));
 *   await page.goto('/');  ...  usb.lineCoding?.baudRate;  await usb.unplug();
 */
import type { Page } from '@playwright/test';
import type { Transport } from '../../../src/lib/transport/types';

export interface UsbDeviceInfo {
  vendorId: number;
  productId: number;
  productName: string;
  manufacturerName: string;
  serialNumber: string;
  /** Device class from the device descriptor; 0xef (miscellaneous, with an interface association) for Zephyr's CDC ACM. */
  deviceClass: number;
  deviceSubclass: number;
  deviceProtocol: number;
  /** bcdDevice as major.minor.subminor. */
  deviceVersion: [number, number, number];
}

export const ZEPHYR_CDC_ACM: UsbDeviceInfo = {
  vendorId: 0x2fe3,
  productId: 0x0100,
  productName: 'Zephyr CDC ACM sample',
  manufacturerName: 'ZEPHYR',
  serialNumber: '8A2F61C94E0B3D57',
  deviceClass: 0xef,
  deviceSubclass: 0x02,
  deviceProtocol: 0x01,
  deviceVersion: [3, 4, 0],
};

export interface AttachOptions {
  info?: Partial<UsbDeviceInfo>;
  /** The OS selected configuration 1 on enumeration (default), or the page must select it. */
  configured?: boolean;
  /** false: claimInterface fails with NetworkError "Unable to claim interface." (an OS driver holds it). */
  claimable?: boolean;
  /** How pending transfers fail when the device goes away; default NotFoundError. */
  unplugError?: 'NotFoundError' | 'NetworkError';
  /** The device's transmit FIFO: bytes from the board nobody has read yet. Default 1024. */
  fifoSize?: number;
  /**
   * Bytes of IN transfers the host may have waiting at once; one more fails with NetworkError "A
   * transfer error has occurred.". Default 16 MiB: Linux's usbfs buffer limit (`usbfs_memory_mb`),
   * which every transfer Chromium submits on Linux and ChromeOS counts against.
   */
  transferMemoryLimit?: number;
}

export interface LineCoding {
  baudRate: number;
  /** 1, 1.5 or 2 */
  stopBits: number;
  parity: 'none' | 'odd' | 'even' | 'mark' | 'space';
  dataBits: number;
}

export interface ControlSetup {
  requestType: 'standard' | 'class' | 'vendor';
  recipient: 'device' | 'interface' | 'endpoint' | 'other';
  request: number;
  value: number;
  index: number;
}

export interface ControlRecord extends ControlSetup {
  direction: 'in' | 'out';
  /** Data stage of an OUT request, or the requested length of an IN request. */
  data?: number[];
  length?: number;
  status: 'ok' | 'stall';
}

export interface UsbStats {
  opens: number;
  closes: number;
  resets: number;
  transfersIn: number;
  transfersOut: number;
  /** Bulk IN transfers the page has waiting now, and the most it ever had waiting at once. */
  pendingIn: number;
  maxPendingIn: number;
  /** Bulk IN transfers that ended cancelled (by close() or a reset). */
  cancelledIn: number;
  /** IN transfers refused because the waiting ones already used `transferMemoryLimit`. */
  refusedIn: number;
}

export interface BridgedUsbDevice {
  readonly id: number;
  readonly info: UsbDeviceInfo;
  readonly isPresent: boolean;
  /** The page holds the device open (between open() and close(), unplug or navigation). */
  readonly isOpen: boolean;
  readonly configurationValue: number | null;
  readonly claimedInterfaces: readonly number[];
  /** The last SET_LINE_CODING, or null when the page never sent one. */
  readonly lineCoding: LineCoding | null;
  /** SET_CONTROL_LINE_STATE: data terminal ready and request to send. */
  readonly dtr: boolean;
  readonly rts: boolean;
  readonly controlRequests: readonly ControlRecord[];
  readonly bytesFromPage: number;
  readonly bytesToPage: number;
  /** Board bytes lost because the device FIFO was full. */
  readonly bytesDropped: number;
  readonly stats: Readonly<UsbStats>;
  /** Pulls the cable: the Node transport closes, and the page sees the device gone. */
  unplug(): Promise<void>;
  /** Resolves once the page has been told the device is gone. */
  readonly gone: Promise<void>;
}

export interface UsbBridge {
  /** Plugs a Node transport in as a USB CDC-ACM board (default: Zephyr's CDC ACM sample, 2fe3:0100). */
  attach(transport: Transport, options?: AttachOptions): BridgedUsbDevice;
  readonly devices: readonly BridgedUsbDevice[];
  /** The next requestDevice() shows the chooser and the operator cancels it (NotFoundError). */
  cancelNextChooser(): void;
  /** How many times the page opened the chooser. */
  readonly choosersShown: number;
  /** Unplugs every device. */
  dispose(): Promise<void>;
}

/** Endpoint and interface layout of Zephyr's CDC ACM function (IAD + two interfaces). */
const CONTROL_INTERFACE = 0;
const DATA_INTERFACE = 1;
const BULK_IN_ENDPOINT = 2;
const BULK_OUT_ENDPOINT = 1;
const BULK_PACKET_SIZE = 64;

/** CDC PSTN class requests (USB CDC 1.1 §6.2). */
const SET_LINE_CODING = 0x20;
const GET_LINE_CODING = 0x21;
const SET_CONTROL_LINE_STATE = 0x22;
const SEND_BREAK = 0x23;

const PARITY: LineCoding['parity'][] = ['none', 'odd', 'even', 'mark', 'space'];
const STOP_BITS = [1, 1.5, 2];

interface PendingIn {
  length: number;
  resolve(result: InResult): void;
}

type InResult = { status: 'ok' | 'babble'; base64: string } | { status: 'cancelled' | 'gone' | 'error' };

interface DeviceRecord {
  id: number;
  info: UsbDeviceInfo;
  options: Required<Omit<AttachOptions, 'info'>>;
  transport: Transport;
  isPresent: boolean;
  isOpen: boolean;
  configurationValue: number | null;
  claimed: Set<number>;
  lineCoding: LineCoding | null;
  dtr: boolean;
  rts: boolean;
  controlRequests: ControlRecord[];
  fifo: Buffer[];
  fifoBytes: number;
  pendingIn: PendingIn[];
  bytesFromPage: number;
  bytesToPage: number;
  bytesDropped: number;
  stats: UsbStats;
  gone: Promise<void>;
}

interface DeviceListing {
  id: number;
  info: UsbDeviceInfo;
  granted: boolean;
  configurationValue: number | null;
}

/** Installs the stand-in on `page` (before its next navigation) and returns the Node side. */
export async function installUsbBridge(page: Page): Promise<UsbBridge> {
  const records = new Map<number, DeviceRecord>();
  const handles: BridgedUsbDevice[] = [];
  const grantedKeys = new Set<string>();
  const grantKey = (info: UsbDeviceInfo) => `${info.vendorId}:${info.productId}:${info.serialNumber}`;
  let nextId = 1;
  let cancelChooser = false;
  let choosersShown = 0;

  const present = (id: number): DeviceRecord | null => {
    const record = records.get(Number(id));
    return record && record.isPresent ? record : null;
  };
  const listing = (): DeviceListing[] =>
    [...records.values()]
      .filter((record) => record.isPresent)
      .map((record) => ({ id: record.id, info: record.info, granted: grantedKeys.has(grantKey(record.info)), configurationValue: record.configurationValue }));

  /** The host let go of the device (close(), a reset, a navigation): its waiting transfers end. */
  const cancelPendingIn = (record: DeviceRecord, status: 'cancelled' | 'gone') => {
    const waiting = record.pendingIn.splice(0);
    if (status === 'cancelled') record.stats.cancelledIn += waiting.length;
    record.stats.pendingIn = 0;
    for (const transfer of waiting) transfer.resolve({ status });
  };
  const dropHandle = (record: DeviceRecord) => {
    record.isOpen = false;
    record.claimed.clear();
    cancelPendingIn(record, 'cancelled');
  };
  /** Bytes in the FIFO go to the oldest waiting transfer, as much as it asked for. */
  const pump = (record: DeviceRecord) => {
    while (record.pendingIn.length > 0 && record.fifoBytes > 0) {
      const transfer = record.pendingIn.shift()!;
      record.stats.pendingIn = record.pendingIn.length;
      const all = Buffer.concat(record.fifo);
      // A transfer whose length is not a whole number of packets overflows on a longer packet (babble).
      const babble = transfer.length % BULK_PACKET_SIZE !== 0 && all.length > transfer.length;
      const taken = all.subarray(0, transfer.length);
      const rest = babble ? all.subarray(Math.min(all.length, Math.ceil(transfer.length / BULK_PACKET_SIZE) * BULK_PACKET_SIZE)) : all.subarray(taken.length);
      record.fifo = rest.length > 0 ? [Buffer.from(rest)] : [];
      record.fifoBytes = rest.length;
      record.bytesToPage += taken.length;
      transfer.resolve({ status: babble ? 'babble' : 'ok', base64: taken.toString('base64') });
    }
  };

  await page.exposeBinding('__imprintUsbList', () => listing());
  await page.exposeBinding('__imprintUsbChooser', (_source, ids: number[]) => {
    choosersShown++;
    if (cancelChooser) {
      cancelChooser = false;
      return null;
    }
    const chosen = ids.map((id) => present(id)).find((record) => record !== null);
    if (!chosen) return null;
    grantedKeys.add(grantKey(chosen.info));
    return chosen.id;
  });
  await page.exposeBinding('__imprintUsbForget', (_source, id: number) => {
    const record = records.get(Number(id));
    if (!record) return;
    grantedKeys.delete(grantKey(record.info));
    dropHandle(record);
  });
  await page.exposeBinding('__imprintUsbDocument', () => {
    // A new document: Chromium closed whatever the previous one had open.
    for (const record of records.values()) dropHandle(record);
  });
  await page.exposeBinding('__imprintUsbDevice', (_source, id: number, action: string, argument: number) => {
    const record = present(id);
    if (!record) return 'gone';
    switch (action) {
      case 'open':
        record.isOpen = true;
        record.stats.opens++;
        return 'ok';
      case 'close':
        record.stats.closes++;
        dropHandle(record);
        return 'ok';
      case 'select':
        record.configurationValue = argument;
        record.claimed.clear();
        return 'ok';
      case 'claim':
        if (!record.options.claimable) return 'failed';
        record.claimed.add(argument);
        return 'ok';
      case 'release':
        record.claimed.delete(argument);
        if (argument === DATA_INTERFACE) cancelPendingIn(record, 'cancelled');
        return 'ok';
      case 'reset':
        // A bus reset: the device's USB stack starts over (line coding, DTR, FIFO); transfers end.
        record.stats.resets++;
        cancelPendingIn(record, 'cancelled');
        record.fifo = [];
        record.fifoBytes = 0;
        record.lineCoding = null;
        record.dtr = false;
        record.rts = false;
        return 'ok';
      default:
        return 'failed';
    }
  });
  await page.exposeBinding('__imprintUsbControlOut', (_source, id: number, setup: ControlSetup, base64: string | null) => {
    const record = present(id);
    if (!record) return 'gone';
    const data = base64 === null ? null : Buffer.from(base64, 'base64');
    const status = controlOut(record, setup, data);
    record.controlRequests.push({ ...setup, direction: 'out', ...(data ? { data: [...data] } : {}), status });
    return status;
  });
  await page.exposeBinding('__imprintUsbControlIn', (_source, id: number, setup: ControlSetup, length: number) => {
    const record = present(id);
    if (!record) return { status: 'gone' };
    let answer: Buffer | null = null;
    if (setup.requestType === 'class' && setup.recipient === 'interface' && (setup.index & 0xff) === CONTROL_INTERFACE && setup.request === GET_LINE_CODING) {
      const coding = record.lineCoding ?? { baudRate: 115200, stopBits: 1, parity: 'none', dataBits: 8 };
      answer = Buffer.alloc(7);
      answer.writeUInt32LE(coding.baudRate, 0);
      answer[4] = STOP_BITS.indexOf(coding.stopBits);
      answer[5] = PARITY.indexOf(coding.parity);
      answer[6] = coding.dataBits;
    }
    const status = answer ? 'ok' : 'stall';
    record.controlRequests.push({ ...setup, direction: 'in', length, status });
    return { status, base64: answer ? answer.subarray(0, length).toString('base64') : '' };
  });
  await page.exposeBinding('__imprintUsbTransferIn', (_source, id: number, endpoint: number, length: number) => {
    const record = present(id);
    if (!record) return { status: 'gone' } satisfies InResult;
    record.stats.transfersIn++;
    if (endpoint !== BULK_IN_ENDPOINT) return new Promise<InResult>(() => {}); // the notification endpoint: Zephyr never sends serial state here
    const waiting = record.pendingIn.reduce((sum, transfer) => sum + transfer.length, 0);
    if (waiting + length > record.options.transferMemoryLimit) {
      record.stats.refusedIn++;
      return { status: 'error' } satisfies InResult;
    }
    return new Promise<InResult>((resolve) => {
      record.pendingIn.push({ length, resolve });
      record.stats.pendingIn = record.pendingIn.length;
      record.stats.maxPendingIn = Math.max(record.stats.maxPendingIn, record.pendingIn.length);
      pump(record);
    });
  });
  await page.exposeBinding('__imprintUsbTransferOut', async (_source, id: number, endpoint: number, base64: string) => {
    const record = present(id);
    if (!record) return { status: 'gone' };
    const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
    record.stats.transfersOut++;
    record.bytesFromPage += bytes.length;
    try {
      await record.transport.send(bytes);
    } catch {
      return { status: 'gone' };
    }
    return { status: 'ok', bytesWritten: bytes.length };
  });
  await page.addInitScript(installStandIn);

  /** Calls the page's stand-in; a page that is closing or navigating has lost its devices anyway. */
  const tellPage = async (action: 'lose' | 'plugged', id: number, errorName = ''): Promise<void> => {
    if (page.isClosed()) return;
    try {
      await page.evaluate(
        async ([what, deviceId, error]) => {
          const standIn = window.__imprintUsbStandIn;
          if (what === 'lose') await standIn?.lose(deviceId, error);
          else await standIn?.plugged(deviceId);
        },
        [action, id, errorName] as const,
      );
    } catch {
      // Gone with the page.
    }
  };

  const bridge: UsbBridge = {
    attach(transport, options = {}) {
      const id = nextId++;
      const info: UsbDeviceInfo = { ...ZEPHYR_CDC_ACM, ...options.info };
      let resolveGone!: () => void;
      const record: DeviceRecord = {
        id,
        info,
        options: {
          configured: options.configured ?? true,
          claimable: options.claimable ?? true,
          unplugError: options.unplugError ?? 'NotFoundError',
          fifoSize: options.fifoSize ?? 1024,
          transferMemoryLimit: options.transferMemoryLimit ?? 16 * 1024 * 1024,
        },
        transport,
        isPresent: true,
        isOpen: false,
        configurationValue: (options.configured ?? true) ? 1 : null,
        claimed: new Set(),
        lineCoding: null,
        dtr: false,
        rts: false,
        controlRequests: [],
        fifo: [],
        fifoBytes: 0,
        pendingIn: [],
        bytesFromPage: 0,
        bytesToPage: 0,
        bytesDropped: 0,
        stats: { opens: 0, closes: 0, resets: 0, transfersIn: 0, transfersOut: 0, pendingIn: 0, maxPendingIn: 0, cancelledIn: 0, refusedIn: 0 },
        gone: new Promise((resolve) => (resolveGone = resolve)),
      };
      records.set(id, record);

      const received = (async () => {
        try {
          for await (const chunk of transport.receive()) {
            const room = record.options.fifoSize - record.fifoBytes;
            const kept = chunk.subarray(0, Math.max(0, room));
            record.bytesDropped += chunk.length - kept.length;
            if (kept.length > 0) {
              record.fifo.push(Buffer.from(kept));
              record.fifoBytes += kept.length;
            }
            pump(record);
          }
        } catch {
          // The transport reports why through `disconnected`.
        }
      })();
      void transport.disconnected.then(async () => {
        await received;
        record.isPresent = false;
        record.isOpen = false;
        record.claimed.clear();
        await tellPage('lose', id, record.options.unplugError);
        cancelPendingIn(record, 'gone');
        resolveGone();
      });
      void tellPage('plugged', id);

      const handle: BridgedUsbDevice = {
        id,
        info,
        get isPresent() {
          return record.isPresent;
        },
        get isOpen() {
          return record.isOpen;
        },
        get configurationValue() {
          return record.configurationValue;
        },
        get claimedInterfaces() {
          return [...record.claimed].sort();
        },
        get lineCoding() {
          return record.lineCoding;
        },
        get dtr() {
          return record.dtr;
        },
        get rts() {
          return record.rts;
        },
        get controlRequests() {
          return record.controlRequests;
        },
        get bytesFromPage() {
          return record.bytesFromPage;
        },
        get bytesToPage() {
          return record.bytesToPage;
        },
        get bytesDropped() {
          return record.bytesDropped;
        },
        get stats() {
          return record.stats;
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
    get devices() {
      return handles;
    },
    cancelNextChooser() {
      cancelChooser = true;
    },
    get choosersShown() {
      return choosersShown;
    },
    async dispose() {
      await Promise.all([...records.values()].filter((record) => record.isPresent).map((record) => record.transport.close()));
      await Promise.all([...records.values()].map((record) => record.gone));
    },
  };
  return bridge;

  /** The device's answer to a control OUT request: CDC ACM class requests on its control interface. */
  function controlOut(record: DeviceRecord, setup: ControlSetup, data: Buffer | null): 'ok' | 'stall' {
    if (setup.requestType !== 'class' || setup.recipient !== 'interface' || (setup.index & 0xff) !== CONTROL_INTERFACE) return 'stall';
    switch (setup.request) {
      case SET_LINE_CODING: {
        if (!data || data.length !== 7) return 'stall';
        const stopBits = STOP_BITS[data[4]!];
        const parity = PARITY[data[5]!];
        if (stopBits === undefined || parity === undefined || ![5, 6, 7, 8, 16].includes(data[6]!)) return 'stall';
        record.lineCoding = { baudRate: data.readUInt32LE(0), stopBits, parity, dataBits: data[6]! };
        return 'ok';
      }
      case SET_CONTROL_LINE_STATE:
        record.dtr = (setup.value & 1) !== 0;
        record.rts = (setup.value & 2) !== 0;
        return 'ok';
      case SEND_BREAK:
        return 'ok';
      default:
        return 'stall';
    }
  }
}

interface StandInControl {
  lose(id: number, errorName: string): Promise<void>;
  plugged(id: number): Promise<void>;
}

declare global {
  interface Window {
    __imprintUsbStandIn?: StandInControl;
    __imprintUsbList(): Promise<DeviceListing[]>;
    __imprintUsbChooser(ids: number[]): Promise<number | null>;
    __imprintUsbForget(id: number): Promise<void>;
    __imprintUsbDocument(): Promise<void>;
    __imprintUsbDevice(id: number, action: string, argument: number): Promise<'ok' | 'failed' | 'gone'>;
    __imprintUsbControlOut(id: number, setup: ControlSetup, base64: string | null): Promise<'ok' | 'stall' | 'gone'>;
    __imprintUsbControlIn(id: number, setup: ControlSetup, length: number): Promise<{ status: 'ok' | 'stall' | 'gone'; base64?: string }>;
    __imprintUsbTransferIn(id: number, endpoint: number, length: number): Promise<InResult>;
    __imprintUsbTransferOut(id: number, endpoint: number, base64: string): Promise<{ status: 'ok' | 'gone'; bytesWritten?: number }>;
  }
}

/** Runs in the page before its scripts: replaces `navigator.usb`. Self-contained (serialised by Playwright). */
function installStandIn(): void {
  const DEVICE_DISCONNECTED = 'The device was disconnected.';
  const OPEN_REQUIRED = 'The device must be opened first.';
  const INTERFACE_NOT_FOUND = 'The interface number provided is not supported by the device in its current configuration.';
  const INTERFACE_CHANGE = 'An operation that changes interface state is in progress.';
  const DEVICE_CHANGE = 'An operation that changes the device state is in progress.';
  const TRANSFER_LIMIT = 32 * 1024 * 1024;

  const toBase64 = (bytes: Uint8Array): string => {
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  };
  const fromBase64 = (text: string): Uint8Array => Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
  const bytesOf = (data: unknown, what: string): Uint8Array => {
    if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    throw new TypeError(`Failed to execute '${what}' on 'USBDevice': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.`);
  };

  interface EndpointInfo {
    endpointNumber: number;
    direction: 'in' | 'out';
    type: 'bulk' | 'interrupt' | 'isochronous';
    packetSize: number;
  }
  interface AlternateInfo {
    alternateSetting: number;
    interfaceClass: number;
    interfaceSubclass: number;
    interfaceProtocol: number;
    interfaceName: string | null;
    endpoints: EndpointInfo[];
  }

  /** Zephyr's CDC ACM function: control interface 0 (class 2, ACM, notification ep 0x81), data interface 1 (class 10, bulk 0x82 IN, 0x01 OUT). */
  const CDC_ACM_INTERFACES: { interfaceNumber: number; alternates: AlternateInfo[] }[] = [
    {
      interfaceNumber: 0,
      alternates: [{ alternateSetting: 0, interfaceClass: 2, interfaceSubclass: 2, interfaceProtocol: 0, interfaceName: null, endpoints: [{ endpointNumber: 1, direction: 'in', type: 'interrupt', packetSize: 16 }] }],
    },
    {
      interfaceNumber: 1,
      alternates: [
        {
          alternateSetting: 0,
          interfaceClass: 10,
          interfaceSubclass: 0,
          interfaceProtocol: 0,
          interfaceName: null,
          endpoints: [
            { endpointNumber: 2, direction: 'in', type: 'bulk', packetSize: 64 },
            { endpointNumber: 1, direction: 'out', type: 'bulk', packetSize: 64 },
          ],
        },
      ],
    },
  ];

  class StandInUSBConnectionEvent extends Event {
    readonly device: StandInUSBDevice;
    constructor(type: string, init: EventInit & { device: StandInUSBDevice }) {
      super(type, init);
      if (!init || !init.device) throw new TypeError("Failed to construct 'USBConnectionEvent': required member device is undefined.");
      this.device = init.device;
    }
  }

  class StandInUSBEndpoint {
    constructor(
      readonly alternate: StandInUSBAlternateInterface,
      readonly endpointNumber: number,
      readonly direction: 'in' | 'out',
      readonly type: 'bulk' | 'interrupt' | 'isochronous',
      readonly packetSize: number,
    ) {}
  }

  class StandInUSBAlternateInterface {
    readonly alternateSetting: number;
    readonly interfaceClass: number;
    readonly interfaceSubclass: number;
    readonly interfaceProtocol: number;
    readonly interfaceName: string | null;
    readonly endpoints: StandInUSBEndpoint[];
    constructor(
      readonly owner: StandInUSBInterface,
      info: AlternateInfo,
    ) {
      this.alternateSetting = info.alternateSetting;
      this.interfaceClass = info.interfaceClass;
      this.interfaceSubclass = info.interfaceSubclass;
      this.interfaceProtocol = info.interfaceProtocol;
      this.interfaceName = info.interfaceName;
      this.endpoints = info.endpoints.map((endpoint) => new StandInUSBEndpoint(this, endpoint.endpointNumber, endpoint.direction, endpoint.type, endpoint.packetSize));
    }
  }

  class StandInUSBInterface {
    readonly interfaceNumber: number;
    readonly alternates: StandInUSBAlternateInterface[];
    constructor(
      readonly configuration: StandInUSBConfiguration,
      info: { interfaceNumber: number; alternates: AlternateInfo[] },
    ) {
      this.interfaceNumber = info.interfaceNumber;
      this.alternates = info.alternates.map((alternate) => new StandInUSBAlternateInterface(this, alternate));
    }
    get claimed(): boolean {
      return this.configuration.device.isClaimed(this);
    }
    /** The selected alternate setting while claimed; null otherwise (as Chromium). */
    get alternate(): StandInUSBAlternateInterface | null {
      return this.claimed ? this.alternates[this.configuration.device.selectedAlternate(this)]! : null;
    }
  }

  class StandInUSBConfiguration {
    readonly configurationName: string | null = null;
    readonly interfaces: StandInUSBInterface[];
    constructor(
      readonly device: StandInUSBDevice,
      readonly configurationValue: number,
    ) {
      this.interfaces = CDC_ACM_INTERFACES.map((info) => new StandInUSBInterface(this, info));
    }
  }

  interface DeviceInfo {
    vendorId: number;
    productId: number;
    productName: string;
    manufacturerName: string;
    serialNumber: string;
    deviceClass: number;
    deviceSubclass: number;
    deviceProtocol: number;
    deviceVersion: [number, number, number];
  }

  class StandInUSBDevice {
    readonly usbVersionMajor = 2;
    readonly usbVersionMinor = 0;
    readonly usbVersionSubminor = 0;
    readonly deviceClass: number;
    readonly deviceSubclass: number;
    readonly deviceProtocol: number;
    readonly vendorId: number;
    readonly productId: number;
    readonly deviceVersionMajor: number;
    readonly deviceVersionMinor: number;
    readonly deviceVersionSubminor: number;
    readonly manufacturerName: string;
    readonly productName: string;
    readonly serialNumber: string;
    private readonly configs: StandInUSBConfiguration[];
    private configIndex: number | null;
    private isOpened = false;
    /** Unplugged or forgotten: Blink's device pipe is closed. */
    lost = false;
    private deviceChange = false;
    private readonly interfaceChange = new Set<number>();
    private readonly claimedNumbers = new Set<number>();
    private readonly alternates = new Map<number, number>();
    /** Pending requests, rejected together when the device goes away (Blink's OnConnectionError). */
    private readonly requests = new Set<{ reject: (error: unknown) => void; transfer: boolean }>();

    constructor(
      readonly id: number,
      info: DeviceInfo,
      configurationValue: number | null,
    ) {
      this.vendorId = info.vendorId;
      this.productId = info.productId;
      this.productName = info.productName;
      this.manufacturerName = info.manufacturerName;
      this.serialNumber = info.serialNumber;
      this.deviceClass = info.deviceClass;
      this.deviceSubclass = info.deviceSubclass;
      this.deviceProtocol = info.deviceProtocol;
      [this.deviceVersionMajor, this.deviceVersionMinor, this.deviceVersionSubminor] = info.deviceVersion;
      this.configs = [new StandInUSBConfiguration(this, 1)];
      const index = this.configs.findIndex((config) => config.configurationValue === configurationValue);
      this.configIndex = index >= 0 ? index : null;
    }

    get opened(): boolean {
      return this.isOpened;
    }
    get configuration(): StandInUSBConfiguration | null {
      return this.configIndex === null ? null : this.configs[this.configIndex]!;
    }
    get configurations(): StandInUSBConfiguration[] {
      return [...this.configs];
    }

    isClaimed(iface: StandInUSBInterface): boolean {
      return this.configuration === iface.configuration && this.claimedNumbers.has(iface.interfaceNumber);
    }
    selectedAlternate(iface: StandInUSBInterface): number {
      return this.alternates.get(iface.interfaceNumber) ?? 0;
    }

    /** Tracks a request so that losing the device rejects it, as Blink does with its pending requests. */
    private track<T>(work: Promise<T>, transfer = false): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const entry = { reject, transfer };
        this.requests.add(entry);
        work.then(
          (value) => {
            if (!this.requests.delete(entry)) return;
            resolve(value);
          },
          (error) => {
            if (!this.requests.delete(entry)) return;
            reject(error);
          },
        );
      });
    }

    private ensureNoDeviceChange(): void {
      if (this.lost) throw new DOMException(DEVICE_DISCONNECTED, 'NotFoundError');
      if (this.deviceChange) throw new DOMException(DEVICE_CHANGE, 'InvalidStateError');
    }
    private ensureNoDeviceOrInterfaceChange(): void {
      this.ensureNoDeviceChange();
      if (this.interfaceChange.size > 0) throw new DOMException(INTERFACE_CHANGE, 'InvalidStateError');
    }
    private ensureConfigured(): StandInUSBConfiguration {
      this.ensureNoDeviceChange();
      if (!this.isOpened) throw new DOMException(OPEN_REQUIRED, 'InvalidStateError');
      const configuration = this.configuration;
      if (!configuration) throw new DOMException('The device must have a configuration selected.', 'InvalidStateError');
      return configuration;
    }
    private findInterface(interfaceNumber: number): StandInUSBInterface {
      const iface = this.ensureConfigured().interfaces.find((candidate) => candidate.interfaceNumber === interfaceNumber);
      if (!iface) throw new DOMException(INTERFACE_NOT_FOUND, 'NotFoundError');
      if (this.interfaceChange.has(interfaceNumber)) throw new DOMException(INTERFACE_CHANGE, 'InvalidStateError');
      return iface;
    }
    private ensureClaimed(interfaceNumber: number): StandInUSBInterface {
      const iface = this.findInterface(interfaceNumber);
      if (!this.claimedNumbers.has(interfaceNumber)) throw new DOMException('The specified interface has not been claimed.', 'InvalidStateError');
      return iface;
    }
    private ensureEndpoint(direction: 'in' | 'out', endpointNumber: number): StandInUSBEndpoint {
      const configuration = this.ensureConfigured();
      if (!(endpointNumber >= 1 && endpointNumber < 16)) throw new DOMException('The specified endpoint number is out of range.', 'IndexSizeError');
      for (const iface of configuration.interfaces) {
        if (!this.claimedNumbers.has(iface.interfaceNumber) || this.interfaceChange.has(iface.interfaceNumber)) continue;
        const endpoint = iface.alternates[this.selectedAlternate(iface)]!.endpoints.find((candidate) => candidate.endpointNumber === endpointNumber && candidate.direction === direction);
        if (endpoint) return endpoint;
      }
      throw new DOMException('The specified endpoint is not part of a claimed and selected alternate interface.', 'NotFoundError');
    }
    private ensureSetup(setup: { requestType?: string; recipient?: string; request?: number; value?: number; index?: number }, what: string): void {
      for (const member of ['requestType', 'recipient', 'request', 'value', 'index'] as const) {
        if (!setup || setup[member] === undefined) throw new TypeError(`Failed to execute '${what}' on 'USBDevice': required member ${member} is undefined.`);
      }
      if (!['standard', 'class', 'vendor'].includes(setup.requestType!)) throw new TypeError(`Failed to execute '${what}' on 'USBDevice': The provided value '${setup.requestType}' is not a valid enum value of type USBRequestType.`);
      if (!['device', 'interface', 'endpoint', 'other'].includes(setup.recipient!)) throw new TypeError(`Failed to execute '${what}' on 'USBDevice': The provided value '${setup.recipient}' is not a valid enum value of type USBRecipient.`);
      if (setup.recipient === 'interface') this.ensureClaimed(setup.index! & 0xff);
      if (setup.recipient === 'endpoint') this.ensureEndpoint(setup.index! & 0x80 ? 'in' : 'out', setup.index! & 0x0f);
    }
    private async call(action: string, argument = 0): Promise<'ok' | 'failed' | 'gone'> {
      return this.track(window.__imprintUsbDevice(this.id, action, argument));
    }

    async open(): Promise<void> {
      this.ensureNoDeviceOrInterfaceChange();
      if (this.isOpened) return;
      this.deviceChange = true;
      try {
        const result = await this.call('open');
        if (result !== 'ok') throw new DOMException('Access denied.', 'SecurityError');
        this.isOpened = true;
      } finally {
        this.deviceChange = false;
      }
    }

    async close(): Promise<void> {
      this.ensureNoDeviceOrInterfaceChange();
      if (!this.isOpened) return;
      this.deviceChange = true;
      try {
        // Closing the handle cancels the transfers still waiting (AbortError, below).
        await this.call('close');
        this.dropHandle();
      } finally {
        this.deviceChange = false;
      }
    }

    async forget(): Promise<void> {
      await window.__imprintUsbForget(this.id);
      this.dropHandle();
      this.lose(new DOMException(DEVICE_DISCONNECTED, 'NotFoundError'), new DOMException(DEVICE_DISCONNECTED, 'NotFoundError'));
    }

    async selectConfiguration(configurationValue: number): Promise<void> {
      this.ensureNoDeviceOrInterfaceChange();
      if (!this.isOpened) throw new DOMException(OPEN_REQUIRED, 'InvalidStateError');
      const index = this.configs.findIndex((config) => config.configurationValue === configurationValue);
      if (index < 0) throw new DOMException('The configuration value provided is not supported by the device.', 'NotFoundError');
      if (this.configIndex === index) return;
      this.deviceChange = true;
      try {
        if ((await this.call('select', configurationValue)) !== 'ok') throw new DOMException('Unable to set device configuration.', 'NetworkError');
        this.configIndex = index;
        this.claimedNumbers.clear();
        this.alternates.clear();
      } finally {
        this.deviceChange = false;
      }
    }

    async claimInterface(interfaceNumber: number): Promise<void> {
      this.findInterface(interfaceNumber);
      if (this.claimedNumbers.has(interfaceNumber)) return;
      this.interfaceChange.add(interfaceNumber);
      try {
        if ((await this.call('claim', interfaceNumber)) !== 'ok') throw new DOMException('Unable to claim interface.', 'NetworkError');
        this.claimedNumbers.add(interfaceNumber);
      } finally {
        this.interfaceChange.delete(interfaceNumber);
      }
    }

    async releaseInterface(interfaceNumber: number): Promise<void> {
      this.findInterface(interfaceNumber);
      if (!this.claimedNumbers.has(interfaceNumber)) return;
      this.interfaceChange.add(interfaceNumber);
      try {
        if ((await this.call('release', interfaceNumber)) !== 'ok') throw new DOMException('Unable to release interface.', 'NetworkError');
        this.claimedNumbers.delete(interfaceNumber);
        this.alternates.delete(interfaceNumber);
      } finally {
        this.interfaceChange.delete(interfaceNumber);
      }
    }

    async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
      const iface = this.ensureClaimed(interfaceNumber);
      const index = iface.alternates.findIndex((alternate) => alternate.alternateSetting === alternateSetting);
      if (index < 0) throw new DOMException('The alternate setting provided is not supported by the device in its current configuration.', 'NotFoundError');
      this.alternates.set(interfaceNumber, index);
    }

    async controlTransferOut(setup: { requestType: string; recipient: string; request: number; value: number; index: number }, data?: BufferSource): Promise<{ status: string; bytesWritten: number }> {
      this.ensureNoDeviceOrInterfaceChange();
      if (!this.isOpened) throw new DOMException(OPEN_REQUIRED, 'InvalidStateError');
      this.ensureSetup(setup, 'controlTransferOut');
      const bytes = data === undefined ? null : bytesOf(data, 'controlTransferOut');
      if (bytes && bytes.length > TRANSFER_LIMIT) throw new DOMException(`The data buffer exceeded supported maximum size of ${TRANSFER_LIMIT} bytes`, 'DataError');
      const plain = { requestType: setup.requestType, recipient: setup.recipient, request: setup.request, value: setup.value, index: setup.index };
      const status = await this.track(window.__imprintUsbControlOut(this.id, plain as never, bytes ? toBase64(bytes) : null), true);
      if (status === 'gone') throw new DOMException(DEVICE_DISCONNECTED, 'NotFoundError');
      return { status, bytesWritten: status === 'ok' ? (bytes?.length ?? 0) : 0 };
    }

    async controlTransferIn(setup: { requestType: string; recipient: string; request: number; value: number; index: number }, length: number): Promise<{ status: string; data: DataView }> {
      this.ensureNoDeviceOrInterfaceChange();
      if (!this.isOpened) throw new DOMException(OPEN_REQUIRED, 'InvalidStateError');
      this.ensureSetup(setup, 'controlTransferIn');
      const plain = { requestType: setup.requestType, recipient: setup.recipient, request: setup.request, value: setup.value, index: setup.index };
      const answer = await this.track(window.__imprintUsbControlIn(this.id, plain as never, length), true);
      if (answer.status === 'gone') throw new DOMException(DEVICE_DISCONNECTED, 'NotFoundError');
      const bytes = fromBase64(answer.base64 ?? '');
      return { status: answer.status, data: new DataView(bytes.buffer) };
    }

    async transferIn(endpointNumber: number, length: number): Promise<{ status: string; data: DataView }> {
      if (length > TRANSFER_LIMIT) throw new DOMException(`The data buffer exceeded supported maximum size of ${TRANSFER_LIMIT} bytes`, 'DataError');
      this.ensureEndpoint('in', endpointNumber);
      const result = await this.track(window.__imprintUsbTransferIn(this.id, endpointNumber, length), true);
      if (!('base64' in result)) {
        if (result.status === 'cancelled') throw new DOMException('The transfer was cancelled.', 'AbortError');
        if (result.status === 'error') throw new DOMException('A transfer error has occurred.', 'NetworkError');
        throw new DOMException(DEVICE_DISCONNECTED, 'NotFoundError');
      }
      const bytes = fromBase64(result.base64);
      return { status: result.status, data: new DataView(bytes.buffer) };
    }

    async transferOut(endpointNumber: number, data: BufferSource): Promise<{ status: string; bytesWritten: number }> {
      this.ensureEndpoint('out', endpointNumber);
      const bytes = bytesOf(data, 'transferOut');
      if (bytes.length > TRANSFER_LIMIT) throw new DOMException(`The data buffer exceeded supported maximum size of ${TRANSFER_LIMIT} bytes`, 'DataError');
      const result = await this.track(window.__imprintUsbTransferOut(this.id, endpointNumber, toBase64(bytes)), true);
      if (result.status === 'gone') throw new DOMException(DEVICE_DISCONNECTED, 'NotFoundError');
      return { status: 'ok', bytesWritten: result.bytesWritten ?? bytes.length };
    }

    async clearHalt(direction: 'in' | 'out', endpointNumber: number): Promise<void> {
      this.ensureEndpoint(direction, endpointNumber);
    }

    async reset(): Promise<void> {
      this.ensureNoDeviceOrInterfaceChange();
      if (!this.isOpened) throw new DOMException(OPEN_REQUIRED, 'InvalidStateError');
      this.deviceChange = true;
      try {
        if ((await this.call('reset')) !== 'ok') throw new DOMException('Unable to reset the device.', 'NetworkError');
      } finally {
        this.deviceChange = false;
      }
    }

    async isochronousTransferIn(): Promise<never> {
      throw new DOMException('The specified endpoint is not part of a claimed and selected alternate interface.', 'NotFoundError');
    }

    async isochronousTransferOut(): Promise<never> {
      throw new DOMException('The specified endpoint is not part of a claimed and selected alternate interface.', 'NotFoundError');
    }

    private dropHandle(): void {
      this.isOpened = false;
      this.claimedNumbers.clear();
      this.alternates.clear();
    }

    /** Blink's OnConnectionError: the device is closed, and every pending request fails. */
    lose(transferError: DOMException, otherError: DOMException): void {
      this.lost = true;
      this.dropHandle();
      const pending = [...this.requests];
      this.requests.clear();
      for (const request of pending) request.reject(request.transfer ? transferError : otherError);
    }
  }

  class StandInUSB extends EventTarget {
    onconnect: ((event: Event) => void) | null = null;
    ondisconnect: ((event: Event) => void) | null = null;
    private readonly devices = new Map<number, StandInUSBDevice>();

    deviceFor(entry: DeviceListing): StandInUSBDevice {
      let device = this.devices.get(entry.id);
      if (!device) this.devices.set(entry.id, (device = new StandInUSBDevice(entry.id, entry.info, entry.configurationValue)));
      return device;
    }

    known(id: number): StandInUSBDevice | undefined {
      return this.devices.get(id);
    }

    async getDevices(): Promise<StandInUSBDevice[]> {
      const list = await window.__imprintUsbList();
      return list.filter((entry) => entry.granted).map((entry) => this.deviceFor(entry));
    }

    async requestDevice(options?: { filters?: UsbFilter[]; exclusionFilters?: UsbFilter[] }): Promise<StandInUSBDevice> {
      if (!options || !Array.isArray(options.filters)) {
        throw new TypeError("Failed to execute 'requestDevice' on 'USB': Failed to read the 'filters' property from 'USBDeviceRequestOptions': Required member is undefined.");
      }
      for (const filter of [...options.filters, ...(options.exclusionFilters ?? [])]) {
        if (filter.productId !== undefined && filter.vendorId === undefined) throw new TypeError("Failed to execute 'requestDevice' on 'USB': A filter containing a productId must also contain a vendorId.");
        if (filter.subclassCode !== undefined && filter.classCode === undefined) throw new TypeError("Failed to execute 'requestDevice' on 'USB': A filter containing a subclassCode must also contain a classCode.");
        if (filter.protocolCode !== undefined && filter.subclassCode === undefined) throw new TypeError("Failed to execute 'requestDevice' on 'USB': A filter containing a protocolCode must also contain a subclassCode.");
      }
      if (!navigator.userActivation?.isActive) {
        throw new DOMException("Failed to execute 'requestDevice' on 'USB': Must be handling a user gesture to show a permission request.", 'SecurityError');
      }
      const list = await window.__imprintUsbList();
      const candidates = list.filter(
        (entry) =>
          (options.filters!.length === 0 || options.filters!.some((filter) => matches(entry.info, filter))) &&
          !(options.exclusionFilters ?? []).some((filter) => matches(entry.info, filter)),
      );
      const chosen = await window.__imprintUsbChooser(candidates.map((entry) => entry.id));
      const entry = candidates.find((candidate) => candidate.id === chosen);
      if (!entry) throw new DOMException("Failed to execute 'requestDevice' on 'USB': No device selected.", 'NotFoundError');
      return this.deviceFor(entry);
    }

    dispatch(type: 'connect' | 'disconnect', device: StandInUSBDevice): void {
      const event = new StandInUSBConnectionEvent(type, { device });
      this.dispatchEvent(event);
      (type === 'connect' ? this.onconnect : this.ondisconnect)?.call(this, event);
    }
  }

  interface UsbFilter {
    vendorId?: number;
    productId?: number;
    classCode?: number;
    subclassCode?: number;
    protocolCode?: number;
    serialNumber?: string;
  }

  /** WebUSB "match a device filter": ids, serial number, and a class triple that the device or any interface alternate has. */
  function matches(info: DeviceInfo, filter: UsbFilter): boolean {
    if (filter.vendorId !== undefined && filter.vendorId !== info.vendorId) return false;
    if (filter.productId !== undefined && filter.productId !== info.productId) return false;
    if (filter.serialNumber !== undefined && filter.serialNumber !== info.serialNumber) return false;
    if (filter.classCode === undefined) return true;
    const fits = (cls: number, subclass: number, protocol: number) =>
      filter.classCode === cls && (filter.subclassCode === undefined || filter.subclassCode === subclass) && (filter.protocolCode === undefined || filter.protocolCode === protocol);
    if (fits(info.deviceClass, info.deviceSubclass, info.deviceProtocol)) return true;
    return CDC_ACM_INTERFACES.some((iface) => iface.alternates.some((alternate) => fits(alternate.interfaceClass, alternate.interfaceSubclass, alternate.interfaceProtocol)));
  }

  const usb = new StandInUSB();
  Object.defineProperty(Navigator.prototype, 'usb', { configurable: true, get: () => usb });
  for (const [name, value] of [
    ['USBDevice', StandInUSBDevice],
    ['USBConnectionEvent', StandInUSBConnectionEvent],
    ['USBConfiguration', StandInUSBConfiguration],
    ['USBInterface', StandInUSBInterface],
    ['USBAlternateInterface', StandInUSBAlternateInterface],
    ['USBEndpoint', StandInUSBEndpoint],
  ] as const) {
    Object.defineProperty(window, name, { configurable: true, writable: true, value });
  }
  Object.defineProperty(window, '__imprintUsbStandIn', {
    configurable: true,
    enumerable: false,
    value: {
      async lose(id: number, errorName: string) {
        const device = usb.known(id);
        if (!device || device.lost) return;
        const transferError =
          errorName === 'NetworkError' ? new DOMException('A transfer error has occurred.', 'NetworkError') : new DOMException(DEVICE_DISCONNECTED, 'NotFoundError');
        device.lose(transferError, new DOMException(DEVICE_DISCONNECTED, 'NotFoundError'));
        // The removal notice comes through another channel than the device's own pipe: a later task.
        await new Promise((resolve) => setTimeout(resolve, 0));
        usb.dispatch('disconnect', device);
      },
      async plugged(id: number) {
        const entry = (await window.__imprintUsbList()).find((candidate) => candidate.id === id);
        if (!entry || !entry.granted) return; // Chrome only tells pages about devices they may use
        usb.dispatch('connect', usb.deviceFor(entry));
      },
    } satisfies StandInControl,
  });
  void window.__imprintUsbDocument();
}
