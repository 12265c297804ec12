/**
 * The image verbs of the command line, which take files and hashes rather than a JSON request:
 *   image upload FILE [--slot N] [--window N]   progress on stderr, summary JSON on stdout
 *   image test HASH | image confirm [HASH]      slot list JSON on stdout
 * The file is checked as an MCUboot image before a byte is sent.
 */
import { readFileSync } from 'node:fs';
import type { Board } from '../../lib/device';
import { parseMcubootImage } from '../../lib/device/mcuboot-image';
import { uploadImage, type UploadEvent } from '../../lib/device/upload';
import type { SmpError } from '../../lib/smp/errors';
import type { Result } from '../../lib/smp/result';
import { hexToBytes } from '../../lib/util/bytes';

export const IMAGE_VERBS = ['upload', 'test', 'confirm'] as const;
export type ImageVerb = (typeof IMAGE_VERBS)[number];

export interface ImageInvocation {
  verb: ImageVerb;
  file?: string;
  hash?: Uint8Array;
  slot: number;
  window?: number;
}

export class ImageUsageError extends Error {}

export function isImageVerb(group: string, name: string): name is ImageVerb {
  return group === 'image' && (IMAGE_VERBS as readonly string[]).includes(name);
}

export function parseImageInvocation(verb: ImageVerb, args: string[], flags: { slot?: string; window?: string }): ImageInvocation {
  const slot = flags.slot === undefined ? 1 : Number(flags.slot);
  if (!Number.isInteger(slot) || slot < 1 || slot % 2 !== 1) throw new ImageUsageError(`--slot must be a secondary slot (1, 3, …), got "${flags.slot}"`);
  const window = flags.window === undefined ? undefined : Number(flags.window);
  if (window !== undefined && (!Number.isInteger(window) || window < 1 || window > 16)) throw new ImageUsageError(`--window must be 1..16, got "${flags.window}"`);
  const invocation: ImageInvocation = { verb, slot, window };
  if (verb === 'upload') {
    if (args.length !== 1) throw new ImageUsageError('image upload needs one FILE');
    invocation.file = args[0];
  } else {
    if (args.length > 1 || (verb === 'test' && args.length === 0)) throw new ImageUsageError(`image ${verb} ${verb === 'test' ? 'HASH' : '[HASH]'}`);
    if (args[0] !== undefined) {
      try {
        invocation.hash = hexToBytes(args[0]);
      } catch {
        throw new ImageUsageError(`HASH must be hex (64 characters for SHA-256), got "${args[0]}"`);
      }
    }
  }
  return invocation;
}

/** Runs the verb; returns the JSON to print, or a typed error. */
export async function runImageVerb(board: Board, invocation: ImageInvocation): Promise<Result<unknown, { code: string; message: string }>> {
  if (invocation.verb !== 'upload') {
    const slots = invocation.verb === 'test' ? await board.image.test(invocation.hash!) : await board.image.confirm(invocation.hash);
    return slots.ok ? { ok: true, value: slots.value.map(({ hashBytes: _bytes, ...slot }) => slot) } : slots;
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(invocation.file!));
  } catch (caught) {
    return { ok: false, error: { code: 'file', message: `cannot read ${invocation.file}: ${caught instanceof Error ? caught.message : String(caught)}` } };
  }
  const parsed = parseMcubootImage(bytes);
  if (!parsed.ok) return { ok: false, error: { code: parsed.error.code, message: `${invocation.file}: ${parsed.error.message}` } };
  const result = await uploadImage(board.client, bytes, {
    image: (invocation.slot - 1) / 2,
    window: invocation.window,
    params: board.params,
    onEvent: printProgress,
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  if (!result.ok) return result as Result<never, SmpError>;
  const { bytes: total, seconds, bytesPerSecond, sha, resumedFrom } = result.value;
  return {
    ok: true,
    value: { bytes: total, seconds: round(seconds), bytesPerSecond: Math.round(bytesPerSecond), sha, resumedFrom, version: parsed.value.versionString, imageHash: parsed.value.hashHex },
  };
}

let lastLine = 0;
function printProgress(event: UploadEvent): void {
  const tty = process.stderr.isTTY;
  if (event.kind === 'resumed') process.stderr.write(`resuming at byte ${event.offset}\n`);
  else if (event.kind === 'retry') process.stderr.write(`${tty ? '\n' : ''}retry at ${event.offset}: ${event.reason}\n`);
  else if (event.kind === 'progress') {
    const now = Date.now();
    if (now - lastLine < (tty ? 100 : 1000) && event.acknowledged < event.total) return;
    lastLine = now;
    const percent = ((event.acknowledged / event.total) * 100).toFixed(1).padStart(5);
    const left = event.secondsLeft === null ? '' : `, ${Math.ceil(event.secondsLeft)} s left`;
    process.stderr.write(`${tty ? '\r' : ''}upload ${percent}%  ${event.acknowledged}/${event.total} bytes  ${Math.round(event.bytesPerSecond)} B/s${left}${tty ? '' : '\n'}`);
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
