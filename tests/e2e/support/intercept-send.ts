/** A Transport that is `inner` in every way except how the page's bytes are sent on: tests intercept writes with it. */
import type { Transport } from '../../../src/lib/transport/types';

export function interceptSend(inner: Transport, send: (bytes: Uint8Array) => Promise<void>): Transport {
  return {
    get description() {
      return inner.description;
    },
    get framing() {
      return inner.framing;
    },
    get isConnected() {
      return inner.isConnected;
    },
    get disconnected() {
      return inner.disconnected;
    },
    receive: () => inner.receive(),
    close: () => inner.close(),
    send,
  };
}
