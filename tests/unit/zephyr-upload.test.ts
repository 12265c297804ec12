/**
 * Firmware upload against the real thing: Zephyr's smp_svr (native_sim build, img_mgmt over a
 * simulated flash, see ../shared/peers/zephyr-smp/README.md) over a pty. Each test starts its own
 * board (-flash_in_ram: slot 1 blank) and kills it afterwards. The images are real MCUboot images
 * built with buildMcubootImage; what Zephyr reports about them comes from its own img_mgmt code.
 * Skipped, with the reason in the title, when zephyr.exe is not there.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Board, connectBoard } from '../../src/lib/device';
import { buildMcubootImage, type McubootImageInfo, parseMcubootImage } from '../../src/lib/device/mcuboot-image';
import { chunkDataSize, type UploadEvent, type UploadOptions, uploadImage } from '../../src/lib/device/upload';
import type { SmpClientOptions } from '../../src/lib/smp/client';
import { IMG_MGMT_ERR, MGMT_ERR, MGMT_GROUP_ID, SMP_VERSION } from '../../src/lib/smp/ids';
import type { Transport } from '../../src/lib/transport/types';
import { openSerialDevice } from '../../src/node/pty-transport';
import { findZephyrExe, startZephyr, type ZephyrInstance, zephyrExeLocation } from '../../src/node/zephyr';

const exe = findZephyrExe();
const title = exe ? `image upload to Zephyr smp_svr (${exe}) over a pty` : `image upload to Zephyr: board not found at ${zephyrExeLocation()}, set ZEPHYR_SMP_EXE`;

/** Zephyr's buf_size 1100 less the frame's length and CRC (see the peer's README). */
const ZEPHYR_MAX_PACKET = 1096;
/** Slot 1 of the native_sim flash layout: 0x75000 - 0xc000 bytes. */
const ZEPHYR_SLOT_SIZE = 430080;

interface TestImage {
  bytes: Uint8Array;
  info: McubootImageInfo;
}

function makeImage(size: number, seed = 1): TestImage {
  const body = new Uint8Array(size - 0x200 - 40);
  let state = seed;
  for (let i = 0; i < body.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    body[i] = state >>> 24;
  }
  const bytes = buildMcubootImage({ version: { major: 1, minor: 2, revision: 3, build: 4 }, body });
  const info = parseMcubootImage(bytes);
  if (!info.ok) throw new Error(info.error.message);
  return { bytes, info: info.value };
}

function chunkEnds(total: number): number[] {
  const ends = [32];
  for (let offset = 32; offset < total; ) {
    offset += Math.min(chunkDataSize(offset, ZEPHYR_MAX_PACKET), total - offset);
    ends.push(offset);
  }
  return ends;
}

describe.skipIf(!exe)(title, () => {
  const instances: ZephyrInstance[] = [];
  const boards: Board[] = [];
  afterEach(async () => {
    await Promise.all(boards.splice(0).map((board) => board.close()));
    await Promise.all(instances.splice(0).map((instance) => instance.stop()));
  });

  async function startBoard(): Promise<ZephyrInstance> {
    const instance = await startZephyr({ exe: exe! });
    instances.push(instance);
    return instance;
  }

  async function open(instance: ZephyrInstance, options: SmpClientOptions = {}): Promise<{ board: Board; transport: Transport }> {
    const transport = await openSerialDevice(instance.pty);
    const board = await connectBoard(transport, { timeoutMs: 2000, ...options });
    boards.push(board);
    expect(board.params).toEqual({ bufSize: 1100, bufCount: 4 });
    return { board, transport };
  }

  const upload = (board: Board, image: Uint8Array, options: UploadOptions = {}) => uploadImage(board.client, image, { params: board.params, ...options });

  async function slot1(board: Board) {
    const state = await board.image.state();
    expect(state.ok).toBe(true);
    return state.ok ? state.value.find((slot) => slot.slot === 1) : undefined;
  }

  it('uploads a 96 KiB MCUboot image (1.2.3.4); image state lists it in slot 1 with the hash from its TLV and the version from its header', async () => {
    const { board } = await open(await startBoard());
    expect(await board.image.state()).toEqual({ ok: true, value: [] });
    const image = makeImage(96 * 1024);
    const result = await upload(board, image.bytes);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value).toMatchObject({ bytes: image.bytes.length, resumedFrom: 0 });
    expect(await slot1(board)).toMatchObject({ image: 0, slot: 1, version: '1.2.3.4', hash: image.info.hashHex, bootable: true, pending: false, confirmed: false, active: false });
  });

  it('image test(hash) marks it pending; then the slot is locked: v2 group 1 rc 9, v1 rc 6', async () => {
    const instance = await startBoard();
    const { board } = await open(instance);
    const image = makeImage(64 * 1024);
    expect((await upload(board, image.bytes)).ok).toBe(true);
    const tested = await board.image.test(image.info.hash);
    expect(tested.ok).toBe(true);
    expect(tested.ok && tested.value.find((slot) => slot.slot === 1)).toMatchObject({ hash: image.info.hashHex, pending: true, permanent: false });
    expect(await slot1(board)).toMatchObject({ pending: true });

    const other = makeImage(8 * 1024, 2);
    const v2 = await upload(board, other.bytes);
    expect(v2.ok || v2.error).toMatchObject({ code: 'group', group: MGMT_GROUP_ID.IMAGE, rc: IMG_MGMT_ERR.NO_FREE_SLOT, offset: 0 });
    await board.close();
    const { board: v1Board } = await open(instance, { version: SMP_VERSION.V1 });
    const v1 = await upload(v1Board, other.bytes);
    expect(v1.ok || v1.error).toMatchObject({ code: 'mgmt', rc: MGMT_ERR.EBADSTATE, offset: 0 });
    expect(await slot1(v1Board)).toMatchObject({ hash: image.info.hashHex, pending: true });
  });

  it('an upload cut off by closing the pty at ~40% resumes on a reopened pty from the offset Zephyr reports', async () => {
    const instance = await startBoard();
    const first = await open(instance);
    const image = makeImage(96 * 1024);
    const ends = chunkEnds(image.bytes.length);
    let acknowledgedAtCut = -1;
    let closing: Promise<void> | null = null;
    const interrupted = await upload(first.board, image.bytes, {
      onEvent: (event) => {
        if (closing || event.kind !== 'progress' || event.acknowledged < 0.4 * image.bytes.length) return;
        acknowledgedAtCut = event.acknowledged;
        closing = first.transport.close();
      },
    });
    await closing;
    expect(interrupted.ok).toBe(false);
    if (interrupted.ok) return;
    expect(['disconnected', 'not-connected']).toContain(interrupted.error.code);
    expect(interrupted.error.offset).toBe(acknowledgedAtCut);
    expect(instance.process.exitCode).toBeNull(); // closing our end of the pty does not stop Zephyr

    const second = await open(instance);
    const events: UploadEvent[] = [];
    const resumed = await upload(second.board, image.bytes, { onEvent: (event) => events.push(event) });
    expect(resumed.ok).toBe(true);
    if (!resumed.ok) return;
    expect(resumed.value.resumedFrom).toBeGreaterThan(0);
    expect(resumed.value.resumedFrom).toBeGreaterThanOrEqual(acknowledgedAtCut);
    expect(ends).toContain(resumed.value.resumedFrom);
    expect(resumed.value.sentBytes).toBeLessThan(image.bytes.length - resumed.value.resumedFrom + 4 * ZEPHYR_MAX_PACKET);
    expect(events).toContainEqual({ kind: 'resumed', offset: resumed.value.resumedFrom });
    expect(await slot1(second.board)).toMatchObject({ version: '1.2.3.4', hash: image.info.hashHex, bootable: true });
  });

  it('refuses bad image magic: v2 group 1 rc 23, v1 rc 1', async () => {
    const instance = await startBoard();
    const notAnImage = new Uint8Array(4096).fill(0x5a);
    notAnImage.set([0x7f, 0x45, 0x4c, 0x46]); // an ELF file
    const { board } = await open(instance);
    const v2 = await upload(board, notAnImage);
    expect(v2.ok || v2.error).toMatchObject({ code: 'group', group: MGMT_GROUP_ID.IMAGE, rc: IMG_MGMT_ERR.INVALID_IMAGE_HEADER_MAGIC, offset: 0 });
    await board.close();
    const { board: v1Board } = await open(instance, { version: SMP_VERSION.V1 });
    const v1 = await upload(v1Board, notAnImage);
    expect(v1.ok || v1.error).toMatchObject({ code: 'mgmt', rc: MGMT_ERR.EUNKNOWN, offset: 0 });
    expect(await v1Board.image.state()).toEqual({ ok: true, value: [] });
  });

  it(`refuses an image larger than slot 1 (${ZEPHYR_SLOT_SIZE} bytes) at the first request: v2 group 1 rc 30`, async () => {
    const { board } = await open(await startBoard());
    const result = await upload(board, makeImage(ZEPHYR_SLOT_SIZE + 1).bytes);
    expect(result.ok || result.error).toMatchObject({ code: 'group', group: MGMT_GROUP_ID.IMAGE, rc: IMG_MGMT_ERR.INVALID_IMAGE_TOO_LARGE, offset: 0 });
  });

  it('drops a request that arrives while it is busy despite buf_count 4: window 2 costs a retry or two, then goes one at a time', async () => {
    const { board } = await open(await startBoard());
    const image = makeImage(64 * 1024);
    const retries: UploadEvent[] = [];
    const started = performance.now();
    const result = await upload(board, image.bytes, { window: 2, onEvent: (event) => event.kind === 'retry' && retries.push(event) });
    expect(result.ok).toBe(true);
    expect(retries.length, JSON.stringify(retries)).toBeGreaterThanOrEqual(1);
    expect(retries.length, JSON.stringify(retries)).toBeLessThanOrEqual(3);
    expect(performance.now() - started).toBeLessThan(1900); // no request waited out its 2 s timeout
    expect(await slot1(board)).toMatchObject({ hash: image.info.hashHex });
  });

  it('forgets a finished upload: the same image again starts over from 0', async () => {
    const { board } = await open(await startBoard());
    const image = makeImage(16 * 1024);
    expect((await upload(board, image.bytes, { window: 1 })).ok).toBe(true);
    const again = await upload(board, image.bytes, { window: 1 });
    expect(again.ok && again.value).toMatchObject({ resumedFrom: 0, sentBytes: image.bytes.length });
    expect(await slot1(board)).toMatchObject({ hash: image.info.hashHex });
  });

  it('does not check the hash: an image whose body no longer matches its hash TLV is listed with the TLV\'s hash', async () => {
    const { board } = await open(await startBoard());
    const image = makeImage(16 * 1024);
    const damaged = image.bytes.slice();
    damaged[0x300] = damaged[0x300]! ^ 0x01;
    expect(parseMcubootImage(damaged)).toMatchObject({ ok: false, error: { code: 'image-hash-mismatch' } });
    expect((await upload(board, damaged)).ok).toBe(true);
    expect(await slot1(board)).toMatchObject({ hash: image.info.hashHex, version: '1.2.3.4', bootable: true });
  });
});
