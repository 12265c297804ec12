/** The image management group as a typed API: slot state, test, confirm, erase. */
import { isCborMap, type CborMap } from '../smp/cbor';
import type { SmpClient } from '../smp/client';
import type { SmpError } from '../smp/errors';
import type { Result } from '../smp/result';
import { err, ok } from '../smp/result';
import { bytesToHex } from '../util/bytes';
import { COMMANDS } from './commands';
import { type CallOptions, map, runCommand } from './run';

export interface ImageSlot {
  image: number;
  slot: number;
  version: string;
  /** Hex SHA-256 from the image's hash TLV. */
  hash: string;
  hashBytes: Uint8Array;
  bootable: boolean;
  pending: boolean;
  confirmed: boolean;
  active: boolean;
  permanent: boolean;
}

export class ImageGroup {
  constructor(private readonly client: SmpClient) {}

  async state(options?: CallOptions): Promise<Result<ImageSlot[], SmpError>> {
    return parseState(await runCommand(this.client, COMMANDS.imageState, {}, options));
  }

  /** Marks the image with `hash` to run once at next reset; it reverts unless confirmed. */
  async test(hash: Uint8Array, options?: CallOptions): Promise<Result<ImageSlot[], SmpError>> {
    return parseState(await runCommand(this.client, COMMANDS.imageSetState, { hash, confirm: false }, options));
  }

  /** Confirms the running image (no hash), or makes the image with `hash` permanent at next reset. */
  async confirm(hash?: Uint8Array, options?: CallOptions): Promise<Result<ImageSlot[], SmpError>> {
    return parseState(await runCommand(this.client, COMMANDS.imageSetState, hash ? { hash, confirm: true } : { confirm: true }, options));
  }

  async erase(slot?: number, options?: CallOptions): Promise<Result<void, SmpError>> {
    return map(await runCommand(this.client, COMMANDS.imageErase, slot === undefined ? {} : { slot }, options), () => undefined);
  }
}

function parseState(result: Result<CborMap, SmpError>): Result<ImageSlot[], SmpError> {
  if (!result.ok) return result;
  const slots: ImageSlot[] = [];
  for (const raw of result.value.images as unknown[]) {
    if (!isCborMap(raw) || typeof raw.slot !== 'number' || typeof raw.version !== 'string') {
      return err({ code: 'bad-response', command: 'image/state', message: 'image/state: an image entry lacks slot or version' });
    }
    const hashBytes = raw.hash instanceof Uint8Array ? raw.hash : new Uint8Array();
    slots.push({
      image: typeof raw.image === 'number' ? raw.image : 0,
      slot: raw.slot,
      version: raw.version,
      hash: bytesToHex(hashBytes),
      hashBytes,
      bootable: raw.bootable === true,
      pending: raw.pending === true,
      confirmed: raw.confirmed === true,
      active: raw.active === true,
      permanent: raw.permanent === true,
    });
  }
  return ok(slots);
}
