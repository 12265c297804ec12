/**
 * The SMP client: one per connection, over any transport.
 *
 * It assigns sequence numbers, matches each response to its request by seq, group and command,
 * keeps up to `window` requests in flight (the rest wait in order), times out, honours an
 * AbortSignal, and turns v1 `{rc}` and v2 `{err: {group, rc}}` answers into typed errors.
 * It speaks SMP v2 unless told otherwise, and drops to v1 when the board answers in v1.
 */
import type { Transport, DisconnectInfo } from '../transport/types';
import { type CborMap, decodeCborMap, encodeCbor, isCborMap } from './cbor';
import { type SmpError, mgmtError, groupError } from './errors';
import { decodeHeader, encodeHeader, SMP_HEADER_SIZE, type SmpHeader } from './header';
import { MGMT_ERR, MGMT_OP, SMP_VERSION, type SmpVersion, describeCommand } from './ids';
import { openPacketLink, type PacketLink } from './link';
import { type Result, ok, err } from './result';
import type { FramingError } from './framing/serial';

export interface SmpRequest {
  group: number;
  command: number;
  op: 'read' | 'write';
  payload?: CborMap;
  /** Overrides the client's timeout for this request (e.g. erase takes longer). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface SmpExchange {
  time: number;
  direction: 'tx' | 'rx';
  header: SmpHeader;
  command: string;
  /** The decoded CBOR payload, or null when it did not decode. */
  payload: CborMap | null;
  size: number;
}

export interface SmpClientOptions {
  /** Per-request timeout; default 2000 ms. */
  timeoutMs?: number;
  /** Requests in flight at once; default 1. */
  window?: number;
  /** Protocol version to start with; default v2. */
  version?: SmpVersion;
  /** Largest request packet the board takes (header + CBOR); bigger requests fail with `too-large`. */
  maxPacketSize?: number;
  /** Console line length for serial framing (127 for Zephyr). */
  maxLineLength?: number;
  onExchange?: (exchange: SmpExchange) => void;
  onFramingError?: (error: FramingError) => void;
  onConsoleText?: (text: Uint8Array) => void;
  onDisconnect?: (info: DisconnectInfo) => void;
}

interface Pending {
  request: SmpRequest;
  seq: number;
  version: SmpVersion;
  sent: boolean;
  timer: ReturnType<typeof setTimeout> | null;
  settle: (result: Result<CborMap, SmpError>) => void;
  packet: Uint8Array;
}

export const DEFAULT_TIMEOUT_MS = 2000;

export class SmpClient {
  private readonly link: PacketLink;
  private readonly options: SmpClientOptions;
  private readonly inFlight = new Map<number, Pending>();
  private readonly waiting: Pending[] = [];
  private nextSeq = 0;
  private disconnectInfo: DisconnectInfo | null = null;
  private currentVersion: SmpVersion;
  window: number;
  timeoutMs: number;
  maxPacketSize: number | undefined;

  constructor(transport: Transport, options: SmpClientOptions = {}) {
    this.options = options;
    this.window = Math.max(1, options.window ?? 1);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxPacketSize = options.maxPacketSize;
    this.currentVersion = options.version ?? SMP_VERSION.V2;
    this.link = openPacketLink(
      transport,
      {
        onPacket: (packet) => this.handlePacket(packet),
        onFramingError: options.onFramingError,
        onConsoleText: options.onConsoleText,
        onDisconnect: (info) => this.handleDisconnect(info),
      },
      { maxLineLength: options.maxLineLength },
    );
  }

  /** The version new requests use: v2 until the board shows it only speaks v1. */
  get version(): SmpVersion {
    return this.currentVersion;
  }

  get isConnected(): boolean {
    return this.disconnectInfo === null;
  }

  get description(): string {
    return this.link.description;
  }

  /**
   * Sends one request and resolves with its response payload or a typed error. Never rejects.
   * @example const reply = await client.request({ group: 0, command: 0, op: 'write', payload: { d: 'hi' } });
   */
  request(request: SmpRequest): Promise<Result<CborMap, SmpError>> {
    const name = describeCommand(request.group, request.command);
    if (this.disconnectInfo) {
      return Promise.resolve(err({ code: 'not-connected', command: name, message: `${name}: not connected (${this.disconnectInfo.message})` }));
    }
    if (request.signal?.aborted) return Promise.resolve(err({ code: 'aborted', command: name, message: `${name}: cancelled` }));
    const body = encodeCbor(request.payload ?? {});
    const version = this.currentVersion;
    const header: SmpHeader = {
      version,
      op: request.op === 'read' ? MGMT_OP.READ : MGMT_OP.WRITE,
      flags: 0,
      length: body.length,
      group: request.group,
      seq: 0,
      command: request.command,
    };
    const packetSize = SMP_HEADER_SIZE + body.length;
    const limit = Math.min(this.maxPacketSize ?? Infinity, 0xffff);
    if (packetSize > limit) {
      return Promise.resolve(err({ code: 'too-large', command: name, message: `${name}: request of ${packetSize} bytes exceeds the board's ${limit}-byte buffer` }));
    }
    const packet = new Uint8Array(packetSize);
    packet.set(encodeHeader(header), 0);
    packet.set(body, SMP_HEADER_SIZE);

    return new Promise((resolve) => {
      const pending: Pending = { request, seq: -1, version, sent: false, timer: null, packet, settle: () => {} };
      const onAbort = () => pending.settle(err({ code: 'aborted', command: name, message: `${name}: cancelled` }));
      pending.settle = (result) => {
        if (pending.timer) clearTimeout(pending.timer);
        request.signal?.removeEventListener('abort', onAbort);
        const index = this.waiting.indexOf(pending);
        if (index >= 0) this.waiting.splice(index, 1);
        if (pending.sent && this.inFlight.get(pending.seq) === pending) this.inFlight.delete(pending.seq);
        pending.settle = () => {};
        resolve(result);
        this.pump();
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(pending);
      this.pump();
    });
  }

  /** Closes the transport; every pending request settles with `disconnected`. */
  async close(): Promise<void> {
    await this.link.close();
  }

  private pump(): void {
    while (this.waiting.length > 0 && this.inFlight.size < this.window && !this.disconnectInfo) {
      const pending = this.waiting.shift()!;
      this.transmit(pending);
    }
  }

  private allocateSeq(): number {
    for (let tries = 0; tries < 256; tries++) {
      const seq = this.nextSeq;
      this.nextSeq = (this.nextSeq + 1) & 0xff;
      if (!this.inFlight.has(seq)) return seq;
    }
    // The window is at most 255 below, so a free seq always exists; guard anyway.
    return this.nextSeq;
  }

  private transmit(pending: Pending): void {
    const { request } = pending;
    const name = describeCommand(request.group, request.command);
    pending.seq = this.allocateSeq();
    pending.packet[6] = pending.seq;
    // The version is chosen when the packet leaves: requests queued before a drop to v1 go as v1.
    pending.version = this.currentVersion;
    pending.packet[0] = (pending.packet[0]! & 0b111) | (pending.version << 3);
    pending.sent = true;
    this.inFlight.set(pending.seq, pending);
    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    pending.timer = setTimeout(() => {
      pending.settle(err({ code: 'timeout', command: name, message: `${name}: no response in ${formatSeconds(timeoutMs)} — is the board running the SMP server on this ${this.link.description}?` }));
    }, timeoutMs);
    this.log('tx', pending.packet);
    this.link.sendPacket(pending.packet).catch((caught: unknown) => {
      const text = caught instanceof Error ? caught.message : String(caught);
      pending.settle(err({ code: 'transport', command: name, message: `${name}: could not send (${text})` }));
    });
  }

  private handlePacket(packet: Uint8Array): void {
    const decodedHeader = decodeHeader(packet);
    if (!decodedHeader.ok) return;
    const header = decodedHeader.value;
    const isResponse = header.op === MGMT_OP.READ_RSP || header.op === MGMT_OP.WRITE_RSP;
    const pending = this.inFlight.get(header.seq);
    const body = packet.subarray(SMP_HEADER_SIZE);
    const payload = header.length === body.length ? decodeCborMap(body) : null;
    this.log('rx', packet, header, payload?.ok ? payload.value : null);
    if (!isResponse || !pending) return; // a stale answer to a request that timed out or was cancelled
    const { request } = pending;
    const expectedOp = request.op === 'read' ? MGMT_OP.READ_RSP : MGMT_OP.WRITE_RSP;
    if (header.group !== request.group || header.command !== request.command || header.op !== expectedOp) return;
    const name = describeCommand(request.group, request.command);
    if (!payload) {
      pending.settle(err({ code: 'bad-response', command: name, message: `${name}: header says ${header.length} payload bytes, packet has ${body.length}` }));
      return;
    }
    if (!payload.ok) {
      pending.settle(err({ code: 'bad-response', command: name, message: `${name}: ${payload.error.message}` }));
      return;
    }
    const value = payload.value;
    if (header.version === SMP_VERSION.V1 && pending.version === SMP_VERSION.V2) this.currentVersion = SMP_VERSION.V1;

    if (typeof value.rc === 'number' && value.rc === MGMT_ERR.UNSUPPORTED_TOO_NEW && pending.version === SMP_VERSION.V2) {
      // The board only speaks v1: drop to v1 for this and every later request.
      this.currentVersion = SMP_VERSION.V1;
      this.inFlight.delete(pending.seq);
      if (pending.timer) clearTimeout(pending.timer);
      this.transmit(pending);
      return;
    }
    const smpError = responseError(value, request.group, request.command);
    pending.settle(smpError ? err(smpError) : ok(value));
  }

  private handleDisconnect(info: DisconnectInfo): void {
    if (this.disconnectInfo) return;
    this.disconnectInfo = info;
    const everyone = [...this.inFlight.values(), ...this.waiting];
    for (const pending of everyone) {
      const name = describeCommand(pending.request.group, pending.request.command);
      pending.settle(err({ code: 'disconnected', command: name, message: `${name}: the connection ended before the board answered (${info.message})` }));
    }
    this.options.onDisconnect?.(info);
  }

  private log(direction: 'tx' | 'rx', packet: Uint8Array, header?: SmpHeader, payload?: CborMap | null): void {
    if (!this.options.onExchange) return;
    const headerResult = header ? null : decodeHeader(packet);
    const decodedHeader = header ?? (headerResult?.ok ? headerResult.value : null);
    if (!decodedHeader) return;
    let decodedPayload = payload ?? null;
    if (payload === undefined) {
      const decoded = decodeCborMap(packet.subarray(SMP_HEADER_SIZE));
      decodedPayload = decoded.ok ? decoded.value : null;
    }
    this.options.onExchange({
      time: Date.now(),
      direction,
      header: decodedHeader,
      command: describeCommand(decodedHeader.group, decodedHeader.command),
      payload: decodedPayload,
      size: packet.length,
    });
  }
}

/** Reads the error forms out of a response: v2 `{err: {group, rc}}` first, then v1 `{rc}`. */
export function responseError(value: CborMap, group: number, command: number): SmpError | null {
  const v2 = value.err;
  if (isCborMap(v2) && typeof v2.rc === 'number' && typeof v2.group === 'number') {
    return v2.rc === 0 ? null : groupError(v2.group, v2.rc, group, command);
  }
  if (typeof value.rc === 'number' && value.rc !== 0) return mgmtError(value.rc, group, command);
  return null;
}

function formatSeconds(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
