/**
 * Links between host and simulated board that spend real wall-clock time per byte, so speeds
 * measured against the simulator mean something (docs/performance.md derives the limits):
 * - serial: 8N1, ten bits a byte, each direction its own line;
 * - BLE 1M PHY: SMP packets go as ATT writes/notifications of at most MTU-3 bytes, each with
 *   L2CAP (4) and ATT (3) headers, cut into link-layer PDUs of up to 251 bytes (data length
 *   extension); a PDU with p bytes costs (p + 10) × 8 µs on air plus the peer's empty PDU (80 µs)
 *   and two inter-frame spaces (150 µs each). An idle link waits for the next connection event.
 * - USB full speed (CDC-ACM bulk endpoints): bytes go in 64-byte packets, at most 19 bulk
 *   packets per 1 ms frame (12 Mbit/s less the frame's other traffic); an idle link waits for the
 *   next frame. The baud rate of a CDC-ACM port is only a setting, so serial framing applies but
 *   not the UART's speed.
 * `baudRate: Infinity` (serial) delivers at once, for fast unit tests.
 */
import { LoopbackTransport } from '../transport/loopback';

export interface BleLinkModel {
  /** ATT MTU; Zephyr's default with data length extension is 498. */
  attMtu: number;
  /** Link-layer payload per PDU (251 with data length extension, 27 without). */
  llPayload: number;
  /** Connection interval in ms. */
  connectionIntervalMs: number;
}

export const BLE_1M_DEFAULT: BleLinkModel = { attMtu: 498, llPayload: 251, connectionIntervalMs: 7.5 };

export interface UsbLinkModel {
  /** Bulk endpoint packet size: 64 bytes at full speed. */
  packetSize: number;
  /** Bulk packets one 1 ms frame carries. */
  packetsPerFrame: number;
}

export const USB_FULL_SPEED: UsbLinkModel = { packetSize: 64, packetsPerFrame: 19 };

export interface WireOptions {
  /** Serial bits per second; default 115200. Ignored when `ble` is given. */
  baudRate?: number;
  /** Model a BLE 1M PHY link instead of a serial line (packet framing, no base64). */
  ble?: BleLinkModel;
  /** Model a USB full-speed CDC-ACM link instead of a UART (console framing, USB timing). */
  usb?: UsbLinkModel;
  /** What the host side calls this link in messages. */
  description?: string;
}

export interface SimulatedWire {
  /** The end the SMP client uses. */
  host: LoopbackTransport;
  /** The end the simulated board serves. */
  board: LoopbackTransport;
}

const BITS_PER_BYTE_8N1 = 10;
const BLE_ATT_L2CAP_HEADER = 4 + 3;
const BLE_PDU_OVERHEAD_US = 10 * 8 + 150 + 80 + 150;

/** Microseconds a BLE link needs to carry `bytes` of SMP data as ATT writes or notifications. */
export function bleTransferMicros(bytes: number, model: BleLinkModel): number {
  const attPayload = model.attMtu - 3;
  let micros = 0;
  for (let offset = 0; offset < bytes; offset += attPayload) {
    let pduBytes = Math.min(attPayload, bytes - offset) + BLE_ATT_L2CAP_HEADER;
    while (pduBytes > 0) {
      const payload = Math.min(pduBytes, model.llPayload);
      micros += payload * 8 + BLE_PDU_OVERHEAD_US;
      pduBytes -= payload;
    }
  }
  return micros;
}

export function createSimulatedWire(options: WireOptions = {}): SimulatedWire {
  const ble = options.ble;
  const baudRate = options.baudRate ?? 115200;
  const usb = options.usb;
  const description = options.description ?? (ble ? 'simulated board over BLE' : usb ? 'simulated board over USB' : `simulated board at ${baudRate} baud`);
  const [host, board] = LoopbackTransport.pair({ description, framing: ble ? 'packet' : 'console' });
  if (ble) {
    const epoch = performance.now();
    const cost = (bytes: number) => bleTransferMicros(bytes, ble) / 1000;
    const align = (time: number) => epoch + Math.ceil((time - epoch) / ble.connectionIntervalMs) * ble.connectionIntervalMs;
    delayDeliveries(host, cost, align);
    delayDeliveries(board, cost, align);
  } else if (usb) {
    const epoch = performance.now();
    const cost = (bytes: number) => Math.ceil(bytes / usb.packetSize) / usb.packetsPerFrame;
    const align = (time: number) => epoch + Math.ceil(time - epoch);
    delayDeliveries(host, cost, align);
    delayDeliveries(board, cost, align);
  } else if (Number.isFinite(baudRate)) {
    const cost = (bytes: number) => (bytes * BITS_PER_BYTE_8N1 * 1000) / baudRate;
    delayDeliveries(host, cost, (time) => time);
    delayDeliveries(board, cost, (time) => time);
  }
  return { host, board };
}

/** Replaces `deliver` on the receiving end so each chunk arrives after its time on the link. */
function delayDeliveries(end: LoopbackTransport, costMs: (bytes: number) => number, alignIdleStart: (time: number) => number): void {
  const deliverNow = end.deliver.bind(end);
  let busyUntil = 0;
  end.deliver = (bytes: Uint8Array) => {
    const now = performance.now();
    const start = busyUntil > now ? busyUntil : alignIdleStart(now);
    busyUntil = start + costMs(bytes.length);
    setTimeout(() => deliverNow(bytes), busyUntil - now);
  };
}
