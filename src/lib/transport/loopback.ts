/**
 * In-memory transports: two connected ends, what one sends the other receives. Used by unit tests
 * and by the simulated board (the board holds one end, the client the other).
 */
import { AsyncQueue } from './queue';
import { type DisconnectInfo, type Transport, TransportFailure } from './types';

export interface LoopbackOptions {
  description?: string;
  framing?: 'console' | 'packet';
}

export class LoopbackTransport implements Transport {
  readonly description: string;
  readonly framing: 'console' | 'packet';
  readonly disconnected: Promise<DisconnectInfo>;
  private readonly incoming = new AsyncQueue<Uint8Array>();
  private peer: LoopbackTransport | null = null;
  private connected = true;
  private resolveDisconnected!: (info: DisconnectInfo) => void;

  constructor(options: LoopbackOptions = {}) {
    this.description = options.description ?? 'loopback';
    this.framing = options.framing ?? 'console';
    this.disconnected = new Promise((resolve) => (this.resolveDisconnected = resolve));
  }

  static pair(options: LoopbackOptions = {}): [LoopbackTransport, LoopbackTransport] {
    const a = new LoopbackTransport(options);
    const b = new LoopbackTransport(options);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  get isConnected(): boolean {
    return this.connected;
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (!this.connected || !this.peer) throw new TransportFailure({ code: 'not-connected', message: `${this.description} is not connected` });
    this.peer.deliver(bytes.slice());
  }

  /** Puts bytes into this end's receive stream, as if the peer had sent them. */
  deliver(bytes: Uint8Array): void {
    if (this.connected) this.incoming.push(bytes);
  }

  receive(): AsyncIterableIterator<Uint8Array> {
    return this.incoming;
  }

  async close(): Promise<void> {
    this.drop({ reason: 'closed', message: `${this.description} closed` });
  }

  /** Cuts the link from this side: both ends see it disconnect, the peer as 'lost'. */
  drop(info: DisconnectInfo): void {
    if (!this.connected) return;
    this.connected = false;
    this.incoming.end();
    this.resolveDisconnected(info);
    const peer = this.peer;
    this.peer = null;
    if (peer) peer.drop({ reason: 'lost', message: `${peer.description}: the other end went away` });
  }
}
