/**
 * Image upload on the simulated board, with Zephyr img_mgmt's semantics as measured against
 * the real board (shared/peers/zephyr-smp/README.md):
 * - off 0 needs `len`; its data must hold at least the 32-byte image header, with the magic;
 * - off 0 with the `sha` of the upload in progress resumes: the answer is the current offset,
 *   the data is ignored; any other first chunk starts over;
 * - a chunk at the wrong offset is dropped and answered with the offset expected;
 * - a slot marked for test/confirm refuses uploads;
 * - the upload state lives in RAM: a reboot forgets it, and so does the upload's last chunk.
 * When the last byte lands, the slot holds the image with the version and hash from its header and TLVs.
 */
import { IMG_MGMT_ERR, IMG_MGMT_ID, MGMT_ERR, MGMT_GROUP_ID } from '../../smp/ids';
import { equalBytes } from '../../util/bytes';
import { parseMcubootImage, IMAGE_HEADER_SIZE, IMAGE_MAGIC } from '../../device/mcuboot-image';
import { groupFailure, mgmtFailure, type SimulatedBoard } from '../board';
import type { SimImageSlots } from './image';

interface UploadInProgress {
  sha: Uint8Array | null;
  length: number;
  offset: number;
  buffer: Uint8Array;
}

export function registerImageUpload(board: SimulatedBoard, slots: SimImageSlots, slotSize: number): void {
  const group = MGMT_GROUP_ID.IMAGE;
  let upload: UploadInProgress | null = null;
  board.onReboot(() => (upload = null));

  board.register(group, IMG_MGMT_ID.UPLOAD, {
    write: ({ payload }) => {
      const { off, len, data, sha } = payload;
      if (typeof off !== 'number' || !(data instanceof Uint8Array)) return groupFailure(group, IMG_MGMT_ERR.INVALID_OFFSET, MGMT_ERR.EINVAL);
      if (sha !== undefined && !(sha instanceof Uint8Array)) return groupFailure(group, IMG_MGMT_ERR.INVALID_HASH, MGMT_ERR.EINVAL);
      if (payload.image !== undefined && payload.image !== 0) return groupFailure(group, IMG_MGMT_ERR.INVALID_SLOT, MGMT_ERR.EINVAL);

      if (off === 0) {
        if (typeof len !== 'number') return groupFailure(group, IMG_MGMT_ERR.INVALID_LENGTH, MGMT_ERR.EINVAL);
        if (upload && sha && upload.sha && equalBytes(sha, upload.sha) && upload.length === len) return { off: upload.offset };
        if (slots.pending !== null) return groupFailure(group, IMG_MGMT_ERR.NO_FREE_SLOT, MGMT_ERR.EBADSTATE);
        if (data.length < IMAGE_HEADER_SIZE) return groupFailure(group, IMG_MGMT_ERR.INVALID_IMAGE_HEADER, MGMT_ERR.EINVAL);
        if (new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true) !== IMAGE_MAGIC) {
          return groupFailure(group, IMG_MGMT_ERR.INVALID_IMAGE_HEADER_MAGIC, MGMT_ERR.EUNKNOWN);
        }
        if (len > slotSize) return groupFailure(group, IMG_MGMT_ERR.INVALID_IMAGE_TOO_LARGE, MGMT_ERR.EUNKNOWN);
        if (data.length > len) return groupFailure(group, IMG_MGMT_ERR.INVALID_IMAGE_DATA_OVERRUN, MGMT_ERR.EINVAL);
        // Starting over erases the secondary slot, as img_mgmt does.
        slots.secondary = null;
        upload = { sha: sha ?? null, length: len, offset: 0, buffer: new Uint8Array(len) };
      } else if (!upload || off !== upload.offset) {
        return { off: upload?.offset ?? 0 };
      }
      if (upload.offset + data.length > upload.length) return groupFailure(group, IMG_MGMT_ERR.INVALID_IMAGE_DATA_OVERRUN, MGMT_ERR.EINVAL);
      upload.buffer.set(data, upload.offset);
      upload.offset += data.length;
      const reached = upload.offset;
      if (reached === upload.length) {
        completeUpload(upload, slots);
        upload = null; // img_mgmt forgets a finished upload: the same image again starts over
      }
      return { off: reached };
    },
  });
}

/** The slot now holds the image: what the board reports comes from the image itself. */
function completeUpload(upload: UploadInProgress, slots: SimImageSlots): void {
  const parsed = parseMcubootImage(upload.buffer);
  // img_mgmt accepts any bytes after a valid header; a slot without a valid hash TLV is listed nowhere.
  slots.secondary = parsed.ok ? { version: parsed.value.versionString, hash: parsed.value.hash, bytes: upload.buffer } : null;
}
