/** Transports: byte movers, nothing more. */
export type { Transport, DisconnectInfo, DisconnectReason, TransportError, TransportErrorCode } from './types';
export { TransportFailure } from './types';
export { LoopbackTransport } from './loopback';
export { AsyncQueue } from './queue';
