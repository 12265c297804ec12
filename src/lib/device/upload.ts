/**
 * Firmware upload (image group, command 1) at the wire's speed, resumable.
 *
 * - Chunks fill the board's SMP buffer exactly: each request is sized by encoding it, so CBOR
 *   overhead (which grows with the offset) never pushes a packet over `buf_size`.
 * - Up to `min(window, buf_count)` chunks are in flight. The board answers each with the next
 *   offset it expects; when that is not what we expected (a chunk was lost or refused), we let
 *   the chunks in flight drain and carry on from the board's offset.
 * - The first request carries `len` and the SHA-256 of the whole file with only the 32-byte
 *   header as data: a board that holds part of this upload answers with its offset and we
 *   resume there, a board that does not starts a new upload; either way nothing is sent twice.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeCbor, type CborMap } from '../smp/cbor';
import type { SmpClient } from '../smp/client';
import type { SmpError, SmpErrorCode } from '../smp/errors';
import { SMP_HEADER_SIZE } from '../smp/header';
import { IMG_MGMT_ID, MGMT_GROUP_ID } from '../smp/ids';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex } from '../util/bytes';
import type { McumgrParams } from './os';

/** Zephyr refuses a first chunk shorter than the image header. */
const FIRST_CHUNK_BYTES = 32;
/** A board that does not answer MCUmgr parameters gets packets that fit a 512-byte buffer. */
export const FALLBACK_PACKET_SIZE = 508;
/** Consecutive failed rounds (timeouts, refused offsets) before giving up. */
const DEFAULT_MAX_RETRIES = 6;

export type UploadEvent =
  | { kind: 'started'; total: number; chunkSize: number; window: number; sha: string }
  | { kind: 'resumed'; offset: number }
  | { kind: 'progress'; sent: number; acknowledged: number; total: number; bytesPerSecond: number; secondsLeft: number | null }
  | { kind: 'retry'; offset: number; reason: string }
  | { kind: 'done'; summary: UploadSummary };

export interface UploadSummary {
  bytes: number;
  /** Image bytes sent in this session, repeats included. */
  sentBytes: number;
  resumedFrom: number;
  seconds: number;
  bytesPerSecond: number;
  /** SHA-256 of the whole file, hex. */
  sha: string;
}

export type UploadErrorCode = SmpErrorCode | 'stalled' | 'buffer-too-small';
export interface UploadError {
  code: UploadErrorCode;
  message: string;
  /** Where the board was when the upload stopped: a later call resumes from here. */
  offset: number;
  rc?: number;
  group?: number;
}

export interface UploadOptions {
  /** Image number (0 for a single-image board; the data lands in its secondary slot). */
  image?: number;
  /** Chunks in flight; default 2 when the board has two or more buffers, else 1. */
  window?: number;
  /** Refuse to downgrade (img_mgmt `upgrade`). */
  upgrade?: boolean;
  params?: McumgrParams | null;
  /** Largest request packet; default from the board's buffer (client.maxPacketSize). */
  maxPacketSize?: number;
  timeoutMs?: number;
  maxRetries?: number;
  signal?: AbortSignal;
  onEvent?: (event: UploadEvent) => void;
}

interface ChunkReply {
  start: number;
  end: number;
  result: Result<CborMap, SmpError>;
}

/** Largest data field that keeps `{off, data}` (plus `extra`) within `maxPacketSize`. */
export function chunkDataSize(offset: number, maxPacketSize: number, extra: CborMap = {}): number {
  const empty = encodeCbor({ ...extra, off: offset, data: new Uint8Array(0) }).length;
  // The byte string's length prefix grows from 1 byte (empty) to 2 (≥24) or 3 (≥256) bytes; each
  // step leaves a length that needs no more prefix than paid for. (SMP's u16 length keeps it < 65536.)
  let size = maxPacketSize - SMP_HEADER_SIZE - empty;
  if (size >= 24) size -= 1;
  if (size >= 256) size -= 1;
  return Math.max(0, size);
}

/**
 * Uploads `image` and resolves with a summary, or with an error that says where the board is.
 * @example const result = await uploadImage(board.client, bytes, { params: board.params, onEvent: show });
 */
export async function uploadImage(client: SmpClient, image: Uint8Array, options: UploadOptions = {}): Promise<Result<UploadSummary, UploadError>> {
  const total = image.length;
  const shaBytes = sha256(image);
  const sha = bytesToHex(shaBytes);
  const maxPacketSize = options.maxPacketSize ?? client.maxPacketSize ?? FALLBACK_PACKET_SIZE;
  const bufCount = options.params?.bufCount ?? 1;
  let window = Math.max(1, Math.min(options.window ?? (bufCount >= 2 ? 2 : 1), bufCount));
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  const emit = options.onEvent ?? (() => {});
  const firstFields: CborMap = { image: options.image ?? 0, len: total, sha: shaBytes, ...(options.upgrade ? { upgrade: true } : {}) };

  if (chunkDataSize(total, maxPacketSize) < 32 || chunkDataSize(0, maxPacketSize, firstFields) < Math.min(FIRST_CHUNK_BYTES, total)) {
    return err({ code: 'buffer-too-small', offset: 0, message: `the board's ${maxPacketSize}-byte packets leave no room for image data` });
  }
  emit({ kind: 'started', total, chunkSize: chunkDataSize(total, maxPacketSize), window, sha });

  const startedAt = performance.now();
  let sentBytes = 0;
  const send = (start: number, length: number, extra: CborMap | null, signal: AbortSignal): Promise<ChunkReply> => {
    sentBytes += length;
    const payload = { ...(extra ?? {}), off: start, data: image.subarray(start, start + length) };
    return client
      .request({ group: MGMT_GROUP_ID.IMAGE, command: IMG_MGMT_ID.UPLOAD, op: 'write', payload, signal, timeoutMs: options.timeoutMs })
      .then((result) => ({ start, end: start + length, result }));
  };
  const stop = (error: SmpError | Omit<UploadError, 'offset'>, offset: number) =>
    err({ code: error.code, message: error.message, offset, rc: 'rc' in error ? error.rc : undefined, group: 'group' in error ? error.group : undefined });

  // The first request: start a new upload, or learn where the board got to with this one. Asking
  // again after a lost answer is safe: a board that got the request now holds this sha and resumes.
  const sendProbe = () => send(0, Math.min(FIRST_CHUNK_BYTES, total), firstFields, options.signal ?? new AbortController().signal);
  let probe = await sendProbe();
  for (let retries = 0; !probe.result.ok && probe.result.error.code === 'timeout' && retries < maxRetries; retries++) {
    emit({ kind: 'retry', offset: 0, reason: probe.result.error.message });
    probe = await sendProbe();
  }
  if (!probe.result.ok) return stop(probe.result.error, 0);
  const probeOffset = replyOffset(probe.result.value);
  if (probeOffset === null) return stop({ code: 'bad-response', message: 'image/upload: the board answered without an offset' }, 0);
  let boardOffset = probeOffset;
  const resumedFrom = probeOffset > probe.end ? probeOffset : 0;
  if (resumedFrom > 0) emit({ kind: 'resumed', offset: resumedFrom });

  let nextOffset = boardOffset;
  let failures = 0;
  let droppedWhilePipelining = 0;
  const inFlight = new Map<number, { promise: Promise<ChunkReply>; controller: AbortController }>();
  const onAbort = () => inFlight.forEach((chunk) => chunk.controller.abort());
  // The client keeps its own cap on requests in flight; lift it to ours for the upload.
  const clientWindow = client.window;
  client.window = Math.max(clientWindow, window);
  options.signal?.addEventListener('abort', onAbort);
  const progress = () => {
    const elapsed = (performance.now() - startedAt) / 1000;
    const rate = elapsed > 0 ? (boardOffset - resumedFrom) / elapsed : 0;
    emit({ kind: 'progress', sent: nextOffset, acknowledged: boardOffset, total, bytesPerSecond: rate, secondsLeft: rate > 0 ? (total - boardOffset) / rate : null });
  };
  progress();

  try {
    while (boardOffset < total) {
      if (options.signal?.aborted) return stop({ code: 'aborted', message: 'upload cancelled' }, boardOffset);
      while (inFlight.size < window && nextOffset < total) {
        // Back at 0 means the board forgot the upload (it restarted): begin again, with len and sha.
        const extra = nextOffset === 0 ? firstFields : null;
        const length = Math.min(chunkDataSize(nextOffset, maxPacketSize, extra ?? {}), total - nextOffset);
        const controller = new AbortController();
        inFlight.set(nextOffset, { promise: send(nextOffset, length, extra, controller.signal), controller });
        nextOffset += length;
      }
      const reply = await Promise.race([...inFlight.values()].map((chunk) => chunk.promise));
      inFlight.delete(reply.start);

      let resyncTo: number | null = null;
      if (reply.result.ok) {
        const offset = replyOffset(reply.result.value);
        if (offset === null) return stop({ code: 'bad-response', message: 'image/upload: the board answered without an offset' }, boardOffset);
        // The board works through requests in order: once it answered this chunk, earlier chunks
        // still waiting either landed (their answers were lost) or never arrived. Stop waiting for them.
        const unanswered = [...inFlight.keys()].filter((start) => start < reply.start);
        for (const start of unanswered) inFlight.get(start)!.controller.abort();
        if (offset === reply.end) {
          boardOffset = Math.max(boardOffset, offset);
          failures = 0;
          progress();
        } else {
          resyncTo = offset;
          if (unanswered.includes(offset) && ++droppedWhilePipelining >= 2 && window > 1) {
            // Some boards (Zephyr's shell transport) report several buffers yet drop a request
            // that arrives while they are busy: pipelining only costs timeouts there.
            window = 1;
            emit({ kind: 'retry', offset, reason: 'the board drops requests sent while it is busy; continuing with one chunk in flight' });
          } else {
            emit({ kind: 'retry', offset, reason: `the board expected offset ${offset}, not ${reply.start}` });
          }
        }
      } else if (reply.result.error.code === 'aborted') {
        if (options.signal?.aborted) return stop({ code: 'aborted', message: 'upload cancelled' }, boardOffset);
        continue; // cancelled by us: a later chunk's answer settled it
      } else if (reply.result.error.code === 'timeout') {
        resyncTo = boardOffset;
        emit({ kind: 'retry', offset: boardOffset, reason: reply.result.error.message });
      } else {
        return stop(reply.result.error, boardOffset);
      }

      if (resyncTo !== null) {
        if (++failures > maxRetries) {
          return stop({ code: 'stalled', message: `image/upload: no progress after ${maxRetries} retries at offset ${boardOffset}` }, boardOffset);
        }
        // Let everything in flight land; the last answer the board gave is where it is.
        const drained = await Promise.all([...inFlight.values()].filter((chunk) => !chunk.controller.signal.aborted).map((chunk) => chunk.promise));
        inFlight.clear();
        for (const late of drained) {
          const offset = late.result.ok ? replyOffset(late.result.value) : null;
          if (offset !== null) resyncTo = offset;
        }
        boardOffset = resyncTo;
        nextOffset = resyncTo;
      }
    }
  } finally {
    client.window = clientWindow;
    options.signal?.removeEventListener('abort', onAbort);
    inFlight.forEach((chunk) => chunk.controller.abort());
  }

  const seconds = (performance.now() - startedAt) / 1000;
  const summary: UploadSummary = { bytes: total, sentBytes, resumedFrom, seconds, bytesPerSecond: seconds > 0 ? (total - resumedFrom) / seconds : 0, sha };
  emit({ kind: 'done', summary });
  return ok(summary);
}

function replyOffset(value: CborMap): number | null {
  return typeof value.off === 'number' && Number.isInteger(value.off) && value.off >= 0 ? value.off : null;
}
