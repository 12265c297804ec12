/**
 * The simulated board: a real SMP server. It reads frames off its end of a transport with the
 * same framing code the client uses, dispatches to a handler table per group, and answers in
 * the version it was asked in, with Zephyr's quirks where Zephyr has them (unknown group → v1
 * `{rc: 8}` even to a v2 request; oversized packets silently dropped).
 */
import { type CborMap, decodeCborMap, encodeCbor } from '../smp/cbor';
import { encodeSerialFrames, SerialFrameDecoder } from '../smp/framing/serial';
import { SmpPacketReassembler } from '../smp/framing/packet';
import { decodeHeader, encodeHeader, SMP_HEADER_SIZE, type SmpHeader } from '../smp/header';
import { MGMT_ERR, MGMT_OP, SMP_VERSION, type SmpVersion } from '../smp/ids';
import type { Transport } from '../transport/types';
import { concatBytes, utf8 } from '../util/bytes';
import { FaultState } from './faults';

/** A refusal: a v1 `rc`, or a v2 group error with the `rc` a v1 request gets instead. */
export class SimFailure {
  constructor(
    readonly v1Rc: number,
    readonly groupError?: { group: number; rc: number },
  ) {}
}

export const mgmtFailure = (rc: number): SimFailure => new SimFailure(rc);
export const groupFailure = (group: number, rc: number, v1Rc: number): SimFailure => new SimFailure(v1Rc, { group, rc });

/** What a handler answers: a response map (encoded as CBOR as it is) or a failure. */
export type HandlerResult = Record<string, unknown> | SimFailure;

export interface HandlerContext {
  payload: CborMap;
  version: SmpVersion;
  board: SimulatedBoard;
}

export type Handler = (context: HandlerContext) => HandlerResult | Promise<HandlerResult>;

export interface CommandHandlers {
  read?: Handler;
  write?: Handler;
}

export interface SimulatedBoardOptions {
  /** MCUmgr buffer size in bytes, from 2048 (roomy) down to 128 (8 KB-SRAM part); default 2048. */
  bufSize?: number;
  bufCount?: number;
  /** Shown by OS info and used to derive the board's identity. */
  name?: string;
  serialNumber?: string;
  /** Time the board takes per request, in ms (Zephyr's smp_svr answers on a 10 ms tick). */
  processingMs?: number;
  /** Time after a reset before the board answers again, in ms. */
  bootMs?: number;
}

export class SimulatedBoard {
  readonly bufSize: number;
  readonly bufCount: number;
  readonly name: string;
  readonly serialNumber: string;
  readonly faults = new FaultState();
  processingMs: number;
  bootMs: number;
  /** How many times the board has booted; handlers use it to forget volatile state. */
  bootCount = 1;
  private readonly groups = new Map<number, Map<number, CommandHandlers>>();
  private readonly rebootListeners: (() => void)[] = [];
  private transport: Transport | null = null;
  private booting = false;
  private queue: Promise<void> = Promise.resolve();
  /** Requests seen and responses sent, for tests that check what crossed the wire. */
  readonly stats = { requests: 0, responses: 0, dropped: 0 };

  constructor(options: SimulatedBoardOptions = {}) {
    this.bufSize = options.bufSize ?? 2048;
    this.bufCount = options.bufCount ?? 4;
    this.name = options.name ?? 'imprint-sim';
    this.serialNumber = options.serialNumber ?? 'SIM-0001';
    this.processingMs = options.processingMs ?? 0;
    this.bootMs = options.bootMs ?? 200;
  }

  /** Largest packet (header + CBOR) the board takes: on a console link the frame's length and CRC share the buffer. */
  maxPacketSize(framing: 'console' | 'packet' = 'console'): number {
    return framing === 'console' ? this.bufSize - 4 : this.bufSize;
  }

  register(group: number, command: number, handlers: CommandHandlers): void {
    let table = this.groups.get(group);
    if (!table) this.groups.set(group, (table = new Map()));
    table.set(command, handlers);
  }

  /** The handlers registered for a command, so a test can wrap one (a board that answers a wrong signature). */
  handlers(group: number, command: number): CommandHandlers | undefined {
    return this.groups.get(group)?.get(command);
  }

  onReboot(listener: () => void): void {
    this.rebootListeners.push(listener);
  }

  /** Serves SMP on `transport` until it disconnects. A board serves one link at a time. */
  serve(transport: Transport): void {
    this.transport = transport;
    const decoder = transport.framing === 'console' ? new SerialFrameDecoder() : null;
    const reassembler = new SmpPacketReassembler();
    void (async () => {
      for await (const chunk of transport.receive()) {
        const packets = decoder ? decoder.push(chunk) : reassembler.push(chunk).flatMap((result) => (result.ok ? [result.value] : []));
        for (const packet of packets) this.queue = this.queue.then(() => this.handlePacket(transport, packet));
      }
    })();
  }

  /** Cuts the link, as a pulled cable does. */
  disconnect(): void {
    const transport = this.transport as (Transport & { drop?: (info: { reason: 'lost'; message: string }) => void }) | null;
    if (transport?.drop) transport.drop({ reason: 'lost', message: 'the board went away' });
    else void transport?.close();
  }

  /** Reboots: volatile state is lost, the boot banner appears on the console, requests are ignored for `bootMs`. */
  reboot(): void {
    this.bootCount++;
    const boot = this.bootCount;
    this.booting = true;
    for (const listener of this.rebootListeners) listener();
    const transport = this.transport;
    // Boot ends and the banner appears in one callback: a host that waits for the banner never finds the
    // board still booting (comparing clocks did: a timer may fire a few ms before Date.now() catches up).
    setTimeout(() => {
      if (this.bootCount !== boot) return; // rebooted again meanwhile
      this.booting = false;
      if (transport?.framing === 'console' && transport.isConnected) {
        void transport.send(utf8.encode(`*** Booting Zephyr OS (simulated ${this.name}) ***\r\n\r\nuart:~$ `)).catch(() => {});
      }
    }, this.bootMs);
  }


  private async handlePacket(transport: Transport, packet: Uint8Array): Promise<void> {
    const decoded = decodeHeader(packet);
    if (!decoded.ok) return;
    const header = decoded.value;
    if (header.op !== MGMT_OP.READ && header.op !== MGMT_OP.WRITE) return;
    if (packet.length > this.maxPacketSize(transport.framing) || header.length !== packet.length - SMP_HEADER_SIZE) {
      this.stats.dropped++;
      return; // Zephyr drops an oversized or inconsistent packet without a word
    }
    if (this.booting) return;
    if (this.faults.take('dropRequests')) return;
    this.stats.requests++;
    if (this.processingMs > 0) await sleep(this.processingMs);
    const payload = decodeCborMap(packet.subarray(SMP_HEADER_SIZE));
    const result: HandlerResult = payload.ok ? await this.dispatch(header, payload.value) : mgmtFailure(MGMT_ERR.EINVAL);
    let body = encodeCbor(toResponseMap(result, header.version));
    if (SMP_HEADER_SIZE + body.length > this.maxPacketSize(transport.framing)) body = encodeCbor({ rc: MGMT_ERR.EMSGSIZE });
    const response = concatBytes(
      encodeHeader({ ...header, op: header.op === MGMT_OP.READ ? MGMT_OP.READ_RSP : MGMT_OP.WRITE_RSP, length: body.length }),
      body,
    );
    await this.sendResponse(transport, response);
  }

  private async dispatch(header: SmpHeader, payload: CborMap): Promise<HandlerResult> {
    const handlers = this.groups.get(header.group)?.get(header.command);
    const handler = header.op === MGMT_OP.READ ? handlers?.read : handlers?.write;
    if (!handler) return mgmtFailure(MGMT_ERR.ENOTSUP);
    try {
      return await handler({ payload, version: header.version as SmpVersion, board: this });
    } catch {
      return mgmtFailure(MGMT_ERR.EUNKNOWN);
    }
  }

  private async sendResponse(transport: Transport, response: Uint8Array): Promise<void> {
    const faults = this.faults;
    if (faults.plan.delayMs) await sleep(faults.plan.delayMs);
    if (faults.take('dropResponses') || faults.roll(faults.plan.dropRate)) return;
    let bytes: Uint8Array = transport.framing === 'console' ? concatBytes(...encodeSerialFrames(response)) : response;
    if (faults.take('corruptResponses') || faults.roll(faults.plan.corruptRate)) {
      bytes = bytes.slice();
      // Flip a base64 character inside the frame, never the marker or newline, so only the CRC can tell.
      const index = transport.framing === 'console' ? 2 + faults.randomIndex(Math.max(1, bytes.length - 4)) : faults.randomIndex(bytes.length);
      bytes[index] = bytes[index] === 0x41 ? 0x42 : 0x41;
    }
    if (!transport.isConnected) return;
    try {
      if (faults.plan.logNoise && transport.framing === 'console') {
        await transport.send(utf8.encode(`[00:00:${String(this.stats.responses % 60).padStart(2, '0')}.000,000] <inf> smp_sim: handled request\r\n`));
      }
      if (faults.takeDisconnect()) {
        await transport.send(bytes.subarray(0, Math.floor(bytes.length / 2)));
        this.disconnect();
        return;
      }
      const pieceSize = faults.plan.splitWritesBytes;
      if (pieceSize && pieceSize > 0) {
        for (let offset = 0; offset < bytes.length; offset += pieceSize) {
          await transport.send(bytes.subarray(offset, offset + pieceSize));
          await sleep(1);
        }
      } else {
        await transport.send(bytes);
      }
      this.stats.responses++;
    } catch {
      // The link went down while answering: the client sees the disconnect.
    }
  }
}

function toResponseMap(result: HandlerResult, version: SmpVersion): Record<string, unknown> {
  if (!(result instanceof SimFailure)) return result;
  if (result.groupError && version === SMP_VERSION.V2) return { err: result.groupError };
  return { rc: result.v1Rc };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
