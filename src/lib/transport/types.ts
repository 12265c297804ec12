/**
 * A transport moves bytes and nothing else. Framing belongs to the SMP layer, so one client serves
 * every transport; `framing` tells it which framing this transport's bytes need.
 */

export type DisconnectReason =
  /** We closed it. */
  | 'closed'
  /** The device went away (cable pulled, board reset, process exited). */
  | 'lost'
  /** The platform reported an I/O error. */
  | 'error';

export interface DisconnectInfo {
  reason: DisconnectReason;
  message: string;
}

export interface Transport {
  /** Where the bytes go, in words an operator recognises, e.g. "serial port at 115200 baud". */
  readonly description: string;
  /** `console`: a byte stream needing MCUmgr serial framing. `packet`: each chunk is one SMP packet (BLE). */
  readonly framing: 'console' | 'packet';
  send(bytes: Uint8Array): Promise<void>;
  /** The received bytes, in order. One consumer; the iteration ends when the transport disconnects. */
  receive(): AsyncIterableIterator<Uint8Array>;
  close(): Promise<void>;
  /** Settles once, when the transport is gone, whoever closed it. */
  readonly disconnected: Promise<DisconnectInfo>;
  readonly isConnected: boolean;
}

export type TransportErrorCode = 'not-supported' | 'no-port-chosen' | 'open-failed' | 'not-connected' | 'write-failed';
export interface TransportError {
  code: TransportErrorCode;
  message: string;
}

export class TransportFailure extends Error {
  readonly code: TransportErrorCode;
  constructor(error: TransportError) {
    super(error.message);
    this.name = 'TransportFailure';
    this.code = error.code;
  }
}
