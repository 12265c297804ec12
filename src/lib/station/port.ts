/**
 * Where a board appears for the station (a serial port, a simulated board), how the Station page
 * shows it, and the first words with the board on it: connect, read its device id.
 */
import { type Board, connectBoard } from '../device';
import type { Transport } from '../transport/types';
import { bytesToHex } from '../util/bytes';

/** A place a board appears: a serial port, a simulated board. */
export interface StationPort {
  /** Unique while the port exists. */
  id: string;
  /** In the operator's words: "USB serial 2fe3:0100 #2", "simulated board SN-0001". */
  label: string;
  /** Opens the link to the board on this port. */
  open(): Promise<Transport>;
  /** A port made for one job (a simulated board made for that serial): only that job takes it. */
  forJob?: string;
}

export type PortStatus = 'idle' | 'probing' | 'busy' | 'spent' | 'error';

export interface PortView {
  id: string;
  label: string;
  /** idle: nothing known, waits for a serial; busy: a job runs on it; spent: its board finished, unplug it. */
  status: PortStatus;
  jobId: string | null;
  deviceId: string | null;
  message: string | null;
}

/** A port as the station holds it. */
export interface PortEntry {
  port: StationPort;
  view: PortView;
  /** The job this port is kept for: its simulated board, or a retry on the board still plugged. */
  reservedFor: string | null;
}

export function defaultConnect(transport: Transport, options: { keysGroup?: number; timeoutMs?: number }): Promise<Board> {
  return connectBoard(transport, { ...(options.keysGroup !== undefined ? { keysGroup: options.keysGroup } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
}

/** The board's device id (hex) from `keys/info`; null when it does not answer it (the run then says why). */
export async function readDeviceId(board: Board): Promise<string | null> {
  const info = await board.keys.info();
  return info.ok ? bytesToHex(info.value.deviceId) : null;
}
