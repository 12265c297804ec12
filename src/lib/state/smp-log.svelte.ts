/**
 * The SMP log a view shows: every request and response the client saw, newest last, capped so a
 * long session cannot grow without bound. Entries are formatted once, when they arrive, so the
 * view and "copy as text" read the same strings.
 */
import type { SmpExchange } from '../smp/client';
import { MGMT_OP } from '../smp/ids';
import { formatCbor } from './cbor-text';

export interface SmpLogEntry {
  /** Unique within one log, for keyed lists. */
  id: number;
  time: number;
  direction: 'tx' | 'rx';
  /** `os/echo`-style name. */
  command: string;
  op: 'read' | 'write' | 'read-rsp' | 'write-rsp';
  seq: number;
  /** SMP packet size in bytes (header + CBOR). */
  size: number;
  /** The decoded CBOR payload as text, or a note when it did not decode. */
  text: string;
}

export const DEFAULT_LOG_LIMIT = 500;

const OP_NAMES: Record<number, SmpLogEntry['op']> = {
  [MGMT_OP.READ]: 'read',
  [MGMT_OP.READ_RSP]: 'read-rsp',
  [MGMT_OP.WRITE]: 'write',
  [MGMT_OP.WRITE_RSP]: 'write-rsp',
};

export class SmpLog {
  entries = $state.raw<SmpLogEntry[]>([]);
  /** Entries that fell off the front because of the cap. */
  dropped = $state(0);
  readonly limit: number;
  private nextId = 1;

  constructor(limit = DEFAULT_LOG_LIMIT) {
    this.limit = limit;
  }

  add(exchange: SmpExchange): void {
    const entry: SmpLogEntry = {
      id: this.nextId++,
      time: exchange.time,
      direction: exchange.direction,
      command: exchange.command,
      op: OP_NAMES[exchange.header.op] ?? 'read',
      seq: exchange.header.seq,
      size: exchange.size,
      text: exchange.payload ? formatCbor(exchange.payload) : '(payload is not a CBOR map)',
    };
    const overflow = Math.max(0, this.entries.length + 1 - this.limit);
    this.entries = [...this.entries.slice(overflow), entry];
    this.dropped += overflow;
  }

  clear(): void {
    this.entries = [];
    this.dropped = 0;
  }

  /**
   * The log as plain text, for the clipboard or a bug report.
   * @example log.toText() // "12:00:01.250 ⇢ os/echo write seq 0, 19 B\n{\n  \"d\": \"hello\"\n}\n"
   */
  toText(): string {
    const lines: string[] = [];
    if (this.dropped > 0) lines.push(`(${this.dropped} earlier entries not kept)`, '');
    for (const entry of this.entries) {
      lines.push(`${formatLogTime(entry.time)} ${directionArrow(entry.direction)} ${entry.command} ${entry.op} seq ${entry.seq}, ${entry.size} B`);
      lines.push(entry.text, '');
    }
    return lines.join('\n');
  }
}

/** ⇢ for what we sent, ⇠ for what the board sent. */
export function directionArrow(direction: 'tx' | 'rx'): string {
  return direction === 'tx' ? '⇢' : '⇠';
}

/** Local wall-clock time with milliseconds, e.g. `14:03:07.215`. */
export function formatLogTime(time: number): string {
  const date = new Date(time);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}
