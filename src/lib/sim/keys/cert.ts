/**
 * The `cert` command (9) on the simulated board: a key's certificate chain stored and read in
 * chunks, with image upload's rules — the board answers with the offset it expects, 0 when it has
 * no chain in progress for the key. The chain in progress is RAM (a reboot forgets it); it
 * replaces the stored chain only when its last byte lands.
 */
import { chunkDataSize } from '../../device/upload';
import { isUserKeyId, KEYS_MGMT_ERR } from '../../device/keys-ids';
import { SMP_HEADER_SIZE } from '../../smp/header';
import { SimFailure, type CommandHandlers } from '../board';
import { isUint, type KeysContext } from './context';

interface ChainInProgress {
  id: number;
  len: number;
  off: number;
  staged: Uint8Array;
}

export function certHandlers(context: KeysContext): CommandHandlers & { forget(id: number): void } {
  const { store, fail, lookup } = context;
  let upload: ChainInProgress | null = null;
  context.board.onReboot(() => (upload = null));

  return {
    /** Drops a chain in progress for a key that was destroyed. */
    forget: (id) => {
      if (upload?.id === id) upload = null;
    },

    write: ({ payload }) => {
      const { id, off, len, data } = payload;
      if (!isUserKeyId(id) || !isUint(off) || !(data instanceof Uint8Array)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
      if (off === 0) {
        if (!isUint(len) || len === 0) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        if (len > store.certMax) return fail(KEYS_MGMT_ERR.TOO_LARGE);
        const record = lookup(id);
        if (record instanceof SimFailure) return record;
        upload = { id, len, off: 0, staged: new Uint8Array(len) };
      } else if (!upload || upload.id !== id || off !== upload.off) {
        // Not where this chain stands (or no chain in progress after a reboot): say where to go on.
        return { off: upload?.id === id ? upload.off : 0 };
      }
      if (off + data.length > upload.len) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
      if (!store.spend(data.length)) {
        upload = null;
        return context.storageFailed(id);
      }
      upload.staged.set(data, off);
      upload.off += data.length;
      const reached = upload.off;
      if (reached === upload.len) {
        store.commitCert(id, upload.staged);
        upload = null;
      }
      return { off: reached };
    },

    read: ({ payload }) => {
      const off = payload.off ?? 0;
      if (!isUint(off)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
      const record = lookup(payload.id);
      if (record instanceof SimFailure) return record;
      const cert = record.cert ?? new Uint8Array(0);
      if (off > cert.length) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
      const size = chunkDataSize(off, context.responseBudget + SMP_HEADER_SIZE, { len: cert.length });
      return { off, len: cert.length, data: cert.subarray(off, off + size) };
    },
  };
}
