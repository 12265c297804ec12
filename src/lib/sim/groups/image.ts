/**
 * Image management group on the simulated board (Zephyr `img_mgmt` over MCUboot): two slots,
 * state read, test/confirm, erase, and MCUboot's swap on reset (a tested image that is not
 * confirmed by the next reset is reverted).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { IMG_MGMT_ERR, IMG_MGMT_ID, MGMT_ERR, MGMT_GROUP_ID } from '../../smp/ids';
import { utf8 } from '../../util/bytes';
import { groupFailure, mgmtFailure, type SimulatedBoard } from '../board';

export interface SimImage {
  version: string;
  /** SHA-256 of the image, as MCUboot's hash TLV carries it. */
  hash: Uint8Array;
  bytes: Uint8Array | null;
}

export interface SimImageSlots {
  primary: SimImage | null;
  secondary: SimImage | null;
  /** Running image confirmed (MCUboot image_ok). */
  confirmed: boolean;
  /** Secondary marked for swap at next reset: 'test' reverts unless confirmed, 'permanent' sticks. */
  pending: 'test' | 'permanent' | null;
  /** The running image was swapped in for test and is not confirmed yet: revert at next reset. */
  testing: boolean;
}

/** MCUboot's image hash TLV is a SHA-256. */
const IMAGE_HASH_BYTES = 32;

/** A synthetic image whose hash is stable for a given board and version. */
export function syntheticImage(boardName: string, version: string): SimImage {
  return { version, hash: sha256(utf8.encode(`${boardName}:${version}`)), bytes: null };
}

export function registerImageGroup(board: SimulatedBoard, slots: SimImageSlots): void {
  const group = MGMT_GROUP_ID.IMAGE;
  const groupError = (rc: number, v1Rc: number) => groupFailure(group, rc, v1Rc);

  const describeState = () => {
    const images = [];
    if (slots.primary) {
      images.push({
        image: 0,
        slot: 0,
        version: slots.primary.version,
        hash: slots.primary.hash,
        bootable: true,
        pending: false,
        confirmed: slots.confirmed,
        active: true,
        permanent: false,
      });
    }
    if (slots.secondary) {
      images.push({
        image: 0,
        slot: 1,
        version: slots.secondary.version,
        hash: slots.secondary.hash,
        bootable: true,
        pending: slots.pending !== null,
        confirmed: false,
        active: false,
        permanent: slots.pending === 'permanent',
      });
    }
    return { images, splitStatus: 0 };
  };

  board.register(group, IMG_MGMT_ID.STATE, {
    read: () => describeState(),
    write: ({ payload }) => {
      const confirm = payload.confirm === true;
      const hash = payload.hash;
      if (hash !== undefined && !(hash instanceof Uint8Array)) return mgmtFailure(MGMT_ERR.EINVAL);
      if (payload.confirm !== undefined && typeof payload.confirm !== 'boolean') return mgmtFailure(MGMT_ERR.EINVAL);
      // Error codes as Zephyr 3.4's img_mgmt answers them (measured against the native_sim build).
      if (hash !== undefined && hash.length !== IMAGE_HASH_BYTES) return groupError(IMG_MGMT_ERR.INVALID_HASH, MGMT_ERR.EINVAL);
      if (hash === undefined && !confirm) return groupError(IMG_MGMT_ERR.INVALID_HASH, MGMT_ERR.EINVAL);
      const matches = (image: SimImage | null) => image !== null && hash !== undefined && sameBytes(image.hash, hash);
      if (hash === undefined || matches(slots.primary)) {
        if (!confirm) return groupError(IMG_MGMT_ERR.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED, MGMT_ERR.EBADSTATE);
        slots.confirmed = true;
        slots.testing = false;
        return describeState();
      }
      if (!matches(slots.secondary)) return groupError(IMG_MGMT_ERR.HASH_NOT_FOUND, MGMT_ERR.EUNKNOWN);
      slots.pending = confirm ? 'permanent' : 'test';
      return describeState();
    },
  });

  board.register(group, IMG_MGMT_ID.ERASE, {
    write: ({ payload }) => {
      const slot = payload.slot ?? 1;
      if (slot !== 1) return groupError(IMG_MGMT_ERR.NO_FREE_SLOT, MGMT_ERR.EBADSTATE);
      if (slots.pending !== null) return groupError(IMG_MGMT_ERR.NO_FREE_SLOT, MGMT_ERR.EBADSTATE);
      slots.secondary = null;
      return {};
    },
  });

  board.onReboot(() => swapOnReset(slots));
}

/** What MCUboot does at reset with the slots' flags. */
function swapOnReset(slots: SimImageSlots): void {
  if (slots.pending !== null && slots.secondary) {
    const previous = slots.primary;
    slots.primary = slots.secondary;
    slots.secondary = previous;
    slots.confirmed = slots.pending === 'permanent';
    slots.testing = slots.pending === 'test';
    slots.pending = null;
  } else if (slots.testing) {
    // Not confirmed while on test: revert to the previous image.
    const tested = slots.primary;
    slots.primary = slots.secondary;
    slots.secondary = tested;
    slots.confirmed = true;
    slots.testing = false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
