/**
 * MCUmgr console ("serial") framing.
 *
 * A packet travels as base64( u16 BE length | packet | u16 BE CRC-16/XMODEM(packet) ), where
 * length = packet length + 2. The base64 text is cut into lines of at most 127 bytes: the first
 * starts with 06 09, continuations with 04 14, each ends with '\n'. Spec: Zephyr "SMP transport
 * over serial/console", and `mcumgr_serial_tx_pkt` in zephyr/subsys/mgmt/mcumgr/transport.
 *
 * The decoder reads a console stream, so it expects log lines, shell prompts and partial writes
 * between frames: it looks for the start markers anywhere in a line, skips everything else,
 * reports a bad frame as a typed error and picks up again at the next 06 09.
 */
import { base64ToBytes, bytesToBase64, concatBytes, utf8 } from '../../util/bytes';
import { type Result, ok, err } from '../result';
import { crc16Xmodem } from './crc16';

export const SERIAL_FRAME_START = Uint8Array.of(0x06, 0x09);
export const SERIAL_FRAME_CONTINUATION = Uint8Array.of(0x04, 0x14);
export const SERIAL_LINE_END = 0x0a;
/** MCUMGR_SERIAL_MAX_FRAME in Zephyr: a whole line, marker and newline included. */
export const SERIAL_MAX_LINE_LENGTH = 127;

export type FramingErrorCode = 'frame-crc' | 'frame-length' | 'frame-base64' | 'frame-incomplete' | 'frame-too-long';
export interface FramingError {
  code: FramingErrorCode;
  message: string;
}

export interface SerialFrameOptions {
  /** Longest line, marker and newline included (default 127, as Zephyr). */
  maxLineLength?: number;
}

/**
 * Frames one SMP packet into console lines, each ready to write as it is.
 * @example encodeSerialFrames(hexToBytes('0200000600004200a16164626161')) // [06 09 "ABACAAAGAABCAKFhZGJhYUvx" 0a]
 */
export function encodeSerialFrames(packet: Uint8Array, options: SerialFrameOptions = {}): Uint8Array[] {
  const maxLineLength = options.maxLineLength ?? SERIAL_MAX_LINE_LENGTH;
  // Base64 chunks must be whole 4-character groups so each line decodes on its own.
  const charsPerLine = Math.floor((maxLineLength - 3) / 4) * 4;
  if (charsPerLine < 4) throw new RangeError(`encodeSerialFrames: maxLineLength ${maxLineLength} leaves no room for data`);
  if (packet.length + 2 > 0xffff) throw new RangeError(`encodeSerialFrames: packet of ${packet.length} bytes is too long to frame`);
  const body = new Uint8Array(packet.length + 4);
  const length = packet.length + 2;
  body[0] = length >> 8;
  body[1] = length & 0xff;
  body.set(packet, 2);
  const crc = crc16Xmodem(packet);
  body[body.length - 2] = crc >> 8;
  body[body.length - 1] = crc & 0xff;
  const text = utf8.encode(bytesToBase64(body));
  const lines: Uint8Array[] = [];
  for (let offset = 0; offset < text.length; offset += charsPerLine) {
    const marker = offset === 0 ? SERIAL_FRAME_START : SERIAL_FRAME_CONTINUATION;
    lines.push(concatBytes(marker, text.subarray(offset, offset + charsPerLine), Uint8Array.of(SERIAL_LINE_END)));
  }
  return lines;
}

export interface SerialFrameDecoderOptions {
  /** Called for every frame that could not be decoded; the decoder has already resynchronised. */
  onError?: (error: FramingError) => void;
  /** Called with console text that is not part of a frame (shell prompt, logs), line by line. */
  onConsoleText?: (line: Uint8Array) => void;
  /** Longest line accepted; an unsplit frame from an old bootloader is one long line (default 96 KiB). */
  maxLineBytes?: number;
}

interface FrameInProgress {
  /** Decoded bytes so far (length prefix, packet, CRC). */
  chunks: Uint8Array[];
  decodedLength: number;
  /** Base64 characters not yet forming a whole 4-character group. */
  leftover: string;
}

const MAX_FRAME_BODY = 0xffff + 2;

/**
 * Streaming decoder: push any chunking of the console byte stream, get whole packets back.
 * @example const decoder = new SerialFrameDecoder(); for (const packet of decoder.push(bytes)) handle(packet);
 */
export class SerialFrameDecoder {
  private line: Uint8Array = new Uint8Array(256);
  private lineLength = 0;
  private lineOverflowed = false;
  private frame: FrameInProgress | null = null;
  private readonly options: SerialFrameDecoderOptions;
  private readonly maxLineBytes: number;

  constructor(options: SerialFrameDecoderOptions = {}) {
    this.options = options;
    this.maxLineBytes = options.maxLineBytes ?? 96 * 1024;
  }

  /** Feeds bytes; returns the packets completed by them (possibly none). Bad frames go to `onError`. */
  push(bytes: Uint8Array): Uint8Array[] {
    const packets: Uint8Array[] = [];
    for (const result of this.pushResults(bytes)) {
      if (result.ok) packets.push(result.value);
      else this.options.onError?.(result.error);
    }
    return packets;
  }

  /** Like `push`, but returns errors in order with the packets. */
  pushResults(bytes: Uint8Array): Result<Uint8Array, FramingError>[] {
    const results: Result<Uint8Array, FramingError>[] = [];
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== SERIAL_LINE_END) continue;
      this.appendToLine(bytes.subarray(start, i));
      start = i + 1;
      const overflowed = this.lineOverflowed;
      const line = this.line.subarray(0, this.lineLength);
      this.lineLength = 0;
      this.lineOverflowed = false;
      if (overflowed) {
        this.frame = null;
        results.push(err({ code: 'frame-too-long', message: `console line longer than ${this.maxLineBytes} bytes; dropped` }));
        continue;
      }
      this.handleLine(line, results);
    }
    this.appendToLine(bytes.subarray(start));
    return results;
  }

  /** Drops any partial line or frame, e.g. after a reconnect. */
  reset(): void {
    this.lineLength = 0;
    this.lineOverflowed = false;
    this.frame = null;
  }

  private appendToLine(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.lineOverflowed) return;
    const needed = this.lineLength + bytes.length;
    if (needed > this.maxLineBytes) {
      this.lineOverflowed = true;
      return;
    }
    if (needed > this.line.length) {
      const grown = new Uint8Array(Math.min(this.maxLineBytes, Math.max(needed, this.line.length * 2)));
      grown.set(this.line.subarray(0, this.lineLength));
      this.line = grown;
    }
    this.line.set(bytes, this.lineLength);
    this.lineLength = needed;
  }

  /** Handles one whole line; pushes errors and a finished packet onto `results` in the order they happen. */
  private handleLine(rawLine: Uint8Array, results: Result<Uint8Array, FramingError>[]): void {
    const marker = findMarker(rawLine);
    if (!marker) {
      if (rawLine.length > 0) this.options.onConsoleText?.(rawLine.slice());
      return;
    }
    if (marker.index > 0) {
      this.options.onConsoleText?.(rawLine.slice(0, marker.index));
      // Another marker before the last one: a frame line was cut off (no newline) by this marker.
      if (findMarker(rawLine.subarray(0, marker.index))) {
        this.frame = null;
        results.push(err({ code: 'frame-incomplete', message: 'frame ended early: a frame line was cut off by the next marker' }));
      }
    }
    let text = rawLine.subarray(marker.index + 2);
    if (text.length > 0 && text[text.length - 1] === 0x0d) text = text.subarray(0, text.length - 1);

    if (marker.isStart) {
      if (this.frame) results.push(err({ code: 'frame-incomplete', message: 'frame ended early: a new frame started before the last one was complete' }));
      this.frame = { chunks: [], decodedLength: 0, leftover: '' };
    } else if (!this.frame) {
      // A continuation whose start we never saw (we connected mid-frame): nothing to attach it to.
      results.push(err({ code: 'frame-incomplete', message: 'continuation line without a frame start; skipped' }));
      return;
    }
    const progress = this.addText(this.frame, text);
    if (progress) results.push(progress);
  }

  /** Adds one line's base64 text; returns a packet or error when the frame is finished, null while it needs more lines. */
  private addText(frame: FrameInProgress, text: Uint8Array): Result<Uint8Array, FramingError> | null {
    const combined = frame.leftover + utf8.decode(text);
    const whole = combined.length - (combined.length % 4);
    frame.leftover = combined.slice(whole);
    if (whole > 0) {
      const bytes = base64ToBytes(combined.slice(0, whole));
      if (!bytes) return this.fail({ code: 'frame-base64', message: 'frame is not valid base64' });
      frame.chunks.push(bytes);
      frame.decodedLength += bytes.length;
    }
    if (frame.decodedLength > MAX_FRAME_BODY + 2) return this.fail({ code: 'frame-too-long', message: 'frame longer than any SMP packet' });
    if (frame.decodedLength < 2) return null;
    const body = frame.chunks.length === 1 ? frame.chunks[0]! : concatBytes(...frame.chunks);
    frame.chunks = [body];
    const length = (body[0]! << 8) | body[1]!;
    if (length < 2) return this.fail({ code: 'frame-length', message: `frame length ${length} is too short to hold a CRC` });
    const expected = length + 2;
    if (frame.decodedLength < expected) return null;
    if (frame.decodedLength > expected || frame.leftover.length > 0) {
      return this.fail({ code: 'frame-length', message: `frame says ${length} bytes but carries ${frame.decodedLength - 2}` });
    }
    this.frame = null;
    const packet = body.slice(2, expected - 2);
    const crc = (body[expected - 2]! << 8) | body[expected - 1]!;
    const computed = crc16Xmodem(packet);
    if (crc !== computed) {
      return err({ code: 'frame-crc', message: `frame CRC mismatch (received 0x${crc.toString(16).padStart(4, '0')}, computed 0x${computed.toString(16).padStart(4, '0')})` });
    }
    return ok(packet);
  }

  private fail(error: FramingError): Result<Uint8Array, FramingError> {
    this.frame = null;
    return err(error);
  }
}

/** The last marker wins: base64 never contains 0x06 or 0x04, so anything before it is noise or a cut-off frame. */
function findMarker(line: Uint8Array): { index: number; isStart: boolean } | null {
  for (let i = line.length - 2; i >= 0; i--) {
    if (line[i] === 0x06 && line[i + 1] === 0x09) return { index: i, isStart: true };
    if (line[i] === 0x04 && line[i + 1] === 0x14) return { index: i, isStart: false };
  }
  return null;
}
