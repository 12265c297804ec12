/**
 * uploadImage against the simulated board (Zephyr img_mgmt's upload semantics, see
 * src/lib/sim/groups/image-upload.ts), over an instant wire unless a test is about time.
 * Every upload that succeeds is checked where it matters: the slot's hash and version as image
 * state reports them, and the bytes the board holds.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, connectBoard } from '../../src/lib/device';
import { buildMcubootImage, type ImageVersion, type McubootImageInfo, parseMcubootImage } from '../../src/lib/device/mcuboot-image';
import { chunkDataSize, type UploadEvent, type UploadOptions, uploadImage } from '../../src/lib/device/upload';
import { type CborMap, encodeCbor } from '../../src/lib/smp/cbor';
import type { SmpClientOptions, SmpExchange } from '../../src/lib/smp/client';
import { SerialFrameDecoder } from '../../src/lib/smp/framing/serial';
import { decodeHeader, SMP_HEADER_SIZE } from '../../src/lib/smp/header';
import { IMG_MGMT_ERR, IMG_MGMT_ID, MGMT_ERR, MGMT_GROUP_ID, SMP_VERSION } from '../../src/lib/smp/ids';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice, type SimulatedDeviceOptions } from '../../src/lib/sim';
import { sleep } from '../../src/lib/sim/board';
import type { DisconnectInfo, Transport } from '../../src/lib/transport/types';
import { equalBytes } from '../../src/lib/util/bytes';

// ---------------------------------------------------------------------------------------------
// Fixtures

interface TestImage {
  bytes: Uint8Array;
  info: McubootImageInfo;
}

/** A real MCUboot image (header 0x200, TLV area with the hash) of exactly `size` bytes. */
function makeImage(size: number, version: ImageVersion = { major: 1, minor: 2, revision: 3, build: 4 }, seed = 1): TestImage {
  const body = new Uint8Array(size - 0x200 - 40);
  let state = seed;
  for (let i = 0; i < body.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    body[i] = state >>> 24;
  }
  const bytes = buildMcubootImage({ version, body });
  const info = parseMcubootImage(bytes);
  if (!info.ok) throw new Error(info.error.message);
  return { bytes, info: info.value };
}

/** Bytes that are not an MCUboot image: a zip archive's start. */
function notAnImage(size: number): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x5a);
  bytes.set([0x50, 0x4b, 0x03, 0x04]);
  return bytes;
}

/** The chunk ends an upload goes through on a board with this packet size: the 32-byte probe, then full chunks. */
function chunkEnds(total: number, maxPacketSize: number): number[] {
  const ends = [Math.min(32, total)];
  for (let offset = ends[0]!; offset < total; ) {
    offset += Math.min(chunkDataSize(offset, maxPacketSize), total - offset);
    ends.push(offset);
  }
  return ends;
}

interface TapOptions {
  /** What the client gets instead of the `index`th upload response frame (duplicate, hold back, swap). */
  rewrite?: (frame: Uint8Array, index: number) => Uint8Array[];
  /** Loses an upload request sent while another is unanswered, as Zephyr's shell transport does. */
  dropRequestsWhileBusy?: boolean;
}

/**
 * The host's end of a simulated link with a hand on it: counts image-upload requests in flight on
 * the wire, and lets a test rewrite the stream of upload responses or lose requests.
 * Over an instant wire each chunk the board writes is exactly one response frame.
 */
class ResponseTap implements Transport {
  readonly description: string;
  readonly framing: 'console' | 'packet';
  readonly disconnected: Promise<DisconnectInfo>;
  inFlight = 0;
  maxInFlight = 0;
  droppedRequests = 0;
  private responses = 0;

  constructor(
    private readonly inner: Transport,
    private readonly options: TapOptions = {},
  ) {
    this.description = inner.description;
    this.framing = inner.framing;
    this.disconnected = inner.disconnected;
  }

  get isConnected(): boolean {
    return this.inner.isConnected;
  }

  send(bytes: Uint8Array): Promise<void> {
    if (isUploadFrame(bytes)) {
      if (this.options.dropRequestsWhileBusy && this.inFlight > 0) {
        this.droppedRequests++;
        return Promise.resolve();
      }
      this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    }
    return this.inner.send(bytes);
  }

  async *receive(): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const chunk of this.inner.receive()) {
      if (!isUploadFrame(chunk)) {
        yield chunk;
        continue;
      }
      this.inFlight--;
      const index = this.responses++;
      yield* this.options.rewrite ? this.options.rewrite(chunk, index) : [chunk];
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function isUploadFrame(bytes: Uint8Array): boolean {
  const packets = new SerialFrameDecoder().push(bytes);
  const header = packets.length === 1 ? decodeHeader(packets[0]!) : null;
  return header !== null && header.ok && header.value.group === MGMT_GROUP_ID.IMAGE && header.value.command === IMG_MGMT_ID.UPLOAD;
}

interface Session {
  device: SimulatedDevice;
  board: Board;
  tap: ResponseTap;
  exchanges: SmpExchange[];
  framingErrors: string[];
}

const opened: Board[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((board) => board.close()));
});

/** A new link to `device` (an instant wire unless told), with connectBoard's parameters read. */
async function connect(device: SimulatedDevice, client: SmpClientOptions = {}, tapOptions: TapOptions = {}, baudRate = Infinity): Promise<Session> {
  const tap = new ResponseTap(connectSimulatedBoard(device.board, { baudRate }), tapOptions);
  const exchanges: SmpExchange[] = [];
  const framingErrors: string[] = [];
  const board = await connectBoard(tap, {
    timeoutMs: 250,
    ...client,
    onExchange: (exchange) => exchanges.push(exchange),
    onFramingError: (error) => framingErrors.push(error.code),
  });
  opened.push(board);
  return { device, board, tap, exchanges, framingErrors };
}

async function open(device: SimulatedDeviceOptions = {}, client: SmpClientOptions = {}, tapOptions: TapOptions = {}): Promise<Session> {
  return connect(createSimulatedDevice({ withUpdateInSecondary: false, bootMs: 20, ...device }), client, tapOptions);
}

function upload(session: Session, image: Uint8Array, options: UploadOptions = {}) {
  return uploadImage(session.board.client, image, { params: session.board.params, ...options });
}

/** An onEvent handler that runs `action` once, when the board has acknowledged `fraction` of the image. */
function onceAcknowledged(fraction: number, action: (acknowledged: number) => void, events: UploadEvent[] = []): (event: UploadEvent) => void {
  let done = false;
  return (event) => {
    events.push(event);
    if (done || event.kind !== 'progress' || event.acknowledged < fraction * event.total) return;
    done = true;
    action(event.acknowledged);
  };
}

/** What the board holds in slot 1 is `image`: image state's hash and version, and the bytes themselves. */
async function expectSlotHolds(session: Session, image: TestImage): Promise<void> {
  const state = await session.board.image.state();
  expect(state.ok).toBe(true);
  const slot = state.ok ? state.value.find((entry) => entry.slot === 1) : undefined;
  expect({ hash: slot?.hash, version: slot?.version }).toEqual({ hash: image.info.hashHex, version: image.info.versionString });
  expect(slotIsIntact(session.device, image)).toBe(true);
}

function slotIsIntact(device: SimulatedDevice, image: TestImage): boolean {
  const held = device.slots.secondary;
  return held !== null && held.bytes !== null && equalBytes(held.bytes, image.bytes) && equalBytes(held.hash, image.info.hash);
}

/** The first upload request by hand: the offset the board reports for this upload (it ignores the data when resuming). */
async function boardOffset(session: Session, image: Uint8Array): Promise<number> {
  const reply = await session.board.client.request({
    group: MGMT_GROUP_ID.IMAGE,
    command: IMG_MGMT_ID.UPLOAD,
    op: 'write',
    payload: { image: 0, len: image.length, sha: sha256(image), off: 0, data: image.subarray(0, 32) },
  });
  if (!reply.ok || typeof reply.value.off !== 'number') throw new Error(`probe failed: ${JSON.stringify(reply)}`);
  return reply.value.off;
}

const uploadRequests = (exchanges: SmpExchange[]) =>
  exchanges.filter((exchange) => exchange.direction === 'tx' && exchange.header.group === MGMT_GROUP_ID.IMAGE && exchange.header.command === IMG_MGMT_ID.UPLOAD);

// ---------------------------------------------------------------------------------------------

describe('chunkDataSize', () => {
  const OFFSETS = [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1];
  const sha = new Uint8Array(32).fill(0xab);
  const FIRST_REQUEST_FIELDS: [string, CborMap][] = [
    ['{off, data}', {}],
    ['the first request (image, len 4096, sha)', { image: 0, len: 4096, sha }],
    ['the first request (image, len 2^20, sha, upgrade)', { image: 0, len: 2 ** 20, sha, upgrade: true }],
  ];

  it.each(FIRST_REQUEST_FIELDS)('%s: the packet fits maxPacketSize exactly — one more data byte would not (sizes 128..2048)', (_name, extra) => {
    const misfits: string[] = [];
    const packetSize = (offset: number, dataLength: number) => SMP_HEADER_SIZE + encodeCbor({ ...extra, off: offset, data: new Uint8Array(dataLength) }).length;
    for (const offset of OFFSETS) {
      for (let maxPacketSize = 128; maxPacketSize <= 2048; maxPacketSize++) {
        const size = chunkDataSize(offset, maxPacketSize, extra);
        const fits = packetSize(offset, size) <= maxPacketSize;
        const oneMoreFits = packetSize(offset, size + 1) <= maxPacketSize;
        if (!fits || oneMoreFits) misfits.push(`off ${offset}, max ${maxPacketSize}: ${size} data bytes make ${packetSize(offset, size)}, ${size + 1} make ${packetSize(offset, size + 1)}`);
      }
    }
    expect(misfits).toEqual([]);
  });

  it('is 0, not negative, when the fields alone fill the packet', () => {
    expect(chunkDataSize(0, 8)).toBe(0);
    expect(chunkDataSize(2 ** 32 - 1, 20, { sha })).toBe(0);
  });

  it('sizes every request of a real upload to a 128-byte buffer, across the 65536 offset where "off" grows to 5 bytes', async () => {
    const session = await open({ bufSize: 128 });
    const image = makeImage(70 * 1024);
    const result = await upload(session, image.bytes, { window: 1 });
    expect(result.ok).toBe(true);
    const max = session.board.client.maxPacketSize!;
    expect(max).toBe(124);
    const requests = uploadRequests(session.exchanges);
    const offsets = requests.map((request) => request.payload?.off as number);
    expect(offsets.some((offset) => offset > 65536)).toBe(true);
    for (const request of requests.slice(1, -1)) {
      const { off, data } = request.payload as { off: number; data: Uint8Array };
      expect(request.size).toBeLessThanOrEqual(max);
      expect(SMP_HEADER_SIZE + encodeCbor({ off, data: new Uint8Array(data.length + 1) }).length).toBeGreaterThan(max);
    }
    // Image state does not fit a 124-byte response (the board answers rc 7): check the slot's bytes.
    expect(slotIsIntact(session.device, image)).toBe(true);
  });
});

describe('a full upload', () => {
  it('lands the image: slot 1 reports the hash from its TLV and the version from its header', async () => {
    const session = await open();
    const image = makeImage(100 * 1024);
    const result = await upload(session, image.bytes);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ bytes: image.bytes.length, sentBytes: image.bytes.length, resumedFrom: 0 });
    await expectSlotHolds(session, image);
  });

  it('emits started, then monotonic progress, then done', async () => {
    const session = await open({ bufSize: 512 });
    const image = makeImage(16 * 1024);
    const events: UploadEvent[] = [];
    const result = await upload(session, image.bytes, { onEvent: (event) => events.push(event) });
    expect(result.ok).toBe(true);
    expect(events[0]).toMatchObject({ kind: 'started', total: image.bytes.length, chunkSize: chunkDataSize(image.bytes.length, 508), window: 2 });
    expect(events.at(-1)).toMatchObject({ kind: 'done', summary: { bytes: image.bytes.length } });
    const progress = events.filter((event) => event.kind === 'progress');
    expect(progress.length).toBeGreaterThan(10);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.acknowledged).toBeGreaterThanOrEqual(progress[i - 1]!.acknowledged);
      expect(progress[i]!.sent).toBeGreaterThanOrEqual(progress[i]!.acknowledged);
    }
    expect(progress.at(-1)).toMatchObject({ acknowledged: image.bytes.length, total: image.bytes.length });
    expect(events.filter((event) => event.kind === 'retry')).toEqual([]);
  });

  it('uploads an image smaller than a chunk, and one smaller than the 32-byte probe is refused by the board', async () => {
    const session = await open();
    const tiny = makeImage(0x200 + 40 + 10);
    expect((await upload(session, tiny.bytes)).ok).toBe(true);
    await expectSlotHolds(session, tiny);
    const tooShort = await upload(session, tiny.bytes.subarray(0, 20));
    expect(tooShort.ok || tooShort.error).toMatchObject({ code: 'group', group: MGMT_GROUP_ID.IMAGE, rc: IMG_MGMT_ERR.INVALID_IMAGE_HEADER });
  });
});

describe('requests in flight', () => {
  it.each([
    ['window 1', { bufCount: 4 }, { window: 1 }, 1],
    ['window 2', { bufCount: 4 }, { window: 2 }, 2],
    ['window 4', { bufCount: 4 }, { window: 4 }, 4],
    ['the default on a 4-buffer board (2)', { bufCount: 4 }, {}, 2],
    ['window 4 capped by a 1-buffer board', { bufCount: 1 }, { window: 4 }, 1],
    ['window 4 capped by a 2-buffer board', { bufCount: 2 }, { window: 4 }, 2],
  ] as const)('%s: at most that many upload requests are on the wire unanswered', async (_name, device, options, expected) => {
    const session = await open({ bufSize: 512, ...device });
    const image = makeImage(24 * 1024);
    const result = await upload(session, image.bytes, options);
    expect(result.ok).toBe(true);
    expect(session.tap.maxInFlight).toBe(expected);
    await expectSlotHolds(session, image);
  });

  it('leaves the client window as it found it', async () => {
    const session = await open({ bufSize: 512 });
    const before = session.board.client.window;
    expect((await upload(session, makeImage(8 * 1024).bytes, { window: 4 })).ok).toBe(true);
    expect(session.board.client.window).toBe(before);
  });
});

describe('faults on the link: the upload completes with the right image', () => {
  it.each([1, 2])('a request lost mid-way (window %i): the board answers a lower offset and the upload follows it', async (window) => {
    const session = await open({ bufSize: 512 });
    const image = makeImage(24 * 1024);
    const events: UploadEvent[] = [];
    const result = await upload(session, image.bytes, { window, onEvent: onceAcknowledged(0.4, () => session.device.board.faults.inject({ dropRequests: 1 }), events) });
    expect(result.ok).toBe(true);
    expect(events.some((event) => event.kind === 'retry')).toBe(true);
    await expectSlotHolds(session, image);
  });

  it.each([1, 2])('three responses lost mid-way (window %i)', async (window) => {
    const session = await open({ bufSize: 512 });
    const image = makeImage(24 * 1024);
    const result = await upload(session, image.bytes, { window, onEvent: onceAcknowledged(0.3, () => session.device.board.faults.inject({ dropResponses: 3 })) });
    expect(result.ok).toBe(true);
    expect(session.device.board.faults.plan.dropResponses).toBe(0);
    await expectSlotHolds(session, image);
  });

  it('the answer to the first request lost: it is asked again, and the board resumes rather than starting over', async () => {
    const session = await open({ bufSize: 512 });
    const image = makeImage(8 * 1024);
    session.device.board.faults.inject({ dropResponses: 1 });
    const events: UploadEvent[] = [];
    const result = await upload(session, image.bytes, { onEvent: (event) => events.push(event) });
    expect(result.ok).toBe(true);
    expect(events.filter((event) => event.kind === 'retry')).toMatchObject([{ offset: 0 }]);
    await expectSlotHolds(session, image);
  });

  it('two corrupted responses (the CRC catches them)', async () => {
    const session = await open({ bufSize: 512 });
    const image = makeImage(24 * 1024);
    const result = await upload(session, image.bytes, { onEvent: onceAcknowledged(0.5, () => session.device.board.faults.inject({ corruptResponses: 2 })) });
    expect(result.ok).toBe(true);
    expect(session.framingErrors).toHaveLength(2); // frame-crc, or frame-incomplete when the flip hits the length
    await expectSlotHolds(session, image);
  });

  it.each([1, 2])('duplicated responses (window %i): the copies are ignored', async (window) => {
    const duplicated = new Set([0, 3, 4, 10, 20]);
    const session = await open({ bufSize: 512 }, {}, { rewrite: (frame, index) => (duplicated.has(index) ? [frame, frame] : [frame]) });
    const image = makeImage(24 * 1024);
    const events: UploadEvent[] = [];
    const result = await upload(session, image.bytes, { window, onEvent: (event) => events.push(event) });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.sentBytes).toBe(image.bytes.length);
    expect(events.filter((event) => event.kind === 'retry')).toEqual([]);
    await expectSlotHolds(session, image);
  });

  it('reordered responses (two pairs swapped, window 2)', async () => {
    let held: Uint8Array | null = null;
    const swap = (frame: Uint8Array, index: number): Uint8Array[] => {
      if (index === 5 || index === 20) {
        held = frame;
        return [];
      }
      if ((index === 6 || index === 21) && held) {
        const swapped = [frame, held];
        held = null;
        return swapped;
      }
      return [frame];
    };
    const session = await open({ bufSize: 512 }, {}, { rewrite: swap });
    const image = makeImage(24 * 1024);
    const result = await upload(session, image.bytes, { window: 2 });
    expect(result.ok).toBe(true);
    await expectSlotHolds(session, image);
  });

  it('a board that loses a request arriving while it is busy (as Zephyr\'s shell transport does): the upload falls back to one chunk in flight, without waiting out a timeout', async () => {
    const session = await open({ bufSize: 512 }, { timeoutMs: 2000 }, { dropRequestsWhileBusy: true });
    const image = makeImage(24 * 1024);
    const events: UploadEvent[] = [];
    const started = performance.now();
    const result = await upload(session, image.bytes, { window: 2, onEvent: (event) => events.push(event) });
    expect(result.ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(session.tap.droppedRequests).toBeGreaterThan(0);
    expect(session.tap.droppedRequests).toBeLessThanOrEqual(3);
    expect(events.filter((event) => event.kind === 'retry').length).toBe(session.tap.droppedRequests);
    await expectSlotHolds(session, image);
  });

  it('random loss and corruption (10% each, seeded) with window 2', async () => {
    const session = await open({ bufSize: 512 }, { timeoutMs: 100 });
    session.device.board.faults.inject({ dropRate: 0.1, corruptRate: 0.1, seed: 7 });
    const image = makeImage(16 * 1024);
    const result = await upload(session, image.bytes, { maxRetries: 20 });
    session.device.board.faults.clear();
    expect(result.ok).toBe(true);
    await expectSlotHolds(session, image);
  });

  it('a board that stops answering: stalled after maxRetries, with the offset to resume from', async () => {
    const session = await open({ bufSize: 512 }, { timeoutMs: 50 });
    const image = makeImage(16 * 1024);
    const result = await upload(session, image.bytes, { maxRetries: 2, onEvent: onceAcknowledged(0.5, () => session.device.board.faults.inject({ dropRate: 1 })) });
    session.device.board.faults.clear();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('stalled');
    expect(result.error.offset).toBeGreaterThanOrEqual(image.bytes.length / 2);
    const resumed = await upload(session, image.bytes);
    expect(resumed.ok && resumed.value.resumedFrom).toBeGreaterThanOrEqual(result.error.offset);
    await expectSlotHolds(session, image);
  });
});

describe('refusals, as typed errors', () => {
  it('after image test marks slot 1 pending: v2 group 1 rc 9 (no free slot), v1 rc 6 (EBADSTATE)', async () => {
    const session = await open();
    const first = makeImage(8 * 1024);
    expect((await upload(session, first.bytes)).ok).toBe(true);
    const tested = await session.board.image.test(first.info.hash);
    expect(tested.ok && tested.value.find((slot) => slot.slot === 1)?.pending).toBe(true);

    const second = makeImage(8 * 1024, { major: 2, minor: 0, revision: 0, build: 0 }, 2);
    const v2 = await upload(session, second.bytes);
    expect(v2.ok || v2.error).toMatchObject({ code: 'group', group: MGMT_GROUP_ID.IMAGE, rc: IMG_MGMT_ERR.NO_FREE_SLOT, offset: 0 });
    const v1Session = await connect(session.device, { version: SMP_VERSION.V1 });
    const v1 = await upload(v1Session, second.bytes);
    expect(v1.ok || v1.error).toMatchObject({ code: 'mgmt', rc: MGMT_ERR.EBADSTATE, offset: 0 });
    await expectSlotHolds(v1Session, first);
  });

  it('bad image magic: v2 group 1 rc 23, v1 rc 1 — the board checks, the engine sends whatever it is given', async () => {
    const session = await open();
    const v2 = await upload(session, notAnImage(4096));
    expect(v2.ok || v2.error).toMatchObject({ code: 'group', group: MGMT_GROUP_ID.IMAGE, rc: IMG_MGMT_ERR.INVALID_IMAGE_HEADER_MAGIC, offset: 0 });
    const v1 = await upload(await connect(session.device, { version: SMP_VERSION.V1 }), notAnImage(4096));
    expect(v1.ok || v1.error).toMatchObject({ code: 'mgmt', rc: MGMT_ERR.EUNKNOWN });
  });

  it('an image larger than the slot: v2 group 1 rc 30, v1 rc 1', async () => {
    const session = await open({ slotSize: 16 * 1024 });
    const image = makeImage(16 * 1024 + 1);
    const v2 = await upload(session, image.bytes);
    expect(v2.ok || v2.error).toMatchObject({ code: 'group', group: MGMT_GROUP_ID.IMAGE, rc: IMG_MGMT_ERR.INVALID_IMAGE_TOO_LARGE });
    const v1 = await upload(await connect(session.device, { version: SMP_VERSION.V1 }), image.bytes);
    expect(v1.ok || v1.error).toMatchObject({ code: 'mgmt', rc: MGMT_ERR.EUNKNOWN });
    expect((await upload(session, makeImage(16 * 1024).bytes)).ok).toBe(true);
  });

  it('packets too small for the first request: buffer-too-small, before anything is sent', async () => {
    const session = await open();
    const result = await uploadImage(session.board.client, makeImage(4096).bytes, { maxPacketSize: 60 });
    expect(result.ok || result.error).toMatchObject({ code: 'buffer-too-small', offset: 0 });
    expect(uploadRequests(session.exchanges)).toEqual([]);
  });
});

describe('interrupted uploads resume', () => {
  it('abort via AbortSignal mid-way → "aborted" with the offset; a second call resumes and lands the image', async () => {
    const session = await open({ bufSize: 512 });
    const image = makeImage(32 * 1024);
    const controller = new AbortController();
    const aborted = await upload(session, image.bytes, { signal: controller.signal, onEvent: onceAcknowledged(0.4, () => controller.abort()) });
    expect(aborted.ok).toBe(false);
    if (aborted.ok) return;
    expect(aborted.error.code).toBe('aborted');
    expect(aborted.error.offset).toBeGreaterThan(0);
    expect(aborted.error.offset).toBeLessThan(image.bytes.length);

    const events: UploadEvent[] = [];
    const resumed = await upload(session, image.bytes, { onEvent: (event) => events.push(event) });
    expect(resumed.ok).toBe(true);
    if (!resumed.ok) return;
    expect(resumed.value.resumedFrom).toBeGreaterThanOrEqual(aborted.error.offset);
    expect(resumed.value.sentBytes).toBeLessThan(image.bytes.length);
    expect(resumed.value.sentBytes).toBe(32 + image.bytes.length - resumed.value.resumedFrom);
    expect(events).toContainEqual({ kind: 'resumed', offset: resumed.value.resumedFrom });
    await expectSlotHolds(session, image);
  });

  it('a signal already aborted: nothing is sent', async () => {
    const session = await open();
    const result = await upload(session, makeImage(4096).bytes, { signal: AbortSignal.abort() });
    expect(result.ok || result.error).toMatchObject({ code: 'aborted', offset: 0 });
    expect(uploadRequests(session.exchanges)).toEqual([]);
  });

  it.each([1, 2])('disconnect after EVERY chunk boundary of an 8 KiB image (bufSize 512, window %i): reconnect, resume from the board\'s offset, never a corrupt slot', async (window) => {
    const image = makeImage(8 * 1024);
    const ends = chunkEnds(image.bytes.length, 508);
    expect(ends.length).toBeGreaterThanOrEqual(17);
    const corrupted: string[] = [];
    let finishedBeforeTheCut = 0;
    let resumedCount = 0;
    for (const [k, boundary] of ends.entries()) {
      const device = createSimulatedDevice({ bufSize: 512, withUpdateInSecondary: false });
      const first = await connect(device);
      let cutAt = -1;
      const interrupted = await upload(first, image.bytes, {
        window,
        onEvent: onceAcknowledged(boundary / image.bytes.length, (acknowledged) => {
          cutAt = acknowledged;
          device.board.disconnect();
        }),
      });
      expect(cutAt, `chunk ${k}`).toBe(boundary);
      expect(first.board.client.isConnected).toBe(false);
      if (!interrupted.ok) {
        expect(['disconnected', 'not-connected']).toContain(interrupted.error.code);
        expect(interrupted.error.offset).toBeGreaterThanOrEqual(boundary);
      }

      // The last chunk may have reached the board before the link went down: img_mgmt then forgets the
      // finished upload, and the next first request starts a new one (Zephyr does the same).
      const landed = slotIsIntact(device, image);
      if (landed) finishedBeforeTheCut++;
      const second = await connect(device);
      const reported = await boardOffset(second, image.bytes);
      if (landed) {
        expect(reported, `chunk ${k}`).toBe(32);
      } else {
        expect(ends, `chunk ${k}: the board is at a chunk boundary`).toContain(reported);
        expect(reported, `chunk ${k}`).toBeGreaterThanOrEqual(boundary);
      }
      const resumed = await upload(second, image.bytes, { window });
      expect(resumed.ok, `chunk ${k}`).toBe(true);
      if (!resumed.ok) continue;
      expect(resumed.value.resumedFrom, `chunk ${k}`).toBe(reported > 32 ? reported : 0);
      if (resumed.value.resumedFrom > 0) resumedCount++;
      expect(resumed.value.sentBytes).toBe(32 + image.bytes.length - Math.max(reported, 32));

      const state = await second.board.image.state();
      const slot = state.ok ? state.value.find((entry) => entry.slot === 1) : undefined;
      if (slot?.hash !== image.info.hashHex || !slotIsIntact(device, image)) corrupted.push(`chunk ${k} (offset ${boundary})`);
      await first.board.close();
      await second.board.close();
    }
    expect(corrupted).toEqual([]);
    expect(finishedBeforeTheCut).toBeLessThanOrEqual(window);
    expect(resumedCount).toBeGreaterThanOrEqual(ends.length - 1 - window);
  });

  it('a finished upload is forgotten (as img_mgmt does): the same image again is sent again from 0', async () => {
    const session = await open({ bufSize: 512 });
    const image = makeImage(8 * 1024);
    expect((await upload(session, image.bytes)).ok).toBe(true);
    const again = await upload(session, image.bytes);
    expect(again.ok && again.value).toMatchObject({ resumedFrom: 0, sentBytes: image.bytes.length });
    await expectSlotHolds(session, image);
  });

  it('the answer to the last chunk lost: the board, done, answers offset 0 to the retry; the upload starts over and lands', async () => {
    const session = await open({ bufSize: 512 });
    const image = makeImage(8 * 1024);
    const ends = chunkEnds(image.bytes.length, 508);
    const events: UploadEvent[] = [];
    const onEvent = onceAcknowledged(ends.at(-2)! / image.bytes.length, () => session.device.board.faults.inject({ dropResponses: 1 }), events);
    const result = await upload(session, image.bytes, { window: 1, onEvent });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value.sentBytes).toBeGreaterThan(image.bytes.length * 2 - 1024);
    expect(events.filter((event) => event.kind === 'retry').map((event) => event.kind === 'retry' && event.offset)).toEqual([ends.at(-2), 0]);
    await expectSlotHolds(session, image);
  });

  it('a reboot between two calls forgets the upload: the next call starts from 0 and succeeds', async () => {
    const session = await open({ bufSize: 512, bootMs: 20 });
    const image = makeImage(16 * 1024);
    const controller = new AbortController();
    const aborted = await upload(session, image.bytes, { signal: controller.signal, onEvent: onceAcknowledged(0.5, () => controller.abort()) });
    expect(aborted.ok).toBe(false);
    session.device.board.reboot();
    await sleep(40);
    const events: UploadEvent[] = [];
    const again = await upload(session, image.bytes, { onEvent: (event) => events.push(event) });
    expect(again.ok).toBe(true);
    if (again.ok) expect(again.value).toMatchObject({ resumedFrom: 0, sentBytes: image.bytes.length });
    expect(events.some((event) => event.kind === 'resumed')).toBe(false);
    await expectSlotHolds(session, image);
  });

  it('a reboot during the upload: the board answers offset 0, and the upload starts over with len and sha', async () => {
    const session = await open({ bufSize: 512, bootMs: 20 });
    const image = makeImage(16 * 1024);
    const events: UploadEvent[] = [];
    const result = await upload(session, image.bytes, { onEvent: onceAcknowledged(0.5, () => session.device.board.reboot(), events) });
    expect(result.ok).toBe(true);
    expect(events.filter((event) => event.kind === 'retry').map((event) => event.kind === 'retry' && event.offset)).toContain(0);
    await expectSlotHolds(session, image);
  });
});

describe('on a wire with a speed', () => {
  it('two chunks in flight beat one at 1 Mbaud with a 10 ms board tick (wire time overlaps the board\'s)', async () => {
    const image = makeImage(12 * 1024);
    const seconds: number[] = [];
    for (const window of [1, 2]) {
      const device = createSimulatedDevice({ bufSize: 1100, processingMs: 10, withUpdateInSecondary: false });
      const session = await connect(device, { timeoutMs: 2000 }, {}, 1_000_000);
      const result = await upload(session, image.bytes, { window });
      expect(result.ok).toBe(true);
      if (result.ok) seconds.push(result.value.seconds);
      await expectSlotHolds(session, image);
    }
    expect(seconds[1]!).toBeLessThan(seconds[0]! * 0.8);
  });
});
