/**
 * Reassembly of SMP packets from a fragment stream (BLE notifications, USB bulk reads): a packet
 * is complete when its 8-byte header and the `length` bytes it announces have arrived. Nothing
 * marks a packet start, so a header that cannot be right (bad op or version) drops what is
 * buffered: the next fragment starts afresh.
 */
import { concatBytes } from '../../util/bytes';
import { decodeHeader, SMP_HEADER_SIZE } from '../header';
import { type Result, ok, err } from '../result';
import type { FramingError } from './serial';

export class SmpPacketReassembler {
  private buffer: Uint8Array = new Uint8Array(0);

  /** Feeds one fragment; returns the packets it completed and the errors it found, in order. */
  push(fragment: Uint8Array): Result<Uint8Array, FramingError>[] {
    const results: Result<Uint8Array, FramingError>[] = [];
    this.buffer = this.buffer.length === 0 ? fragment.slice() : concatBytes(this.buffer, fragment);
    while (this.buffer.length >= SMP_HEADER_SIZE) {
      const header = decodeHeader(this.buffer);
      if (!header.ok) {
        results.push(err({ code: 'frame-length', message: `fragment does not start an SMP packet (${header.error.message}); dropped` }));
        this.buffer = new Uint8Array(0);
        break;
      }
      const size = SMP_HEADER_SIZE + header.value.length;
      if (this.buffer.length < size) break;
      results.push(ok(this.buffer.slice(0, size)));
      this.buffer = this.buffer.subarray(size);
    }
    return results;
  }

  reset(): void {
    this.buffer = new Uint8Array(0);
  }
}

/** Splits a packet into writes of at most `size` bytes (an ATT write, a USB packet). */
export function splitPacket(packet: Uint8Array, size: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < packet.length; offset += size) pieces.push(packet.subarray(offset, offset + size));
  return pieces;
}
