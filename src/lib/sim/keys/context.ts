/**
 * What every keys-group handler on the simulated board shares: the group id, the store, and the
 * few ways a request ends that the spec words the same everywhere — a refusal with a keys-group
 * code (v2, or its v1 `rc`), a tamper event, the lock, a failed storage write, a key looked up
 * and checked, an answer cut to the board's buffer.
 */
import { isUserKeyId, KEYS_MGMT_ERR, KEYS_MGMT_ERR_V1, TAMPER_KIND, type KeysMgmtErr } from '../../device/keys-ids';
import { encodeCbor } from '../../smp/cbor';
import { SMP_HEADER_SIZE } from '../../smp/header';
import { groupFailure, type SimFailure, type SimulatedBoard } from '../board';
import type { SimKeyRecord, SimKeyStore, TamperRecord } from './store';

export interface KeysContext {
  group: number;
  store: SimKeyStore;
  board: SimulatedBoard;
  /** Largest response body the board can send on either framing. */
  responseBudget: number;
  fail(code: KeysMgmtErr): SimFailure;
  tamper(event: Omit<TamperRecord, 'seq' | 'boot'>): void;
  /** `LOCKED` (and a tamper event naming the command) once the board is locked; null before. */
  refuseIfLocked(command: number, id?: unknown): SimFailure | null;
  /** `STORAGE_FAILURE` after a failed write, logged. */
  storageFailed(id?: number): SimFailure;
  /** The key at `value`, checked: bad id, no such key, or a record that fails its integrity check. */
  lookup(value: unknown): SimKeyRecord | SimFailure;
}

export function createKeysContext(board: SimulatedBoard, store: SimKeyStore, group: number): KeysContext {
  const fail = (code: KeysMgmtErr) => groupFailure(group, code, KEYS_MGMT_ERR_V1[code]);
  const tamper = (event: Omit<TamperRecord, 'seq' | 'boot'>) => store.recordTamper({ ...event, boot: board.bootCount });
  return {
    group,
    store,
    board,
    responseBudget: board.maxPacketSize('console') - SMP_HEADER_SIZE,
    fail,
    tamper,
    refuseIfLocked: (command, id) => {
      if (!store.locked) return null;
      tamper({ kind: TAMPER_KIND.LOCKED, cmd: command, ...(isUserKeyId(id) ? { id } : {}) });
      return fail(KEYS_MGMT_ERR.LOCKED);
    },
    storageFailed: (id) => {
      tamper({ kind: TAMPER_KIND.STORAGE_WRITE, ...(id !== undefined ? { id } : {}) });
      return fail(KEYS_MGMT_ERR.STORAGE_FAILURE);
    },
    lookup: (value) => {
      if (!isUserKeyId(value)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
      const record = store.read(value);
      if (record === undefined) return fail(KEYS_MGMT_ERR.NO_SUCH_KEY);
      if (record !== 'corrupt') return record;
      const damaged = store.peek(value)!;
      if (!damaged.corruptionLogged) {
        damaged.corruptionLogged = true;
        tamper({ kind: TAMPER_KIND.STORAGE_INTEGRITY, id: value });
      }
      return fail(KEYS_MGMT_ERR.STORAGE_FAILURE);
    },
  };
}

export function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** As many items as fit the response budget, in order, shaped into the answer; `more` when some are left for the next page. */
export function fitPage<T>(items: T[], shape: (items: T[], more: boolean) => Record<string, unknown>, budget: number): Record<string, unknown> {
  let count = items.length;
  while (count > 0 && encodeCbor(shape(items.slice(0, count), count < items.length)).length > budget) count--;
  return shape(items.slice(0, count), count < items.length);
}
