/**
 * The 8-byte SMP header (big-endian):
 *   byte 0: reserved (bits 7..5) | version (bits 4..3) | op (bits 2..0)
 *   byte 1: flags, byte 2-3: payload length, byte 4-5: group, byte 6: seq, byte 7: command id
 * Spec: Zephyr "SMP Protocol Specification", section "SMP frame format".
 */
import { type MgmtOp, type SmpVersion } from './ids';
import { type Result, ok, err } from './result';

export const SMP_HEADER_SIZE = 8;

export interface SmpHeader {
  version: SmpVersion;
  op: MgmtOp;
  flags: number;
  /** Length of the CBOR payload that follows the header. */
  length: number;
  group: number;
  seq: number;
  command: number;
}

export type HeaderErrorCode = 'header-short' | 'header-op' | 'header-version' | 'header-field';
export interface HeaderError {
  code: HeaderErrorCode;
  message: string;
}

/** @example encodeHeader({ version: 0, op: 2, flags: 0, length: 6, group: 0, seq: 0x42, command: 0 }) */
export function encodeHeader(header: SmpHeader): Uint8Array {
  checkField(header.flags, 0xff, 'flags');
  checkField(header.length, 0xffff, 'length');
  checkField(header.group, 0xffff, 'group');
  checkField(header.seq, 0xff, 'seq');
  checkField(header.command, 0xff, 'command');
  checkField(header.version, 3, 'version');
  checkField(header.op, 7, 'op');
  const out = new Uint8Array(SMP_HEADER_SIZE);
  out[0] = ((header.version & 0b11) << 3) | (header.op & 0b111);
  out[1] = header.flags;
  out[2] = header.length >> 8;
  out[3] = header.length & 0xff;
  out[4] = header.group >> 8;
  out[5] = header.group & 0xff;
  out[6] = header.seq;
  out[7] = header.command;
  return out;
}

function checkField(value: number, max: number, field: string): void {
  // Programming errors on our side, not outside bytes: a RangeError names the field.
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`encodeHeader: ${field} must be an integer 0..${max}, got ${value}`);
  }
}

export function decodeHeader(bytes: Uint8Array): Result<SmpHeader, HeaderError> {
  if (bytes.length < SMP_HEADER_SIZE) {
    return err({ code: 'header-short', message: `SMP header needs ${SMP_HEADER_SIZE} bytes, got ${bytes.length}` });
  }
  const version = (bytes[0]! >> 3) & 0b11;
  const op = bytes[0]! & 0b111;
  if (op > 3) return err({ code: 'header-op', message: `SMP header op ${op} is not read/write or a response` });
  if (version > 1) return err({ code: 'header-version', message: `SMP header version ${version} is not v1 or v2` });
  return ok({
    version: version as SmpVersion,
    op: op as MgmtOp,
    flags: bytes[1]!,
    length: (bytes[2]! << 8) | bytes[3]!,
    group: (bytes[4]! << 8) | bytes[5]!,
    seq: bytes[6]!,
    command: bytes[7]!,
  });
}
