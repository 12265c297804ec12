/**
 * A serial wire between host and simulated board: bytes take their real time on the line
 * (8N1: ten bits a byte), each direction its own, so speeds measured against the simulator
 * mean something. `baudRate: Infinity` delivers at once, for fast unit tests.
 */
import { LoopbackTransport } from '../transport/loopback';

export interface WireOptions {
  /** Bits per second; default 115200. */
  baudRate?: number;
  /** What the host side calls this link in messages. */
  description?: string;
  framing?: 'console' | 'packet';
}

export interface SimulatedWire {
  /** The end the SMP client uses. */
  host: LoopbackTransport;
  /** The end the simulated board serves. */
  board: LoopbackTransport;
}

const BITS_PER_BYTE_8N1 = 10;

export function createSimulatedWire(options: WireOptions = {}): SimulatedWire {
  const baudRate = options.baudRate ?? 115200;
  const framing = options.framing ?? 'console';
  const [host, board] = LoopbackTransport.pair({ description: options.description ?? `simulated board at ${baudRate} baud`, framing });
  if (Number.isFinite(baudRate)) {
    delayDeliveries(host, baudRate);
    delayDeliveries(board, baudRate);
  }
  return { host, board };
}

/** Replaces `deliver` on the receiving end so each chunk arrives after its time on the wire. */
function delayDeliveries(end: LoopbackTransport, baudRate: number): void {
  const deliverNow = end.deliver.bind(end);
  let lineBusyUntil = 0;
  end.deliver = (bytes: Uint8Array) => {
    const now = performance.now();
    const start = Math.max(now, lineBusyUntil);
    lineBusyUntil = start + (bytes.length * BITS_PER_BYTE_8N1 * 1000) / baudRate;
    setTimeout(() => deliverNow(bytes), lineBusyUntil - now);
  };
}
