/**
 * The fuzz targets for the SMP layer, run by `npm run fuzz` (100k cases each) and by the unit
 * tests' smoke run (2k each). Each target feeds random and mutated input and checks invariants:
 * nothing throws, every failure is a typed error whose `code` is in its union, every call returns
 * promptly, and the layer recovers (the decoder resyncs, the client answers the next request).
 */
import { SmpClient, type SmpRequest } from '../../src/lib/smp/client';
import { decodeCborMap, encodeCbor, isCborMap, type CborErrorCode, type CborMap } from '../../src/lib/smp/cbor';
import type { SmpErrorCode } from '../../src/lib/smp/errors';
import { SerialFrameDecoder, encodeSerialFrames, type FramingErrorCode } from '../../src/lib/smp/framing/serial';
import { decodeHeader, encodeHeader, SMP_HEADER_SIZE, type HeaderErrorCode, type SmpHeader } from '../../src/lib/smp/header';
import { MGMT_GROUP_ID } from '../../src/lib/smp/ids';
import { LoopbackTransport } from '../../src/lib/transport/loopback';
import { bytesToHex, concatBytes, equalBytes, utf8 } from '../../src/lib/util/bytes';
import {
  createRng,
  deepNesting,
  encodeIndefinite,
  mutateBytes,
  mutatePieces,
  randomChunks,
  randomMap,
  randomNoise,
  realisticPayload,
  responsePacket,
  type Rng,
} from './generators';

/** Every code each union may produce; `satisfies` plus the `Exhaustive` checks keep these in step with the types. */
export const FRAMING_ERROR_CODES = ['frame-crc', 'frame-length', 'frame-base64', 'frame-incomplete', 'frame-too-long'] as const satisfies readonly FramingErrorCode[];
export const CBOR_ERROR_CODES = ['cbor-malformed', 'cbor-duplicate-key', 'cbor-trailing', 'cbor-not-map', 'cbor-empty'] as const satisfies readonly CborErrorCode[];
export const HEADER_ERROR_CODES = ['header-short', 'header-op', 'header-version', 'header-field'] as const satisfies readonly HeaderErrorCode[];
export const SMP_ERROR_CODES = ['mgmt', 'group', 'timeout', 'aborted', 'disconnected', 'not-connected', 'too-large', 'bad-response', 'transport'] as const satisfies readonly SmpErrorCode[];
type Exhaustive<Union, Listed> = [Exclude<Union, Listed>] extends [never] ? true : never;
const exhaustive: [
  Exhaustive<FramingErrorCode, (typeof FRAMING_ERROR_CODES)[number]>,
  Exhaustive<CborErrorCode, (typeof CBOR_ERROR_CODES)[number]>,
  Exhaustive<HeaderErrorCode, (typeof HEADER_ERROR_CODES)[number]>,
  Exhaustive<SmpErrorCode, (typeof SMP_ERROR_CODES)[number]>,
] = [true, true, true, true];
void exhaustive;

export type FuzzTarget = 'framing' | 'cbor' | 'header' | 'client';
export const FUZZ_TARGETS: readonly FuzzTarget[] = ['framing', 'cbor', 'header', 'client'];

export interface TargetSummary {
  cases: number;
  /** framing: packets decoded; cbor: maps decoded; header: headers decoded; client: response packets sent. */
  packets: number;
  errors: Record<string, number>;
  ms: number;
  /** The slowest single decode/push/request, to spot a call that nearly hangs. */
  slowestCallMs: number;
  violations: number;
  /** The first few violations, each with the case number to replay it. */
  examples: string[];
  /** framing only: corrupted frames whose CRC-16 happened to match (expected about 1 in 65536). */
  undetected?: number;
}

export interface FuzzOptions {
  count: number;
  seed: number;
  targets?: readonly FuzzTarget[];
  /** A single call slower than this counts as a hang. */
  slowCallMs?: number;
}

const MAX_EXAMPLES = 10;
/** Stop a target early once it is clearly broken, rather than grinding through every case. */
const MAX_VIOLATIONS = 50;

class Recorder {
  readonly summary: TargetSummary = { cases: 0, packets: 0, errors: {}, ms: 0, slowestCallMs: 0, violations: 0, examples: [] };
  constructor(
    private readonly slowCallMs: number,
    private readonly known: readonly string[],
  ) {}

  get broken(): boolean {
    return this.summary.violations >= MAX_VIOLATIONS;
  }

  violation(caseNumber: number, message: string): void {
    this.summary.violations++;
    if (this.summary.examples.length < MAX_EXAMPLES) this.summary.examples.push(`case ${caseNumber}: ${message}`);
  }

  /** Counts a typed error, or flags it if it is not one. */
  error(caseNumber: number, error: unknown): void {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
    if (typeof code !== 'string' || !this.known.includes(code) || typeof message !== 'string' || message.length === 0) {
      this.violation(caseNumber, `untyped error ${safeJson(error)}`);
      return;
    }
    this.summary.errors[code] = (this.summary.errors[code] ?? 0) + 1;
  }

  /** Runs one call, timing it and turning a throw into a violation. */
  call<T>(caseNumber: number, what: string, run: () => T): T | undefined {
    const start = performance.now();
    try {
      return run();
    } catch (caught) {
      this.violation(caseNumber, `${what} threw ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
      return undefined;
    } finally {
      this.timed(caseNumber, what, performance.now() - start);
    }
  }

  timed(caseNumber: number, what: string, ms: number): void {
    if (ms > this.summary.slowestCallMs) this.summary.slowestCallMs = ms;
    if (ms > this.slowCallMs) this.violation(caseNumber, `${what} took ${ms.toFixed(0)} ms`);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? bytesToHex(v) : v))?.slice(0, 200) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The loop every synchronous target shares: `setup` builds the target's state and returns its case body. */
function runCases(
  count: number,
  seed: number,
  record: Recorder,
  setup: (rng: Rng) => (caseNumber: number) => void,
): TargetSummary {
  const runCase = setup(createRng(seed));
  const started = performance.now();
  for (let n = 0; n < count && !record.broken; n++) {
    record.summary.cases++;
    runCase(n);
  }
  record.summary.ms = Math.round(performance.now() - started);
  return record.summary;
}

/** A sentinel every framing case ends with: once it decodes, the decoder has resynchronised. */
const SENTINEL = concatBytes(encodeHeader({ version: 0, op: 3, flags: 0, length: 7, group: 0, seq: 0x42, command: 0 }), Uint8Array.of(0xbf, 0x61, 0x72, 0x62, 0x61, 0x61, 0xff));
const SMALL_DECODER_LINE = 2048;

function randomPacket(rng: Rng): Uint8Array {
  switch (rng.int(4)) {
    case 0:
      return rng.bytes(rng.int(64));
    case 1:
      return rng.bytes(rng.chance(0.9) ? rng.int(1200) : rng.int(6000));
    default: {
      const header: SmpHeader = { version: rng.int(2) as 0 | 1, op: rng.int(4) as 0 | 1 | 2 | 3, flags: 0, length: 0, group: rng.pick([0, 1, 2, 9, 64]), seq: rng.int(256), command: rng.int(8) };
      return responsePacket(rng, header, realisticPayload(rng));
    }
  }
}

/** Serial framing: streams of frames and console noise, mutated at line and byte level, chunked at random. */
export function fuzzFraming(count: number, seed: number, slowCallMs: number): TargetSummary {
  const record = new Recorder(slowCallMs, FRAMING_ERROR_CODES);
  record.summary.undetected = 0;
  // push() reports errors through onError: route them to the running case's list.
  let onError: (error: unknown) => void = () => {};
  const decoders = {
    normal: new SerialFrameDecoder({ onError: (error) => onError(error) }),
    small: new SerialFrameDecoder({ onError: (error) => onError(error), maxLineBytes: SMALL_DECODER_LINE }),
  };
  return runCases(count, seed, record, (rng) => (n) => {
    const packets = Array.from({ length: rng.range(1, 4) }, () => randomPacket(rng));
    const pieces: Uint8Array[] = [];
    let longestLine = 0;
    for (const packet of packets) {
      // Noise without a newline is glued to the front of the next line: it counts towards that line's length.
      let glued = 0;
      while (rng.chance(0.3)) {
        const noise = randomNoise(rng, rng.chance(0.7));
        pieces.push(noise);
        glued = noise[noise.length - 1] === 0x0a ? 0 : glued + noise.length;
      }
      const maxLineLength = rng.chance(0.7) ? 127 : rng.chance(0.5) ? rng.range(7, 300) : 100_000;
      for (const line of encodeSerialFrames(packet, { maxLineLength })) {
        pieces.push(line);
        longestLine = Math.max(longestLine, glued + line.length);
        glued = 0;
      }
    }
    const clean = rng.chance(0.25);
    if (!clean) for (let m = rng.range(1, 4); m > 0; m--) mutatePieces(rng, pieces, SMALL_DECODER_LINE + 100);
    const useSmall = rng.chance(0.3);
    const decoder = useSmall ? decoders.small : decoders.normal;
    const stream = concatBytes(...pieces, utf8.encode('\n'), ...encodeSerialFrames(SENTINEL));

    const decoded: Uint8Array[] = [];
    const errors: string[] = [];
    const viaPush = rng.chance(0.5);
    onError = (error) => {
      record.error(n, error);
      errors.push(String((error as { code?: unknown }).code));
    };
    for (const chunk of randomChunks(rng, stream)) {
      if (viaPush) {
        const out = record.call(n, 'SerialFrameDecoder.push', () => decoder.push(chunk));
        if (out) decoded.push(...out);
      } else {
        const results = record.call(n, 'SerialFrameDecoder.pushResults', () => decoder.pushResults(chunk));
        for (const result of results ?? []) {
          if (result.ok) decoded.push(result.value);
          else {
            record.error(n, result.error);
            errors.push(result.error.code);
          }
        }
      }
    }
    record.summary.packets += decoded.length;

    const last = decoded[decoded.length - 1];
    if (!last || !equalBytes(last, SENTINEL)) {
      record.violation(n, `decoder did not resync: the sentinel frame after the case was not the last packet (errors: ${errors.join(', ')})`);
      decoders.normal.reset();
      decoders.small.reset();
      return;
    }
    const body = decoded.slice(0, -1);
    if (clean && !(useSmall && longestLine > SMALL_DECODER_LINE)) {
      const same = body.length === packets.length && body.every((p, i) => equalBytes(p, packets[i]!)) && errors.length === 0;
      if (!same) record.violation(n, `clean stream of ${packets.length} packets decoded to ${body.length} packets and errors [${errors.join(', ')}]`);
    }
    for (const packet of body) if (!packets.some((p) => equalBytes(p, packet))) record.summary.undetected!++;
  });
}

/** CBOR: valid SMP payloads (definite and zcbor-style indefinite), mutated, plus junk and deep nesting. */
export function fuzzCbor(count: number, seed: number, slowCallMs: number): TargetSummary {
  const record = new Recorder(slowCallMs, CBOR_ERROR_CODES);
  return runCases(count, seed, record, (rng) => (n) => {
    const source = rng.chance(0.7) ? realisticPayload(rng) : randomMap(rng);
    let bytes = rng.chance(0.5) ? encodeIndefinite(rng, source) : encodeCbor(source);
    const kind = rng.int(10);
    if (kind === 0) {
      // Unmodified: must decode to exactly what was encoded.
      const result = record.call(n, 'decodeCborMap', () => decodeCborMap(bytes));
      if (!result?.ok || !equalBytes(encodeCbor(result.value), encodeCbor(source))) record.violation(n, `valid payload ${bytesToHex(bytes).slice(0, 80)} did not round-trip`);
      else record.summary.packets++;
      return;
    }
    if (kind === 1) bytes = rng.bytes(rng.int(80));
    else if (kind === 2) bytes = deepNesting(rng);
    else for (let m = rng.range(1, kind > 6 ? 6 : 2); m > 0; m--) bytes = mutateBytes(rng, bytes);

    const result = record.call(n, 'decodeCborMap', () => decodeCborMap(bytes));
    if (!result) return;
    if (!result.ok) return record.error(n, result.error);
    record.summary.packets++;
    if (!isCborMap(result.value)) record.violation(n, `decodeCborMap returned a non-map ${safeJson(result.value)}`);
    // Whatever decodes must be something we can encode again (the audit log stores payloads).
    record.call(n, 'encodeCbor(decoded)', () => encodeCbor(result.value));
  });
}

/** Header: random bytes and mutated real headers. */
export function fuzzHeader(count: number, seed: number, slowCallMs: number): TargetSummary {
  const record = new Recorder(slowCallMs, HEADER_ERROR_CODES);
  return runCases(count, seed, record, (rng) => (n) => {
    let bytes: Uint8Array;
    if (rng.chance(0.3)) bytes = rng.bytes(rng.int(16));
    else {
      bytes = randomPacket(rng);
      for (let m = rng.int(3); m > 0; m--) bytes = mutateBytes(rng, bytes);
    }
    const result = record.call(n, 'decodeHeader', () => decodeHeader(bytes));
    if (!result) return;
    if (!result.ok) return record.error(n, result.error);
    record.summary.packets++;
    const again = record.call(n, 'encodeHeader(decoded)', () => encodeHeader(result.value));
    const expected = bytes.slice(0, SMP_HEADER_SIZE);
    expected[0] = expected[0]! & 0b0001_1111; // reserved bits are not kept
    if (again && !equalBytes(again, expected)) record.violation(n, `header ${bytesToHex(bytes.subarray(0, 8))} re-encoded as ${bytesToHex(again)}`);
  });
}

/** Generous, so a loaded CI machine does not turn into false timeouts; a live client answers in microseconds. */
const CLIENT_TIMEOUT_MS = 5000;

interface ClientRig {
  client: SmpClient;
  board: LoopbackTransport;
  /** Resolves when the board's receive loop has ended. */
  boardDone: Promise<void>;
}

/**
 * Client: a fake board answers every request with 0–3 mutated responses (header lies, CBOR
 * mutations, broken frames, console noise) and then the right one. Every request must settle with
 * a value or a typed error, and never by timing out: the right answer always follows.
 */
export async function fuzzClient(count: number, seed: number, slowCallMs: number): Promise<TargetSummary> {
  const rng = createRng(seed);
  const record = new Recorder(slowCallMs, [...SMP_ERROR_CODES, ...FRAMING_ERROR_CODES]);
  const started = performance.now();
  let caseNumber = 0;
  let rig: ClientRig | null = null;

  const answer = (board: LoopbackTransport, packet: Uint8Array) => {
    const header = decodeHeader(packet);
    if (!header.ok) return record.violation(caseNumber, `client sent a bad header: ${header.error.message}`);
    const valid = responsePacket(rng, header.value, realisticPayload(rng));
    const pieces: Uint8Array[] = [];
    for (let m = rng.int(4); m > 0; m--) pieces.push(...mutatedResponse(rng, header.value, valid));
    pieces.push(utf8.encode('\n'), ...encodeSerialFrames(valid));
    record.summary.packets += 1;
    for (const chunk of randomChunks(rng, concatBytes(...pieces))) void board.send(chunk).catch(() => {});
  };

  const openRig = (): ClientRig => {
    const [clientEnd, board] = LoopbackTransport.pair({ description: 'fuzz loopback' });
    const client = new SmpClient(clientEnd, {
      timeoutMs: CLIENT_TIMEOUT_MS,
      window: rng.range(1, 4),
      version: rng.chance(0.5) ? 1 : 0,
      maxPacketSize: rng.chance(0.1) ? rng.range(8, 200) : undefined,
      onFramingError: (error) => record.error(caseNumber, error),
      onExchange: (exchange) => {
        if (exchange.payload !== null && !isCborMap(exchange.payload)) record.violation(caseNumber, 'onExchange got a non-map payload');
      },
    });
    const boardDone = (async () => {
      const decoder = new SerialFrameDecoder({ onError: (error) => record.violation(caseNumber, `client sent a bad frame: ${error.message}`) });
      for await (const chunk of board.receive()) for (const packet of decoder.push(chunk)) answer(board, packet);
    })();
    return { client, board, boardDone };
  };

  let timeouts = 0;
  // A client that stops hearing answers would cost a timeout per case: three are proof enough.
  for (; caseNumber < count && !record.broken && timeouts < 3; caseNumber++) {
    record.summary.cases++;
    if (!rig || caseNumber % 500 === 0) {
      if (rig) await closeRig(rig);
      rig = openRig();
    }
    const { client } = rig;
    const requests = Array.from({ length: rng.range(1, client.window + 2) }, (): SmpRequest => {
      const payload: CborMap = rng.chance(0.7) ? { d: 'fuzz' } : randomMap(rng);
      return { group: rng.pick([MGMT_GROUP_ID.OS, MGMT_GROUP_ID.IMAGE, MGMT_GROUP_ID.STAT, 64]), command: rng.int(8), op: rng.chance(0.5) ? 'read' : 'write', payload };
    });
    const controllers = requests.map(() => (rng.chance(0.05) ? new AbortController() : null));
    const caseStarted = performance.now();
    const pending = requests.map((request, i) => {
      const signal = controllers[i]?.signal;
      return client.request(signal ? { ...request, signal } : request);
    });
    for (const controller of controllers) {
      if (!controller) continue;
      if (rng.chance(0.5)) controller.abort();
      else queueMicrotask(() => controller.abort());
    }
    const dropNow = rng.chance(0.002);
    if (dropNow) queueMicrotask(() => rig?.board.drop({ reason: 'lost', message: 'fuzz: board went away' }));

    const results = await Promise.all(pending.map((p) => p.then((r) => ({ r }), (caught: unknown) => ({ caught }))));
    record.timed(caseNumber, 'client.request', performance.now() - caseStarted);
    for (const outcome of results) {
      if ('caught' in outcome) {
        record.violation(caseNumber, `client.request rejected: ${String(outcome.caught)}`);
        continue;
      }
      const result = outcome.r;
      if (result.ok) {
        if (!isCborMap(result.value)) record.violation(caseNumber, 'request resolved with a non-map value');
        continue;
      }
      record.error(caseNumber, result.error);
      if (result.error.code === 'timeout') {
        timeouts++;
        record.violation(caseNumber, `a request timed out although the board answered it: ${result.error.message}`);
      }
      if ((result.error.code === 'disconnected' || result.error.code === 'not-connected') && !dropNow) {
        record.violation(caseNumber, `unexpected ${result.error.code}: ${result.error.message}`);
      }
    }
    if (dropNow) {
      await new Promise((resolve) => setTimeout(resolve, 0)); // let the disconnect reach the client
      const after = await client.request({ group: 0, command: 0, op: 'write', payload: { d: 'after' } });
      if (after.ok || after.error.code !== 'not-connected') record.violation(caseNumber, `a request after the board went away gave ${safeJson(after)}`);
      await closeRig(rig);
      rig = null;
    }
  }
  if (rig) await closeRig(rig);
  record.summary.ms = Math.round(performance.now() - started);
  return record.summary;
}

async function closeRig(rig: ClientRig): Promise<void> {
  await rig.client.close();
  await rig.boardDone;
}

/** 0–3 wrong answers for `request`: each a whole byte stream (frames, noise) the board writes. */
function mutatedResponse(rng: Rng, request: SmpHeader, valid: Uint8Array): Uint8Array[] {
  switch (rng.int(7)) {
    case 0: {
      // Byte-level mutations of the whole packet, framed correctly.
      let packet = valid;
      for (let m = rng.range(1, 3); m > 0; m--) packet = mutateBytes(rng, packet);
      return packet.length + 2 <= 0xffff ? encodeSerialFrames(packet) : [];
    }
    case 1: {
      // A header that lies in one field.
      const field = rng.pick(['seq', 'group', 'command', 'op', 'version', 'length', 'flags'] as const);
      const lie: SmpHeader = { ...request, op: (request.op | 1) as SmpHeader['op'], length: valid.length - SMP_HEADER_SIZE };
      if (field === 'op') lie.op = rng.int(4) as SmpHeader['op'];
      else if (field === 'version') lie.version = rng.int(2) as SmpHeader['version'];
      else if (field === 'length') lie.length = rng.int(0x10000);
      else if (field === 'group' || field === 'flags') lie[field] = rng.int(field === 'group' ? 0x10000 : 0x100);
      else lie[field] = rng.int(256);
      return encodeSerialFrames(concatBytes(encodeHeader(lie), valid.subarray(SMP_HEADER_SIZE)));
    }
    case 2: {
      // Mutated CBOR behind an honest header.
      let body = valid.subarray(SMP_HEADER_SIZE);
      for (let m = rng.range(1, 3); m > 0; m--) body = mutateBytes(rng, body);
      const header = encodeHeader({ ...request, op: (request.op | 1) as SmpHeader['op'], length: Math.min(body.length, 0xffff) });
      return encodeSerialFrames(concatBytes(header, body.subarray(0, 0xfff0)));
    }
    case 3: {
      // A broken frame: line-level mutations of the right answer's frames.
      const pieces = encodeSerialFrames(valid);
      for (let m = rng.range(1, 3); m > 0; m--) mutatePieces(rng, pieces, 300);
      return [...pieces, utf8.encode('\n')];
    }
    case 4:
      return [randomNoise(rng, rng.chance(0.5))];
    case 5: {
      // An error answer the client must turn into a typed error (or, for rc 13 to v2, a retry).
      const payload = rng.pick<CborMap>([{ rc: rng.int(20) }, { err: { group: rng.int(70), rc: rng.int(40) } }, { rc: 'x' }, { err: 'x' }, { err: { group: 'x', rc: 1 } }]);
      return encodeSerialFrames(responsePacket(rng, request, payload));
    }
    default:
      return encodeSerialFrames(rng.bytes(rng.int(40)));
  }
}

export type FuzzReport = Partial<Record<FuzzTarget, TargetSummary>>;

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const slow = options.slowCallMs ?? 1000;
  const report: FuzzReport = {};
  for (const target of options.targets ?? FUZZ_TARGETS) {
    // Each target gets its own stream of cases, so one can be replayed alone with the same seed.
    const seed = (options.seed ^ hashName(target)) >>> 0;
    if (target === 'framing') report.framing = fuzzFraming(options.count, seed, slow);
    else if (target === 'cbor') report.cbor = fuzzCbor(options.count, seed, slow);
    else if (target === 'header') report.header = fuzzHeader(options.count, seed, slow);
    else report.client = await fuzzClient(options.count, seed, slow);
  }
  return report;
}

export function totalViolations(report: FuzzReport): number {
  return Object.values(report).reduce((sum, summary) => sum + (summary?.violations ?? 0), 0);
}

function hashName(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
