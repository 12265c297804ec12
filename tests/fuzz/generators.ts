/**
 * Generators and mutators for fuzzing the SMP layer: a seeded PRNG (so a failing case can be
 * replayed with `--seed`), Zephyr-like payloads and console noise, hand-crafted serial frames
 * (with a chosen length or CRC, to corrupt them on purpose) and byte/line mutations.
 * Shared by `scripts/fuzz.ts` (100k cases per target), the unit tests' smoke run and the framing tests.
 */
import { encodeCbor, type CborMap, type CborValue } from '../../src/lib/smp/cbor';
import { crc16Xmodem } from '../../src/lib/smp/framing/crc16';
import { SERIAL_FRAME_CONTINUATION, SERIAL_FRAME_START, SERIAL_LINE_END, SERIAL_MAX_LINE_LENGTH } from '../../src/lib/smp/framing/serial';
import { encodeHeader, type SmpHeader } from '../../src/lib/smp/header';
import { bytesToBase64, concatBytes, utf8 } from '../../src/lib/util/bytes';

export interface Rng {
  /** Uniform in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [min, max]. */
  range(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Uint8Array;
}

/** mulberry32: tiny, fast, good enough to spread fuzz cases; same seed, same cases. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const float = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(float() * n);
  return {
    float,
    int,
    range: (min, max) => min + int(max - min + 1),
    chance: (p) => float() < p,
    pick: (items) => items[int(items.length)]!,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
  };
}

/** What a Zephyr console prints between frames (from the zephyr-smp peer's README and a real boot log). */
export const CONSOLE_NOISE: readonly string[] = [
  'uart:~$ ',
  '\r\n\r\nuart:~$ ',
  '[00:00:01.000,000] <inf> x: y\r\n',
  '[00:00:00.010,000] <inf> smp_sample: build time: Jan  1 2024 00:00:00\r\n',
  '*** Booting nRF Connect SDK v2.5.0 ***\r\n',
  '[00:00:02.500,000] <err> mcuboot_util: Image in the primary slot is not valid!\r\n',
  '\r\n',
  'kernel version\r\n',
  'Zephyr version 3.4.99\r\n',
];

const NOISE_ALPHABET = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\t\r';
const BASE64_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

/** Printable console text with no frame marker in it; `newline` ends it as a line, otherwise it glues to what follows. */
export function randomNoise(rng: Rng, newline = true): Uint8Array {
  let text = '';
  if (rng.chance(0.6)) {
    text = rng.pick(CONSOLE_NOISE).replace(/\r?\n$/, '');
  } else {
    const length = rng.int(80);
    for (let i = 0; i < length; i++) text += NOISE_ALPHABET[rng.int(NOISE_ALPHABET.length)];
  }
  return utf8.encode(newline ? text + '\r\n' : text.replace(/[\r\n]+$/, ''));
}

export interface CraftOptions {
  /** Value of the 2-byte length prefix; the correct one is packet length + 2. */
  length?: number;
  /** CRC to send instead of the correct CRC-16/XMODEM. */
  crc?: number;
  /** As `encodeSerialFrames`: longest line, marker and newline included. */
  maxLineLength?: number;
}

/** The raw frame body: u16 BE length | packet | u16 BE CRC, with optional lies in length or CRC. */
export function frameBody(packet: Uint8Array, options: CraftOptions = {}): Uint8Array {
  const length = options.length ?? packet.length + 2;
  const crc = options.crc ?? crc16Xmodem(packet);
  return concatBytes(Uint8Array.of((length >> 8) & 0xff, length & 0xff), packet, Uint8Array.of((crc >> 8) & 0xff, crc & 0xff));
}

/** Frames a packet the way Zephyr does (independently of `encodeSerialFrames`), optionally with a wrong length or CRC. */
export function craftFrame(packet: Uint8Array, options: CraftOptions = {}): Uint8Array[] {
  const text = utf8.encode(bytesToBase64(frameBody(packet, options)));
  const maxLineLength = options.maxLineLength ?? SERIAL_MAX_LINE_LENGTH;
  const perLine = Math.max(4, Math.floor((maxLineLength - 3) / 4) * 4);
  const lines: Uint8Array[] = [];
  for (let offset = 0; offset < text.length; offset += perLine) {
    const marker = offset === 0 ? SERIAL_FRAME_START : SERIAL_FRAME_CONTINUATION;
    lines.push(concatBytes(marker, text.subarray(offset, offset + perLine), Uint8Array.of(SERIAL_LINE_END)));
  }
  return lines;
}

/** Cuts bytes into random chunks, as a serial port delivers them: often tiny, sometimes large. */
export function randomChunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = rng.chance(0.3) ? rng.range(1, 4) : rng.chance(0.7) ? rng.range(1, 64) : rng.range(1, 2048);
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

const KEYS = [
  'r', 'd', 'rc', 'err', 'group', 'off', 'len', 'data', 'sha', 'images', 'slot', 'version', 'hash', 'bootable',
  'pending', 'confirmed', 'active', 'permanent', 'splitStatus', 'buf_size', 'buf_count', 'output', 'name',
  'fields', 'tasks', 'argv', 'o', 'ret', 'format', 'match', 'upgrade', 'image', '', 'ü', '__proto__', 'constructor',
] as const;

function randomInteger(rng: Rng): number {
  switch (rng.int(6)) {
    case 0:
      return rng.int(24);
    case 1:
      return rng.int(256);
    case 2:
      return rng.int(0x10000);
    case 3:
      return rng.int(0x100000000);
    case 4:
      return -1 - rng.int(1000);
    default:
      return rng.int(Number.MAX_SAFE_INTEGER);
  }
}

function randomString(rng: Rng): string {
  const length = rng.chance(0.9) ? rng.int(24) : rng.int(300);
  let text = '';
  for (let i = 0; i < length; i++) text += rng.chance(0.95) ? NOISE_ALPHABET[rng.int(NOISE_ALPHABET.length)] : rng.pick(['ü', '水', '𐅑', '\u0000']);
  return text;
}

/** A random CBOR value of the kinds SMP uses (no floats, no tags, no undefined). */
export function randomValue(rng: Rng, depth = 0): CborValue {
  const kind = depth > 3 ? rng.int(5) : rng.int(7);
  switch (kind) {
    case 0:
      return randomInteger(rng);
    case 1:
      return randomString(rng);
    case 2:
      return rng.bytes(rng.chance(0.8) ? rng.int(40) : rng.int(600));
    case 3:
      return rng.chance(0.5);
    case 4:
      return null;
    case 5:
      return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
    default:
      return randomMap(rng, depth + 1);
  }
}

export function randomMap(rng: Rng, depth = 0): CborMap {
  const map: CborMap = {};
  const size = rng.int(6);
  for (let i = 0; i < size; i++) {
    const key = rng.chance(0.8) ? rng.pick(KEYS) : randomString(rng);
    Object.defineProperty(map, key, { value: randomValue(rng, depth), enumerable: true, writable: true, configurable: true });
  }
  return map;
}

/** Answers a Zephyr board really gives (see the peer's README), plus the error forms. */
export function realisticPayload(rng: Rng): CborMap {
  switch (rng.int(12)) {
    case 0:
      return { r: randomString(rng) };
    case 1:
      return { rc: rng.pick([0, 0, 0, 1, 3, 5, 6, 8, 13]) };
    case 2:
      return { err: { group: rng.pick([0, 1, 2, 8, 9, 64]), rc: rng.int(34) } };
    case 3:
      return { off: rng.int(430080) };
    case 4:
      return { buf_size: 1100, buf_count: 4 };
    case 5:
      return { output: 'Zephyr unknown v3.4.99-ncs 3.4.99 posix unknown native_sim_64 Zephyr' };
    case 6:
      return { images: [], splitStatus: 0 };
    case 7:
      return {
        images: [
          { slot: 1, version: '1.2.3.4', hash: rng.bytes(32), bootable: true, pending: rng.chance(0.5), confirmed: false, active: false, permanent: false },
        ],
        splitStatus: 0,
      };
    case 8:
      return { name: 'smp_svr_stats', fields: { ticks: rng.int(1000) } };
    case 9:
      return { o: 'Zephyr version 3.4.99\r\n', ret: 0 };
    case 10:
      return { tasks: { idle: { prio: 15, tid: 1, state: 0, stkuse: 60, stksiz: 320, cswcnt: 0, runtime: 0 } } };
    default:
      return randomMap(rng);
  }
}

/** Encodes like zcbor does: maps (and sometimes arrays) of indefinite length, bf … ff. */
export function encodeIndefinite(rng: Rng, value: CborValue): Uint8Array {
  if (Array.isArray(value)) {
    const items = value.map((item) => encodeIndefinite(rng, item));
    if (rng.chance(0.5)) return concatBytes(Uint8Array.of(0x9f), ...items, Uint8Array.of(0xff));
    return concatBytes(cborHead(4, items.length), ...items);
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const parts: Uint8Array[] = [Uint8Array.of(0xbf)];
    for (const [key, item] of Object.entries(value)) parts.push(encodeCbor(key), encodeIndefinite(rng, item));
    parts.push(Uint8Array.of(0xff));
    return concatBytes(...parts);
  }
  return encodeCbor(value);
}

/** A definite-length CBOR head: major type and count. */
function cborHead(major: number, count: number): Uint8Array {
  const type = major << 5;
  if (count < 24) return Uint8Array.of(type | count);
  if (count < 0x100) return Uint8Array.of(type | 24, count);
  return Uint8Array.of(type | 25, count >> 8, count & 0xff);
}

/** An SMP response packet for a request header, carrying `payload` (definite or indefinite CBOR). */
export function responsePacket(rng: Rng, request: SmpHeader, payload: CborMap): Uint8Array {
  const body = rng.chance(0.5) ? encodeIndefinite(rng, payload) : encodeCbor(payload);
  const header: SmpHeader = { ...request, op: (request.op | 1) as SmpHeader['op'], length: body.length };
  return concatBytes(encodeHeader(header), body);
}

/** CBOR heads worth planting: indefinite and huge lengths, breaks, tags, undefined, floats, simple values. */
const INTERESTING_BYTES = [0x00, 0xff, 0xbf, 0x9f, 0x7f, 0x5f, 0xa0, 0x80, 0xf7, 0xf6, 0xf9, 0xfb, 0xc0, 0xc2, 0xd8, 0x1b, 0x3b, 0x1c, 0xf8, 0xe0, 0x06, 0x04, 0x0a];
const HUGE_HEADS = [0x5b, 0x7b, 0x9b, 0xbb, 0x5a, 0x7a, 0x9a, 0xba];

/** One random byte-level mutation (never the identity for non-empty input). */
export function mutateBytes(rng: Rng, bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const at = bytes.length > 0 ? rng.int(bytes.length) : 0;
  switch (bytes.length === 0 ? 3 : rng.int(11)) {
    case 0:
      out[at] = out[at]! ^ (1 << rng.int(8));
      return out;
    case 1:
      out[at] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
      return out;
    case 2:
      return bytes.subarray(0, at);
    case 3:
      return concatBytes(bytes.subarray(0, at), rng.chance(0.5) ? Uint8Array.of(rng.pick(INTERESTING_BYTES)) : rng.bytes(rng.range(1, 8)), bytes.subarray(at));
    case 4: {
      const end = Math.min(bytes.length, at + rng.range(1, 8));
      return concatBytes(bytes.subarray(0, at), bytes.subarray(end));
    }
    case 5: {
      const end = Math.min(bytes.length, at + rng.range(1, 16));
      return concatBytes(bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end));
    }
    case 6:
      return concatBytes(bytes, rng.chance(0.5) ? Uint8Array.of(rng.pick(INTERESTING_BYTES)) : rng.bytes(rng.range(1, 4)));
    case 7: {
      const head = Uint8Array.of(rng.pick(HUGE_HEADS), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
      return concatBytes(bytes.subarray(0, at), head.subarray(0, rng.chance(0.5) ? 9 : 5), bytes.subarray(at + 1));
    }
    case 8: {
      const other = rng.int(bytes.length);
      [out[at], out[other]] = [out[other]!, out[at]!];
      return out;
    }
    case 9:
      // Definite map head turned indefinite (or back), as a confused encoder might.
      for (let i = at; i < out.length; i++) {
        if (out[i] === 0xbf) return ((out[i] = 0xa0 | rng.int(24)), out);
        if ((out[i]! & 0xe0) === 0xa0) return ((out[i] = 0xbf), out);
      }
      return concatBytes(out, Uint8Array.of(0xff));
    default:
      return rng.bytes(rng.int(64));
  }
}

/** Nested arrays or maps deep enough to find recursion limits. */
export function deepNesting(rng: Rng): Uint8Array {
  const depth = rng.pick([100, 1000, 10000, 100000]);
  const open = rng.pick([0x81, 0x9f, 0xa1]);
  if (open === 0xa1) {
    const out = new Uint8Array(depth * 3 + 1);
    for (let i = 0; i < depth; i++) out.set([0xa1, 0x61, 0x61], i * 3);
    out[depth * 3] = 0xa0;
    return out;
  }
  return new Uint8Array(depth).fill(open);
}

/** One line-level mutation of a console stream made of lines and noise pieces. */
export function mutatePieces(rng: Rng, pieces: Uint8Array[], hugeLine: number): void {
  const at = rng.int(pieces.length);
  const piece = pieces[at] ?? new Uint8Array(0);
  switch (rng.int(13)) {
    case 0:
      pieces[at] = mutateBytes(rng, piece);
      return;
    case 1: {
      // Swap a base64 character for another (or for '=' / a non-base64 character).
      const copy = piece.slice();
      const text = copy.length > 3 ? rng.range(2, copy.length - 2) : 0;
      copy[text] = rng.chance(0.8) ? BASE64_CHARS.charCodeAt(rng.int(BASE64_CHARS.length)) : rng.pick([0x21, 0x20, 0x7e, 0x2d, 0x5f, 0x00, 0xc3]);
      pieces[at] = copy;
      return;
    }
    case 2:
      pieces.splice(at, 0, piece);
      return;
    case 3:
      pieces.splice(at, 1);
      return;
    case 4:
      if (at + 1 < pieces.length) [pieces[at], pieces[at + 1]] = [pieces[at + 1]!, pieces[at]!];
      return;
    case 5:
      pieces[at] = piece.subarray(0, rng.int(piece.length + 1));
      return;
    case 6:
      pieces.splice(at, 0, randomNoise(rng, rng.chance(0.5)));
      return;
    case 7:
      pieces.splice(at, 0, concatBytes(SERIAL_FRAME_CONTINUATION, utf8.encode(bytesToBase64(rng.bytes(rng.int(90)))), Uint8Array.of(SERIAL_LINE_END)));
      return;
    case 8:
      pieces.splice(at, 0, rng.bytes(rng.int(40)));
      return;
    case 9:
      pieces.splice(at, 0, concatBytes(SERIAL_FRAME_START, new Uint8Array(hugeLine).fill(0x41), Uint8Array.of(SERIAL_LINE_END)));
      return;
    case 10:
      if (piece[piece.length - 1] === SERIAL_LINE_END) pieces[at] = piece.subarray(0, piece.length - 1);
      return;
    case 11:
      if (piece[piece.length - 1] === SERIAL_LINE_END) pieces[at] = concatBytes(piece.subarray(0, piece.length - 1), utf8.encode('\r\n'));
      return;
    default:
      pieces.splice(at, 0, concatBytes(SERIAL_FRAME_START, utf8.encode(bytesToBase64(rng.bytes(rng.int(90)))), Uint8Array.of(SERIAL_LINE_END)));
  }
}
