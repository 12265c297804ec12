/**
 * Zephyr's settings management group (3) on the simulated board, modelled on
 * `subsys/mgmt/mcumgr/grp/settings_mgmt/src/settings_mgmt.c` over a settings subsystem with one
 * storage backend: read and write reach the runtime values (`settings_runtime_get/set`), `save`
 * copies them to storage (`settings_save`), `load` copies storage back, `commit` counts (it tells
 * the handlers to apply their values), and a reboot reloads runtime values from storage, as
 * `settings_load()` at boot does. `delete` removes a name from storage and runtime.
 *
 * Errors are Zephyr's: a missing or empty `name` (or a missing `val`) is v1 `EINVAL`; the group's
 * own codes (`settings_mgmt_ret_code_t`) go out as v2 `{err}` or, to a v1 request, as the `rc`
 * that `settings_mgmt_translate_error_code` gives.
 */
import { MGMT_ERR, MGMT_GROUP_ID, SETTINGS_MGMT_ERR, SETTINGS_MGMT_ID } from '../../smp/ids';
import { groupFailure, mgmtFailure, type SimFailure, type SimulatedBoard } from '../board';

export interface SimSettingsOptions {
  /** `CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN`: a name this long or longer is `KEY_TOO_LONG`. Default 64. */
  nameLength?: number;
  /**
   * Largest value a read returns (`CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN`) and a handler stores.
   * Default 1024, room for a device certificate; Zephyr's Kconfig sets it per product.
   */
  valueLength?: number;
  /** Roots with a registered settings handler (`imprint` in `imprint/key`); default: any root. */
  roots?: readonly string[];
}

export interface SimSettingsFaultPlan {
  /** The next `save` fails (the storage backend returns an error) and persists nothing. */
  failNextSave?: boolean;
  /** The next `write` fails with UNKNOWN and changes nothing. */
  failNextWrite?: boolean;
}

/** The settings of one simulated board, for tests to look at. */
export interface SimSettings {
  /** Runtime values, what `read` answers. */
  readonly runtime: Map<string, Uint8Array>;
  /** What storage holds: survives reboots. */
  readonly stored: Map<string, Uint8Array>;
  /** How many times `commit` ran since manufacture. */
  readonly commits: () => number;
  inject(plan: SimSettingsFaultPlan): void;
}

/** `settings_mgmt_translate_error_code`: the v1 `rc` a v1 request gets for each group code. */
const V1_RC: Readonly<Record<number, number>> = {
  [SETTINGS_MGMT_ERR.KEY_TOO_LONG]: MGMT_ERR.EINVAL,
  [SETTINGS_MGMT_ERR.KEY_NOT_FOUND]: MGMT_ERR.ENOENT,
  [SETTINGS_MGMT_ERR.READ_NOT_SUPPORTED]: MGMT_ERR.ENOENT,
};

export function registerSettingsGroup(board: SimulatedBoard, options: SimSettingsOptions = {}): SimSettings {
  const group = MGMT_GROUP_ID.SETTINGS;
  const nameLength = options.nameLength ?? 64;
  const valueLength = options.valueLength ?? 1024;
  const runtime = new Map<string, Uint8Array>();
  const stored = new Map<string, Uint8Array>();
  let commits = 0;
  let faults: SimSettingsFaultPlan = {};
  const fail = (rc: number): SimFailure => groupFailure(group, rc, V1_RC[rc] ?? MGMT_ERR.EUNKNOWN);
  const copy = (from: Map<string, Uint8Array>, to: Map<string, Uint8Array>) => {
    to.clear();
    for (const [name, value] of from) to.set(name, value.slice());
  };
  board.onReboot(() => copy(stored, runtime));

  /** The request's name, or the refusal Zephyr gives: EINVAL when missing or empty, KEY_TOO_LONG, ROOT_KEY_NOT_FOUND. */
  const readName = (payload: Record<string, unknown>): string | SimFailure => {
    const name = payload.name;
    if (typeof name !== 'string' || name.length === 0) return mgmtFailure(MGMT_ERR.EINVAL);
    if (new TextEncoder().encode(name).length >= nameLength) return fail(SETTINGS_MGMT_ERR.KEY_TOO_LONG);
    if (options.roots && !options.roots.includes(name.split('/')[0]!)) return fail(SETTINGS_MGMT_ERR.ROOT_KEY_NOT_FOUND);
    return name;
  };

  board.register(group, SETTINGS_MGMT_ID.READ_WRITE, {
    read: ({ payload }) => {
      const name = readName(payload);
      if (typeof name !== 'string') return name;
      let maxSize = valueLength;
      let limited = false;
      if (payload.max_size !== undefined) {
        if (typeof payload.max_size !== 'number' || !Number.isInteger(payload.max_size) || payload.max_size < 0) return mgmtFailure(MGMT_ERR.EINVAL);
        limited = payload.max_size > valueLength;
        maxSize = Math.min(payload.max_size, valueLength);
      }
      const value = runtime.get(name);
      if (!value) return fail(SETTINGS_MGMT_ERR.KEY_NOT_FOUND);
      return { val: value.slice(0, maxSize), ...(limited ? { max_size: valueLength } : {}) };
    },
    write: ({ payload }) => {
      const name = readName(payload);
      if (typeof name !== 'string') return name;
      if (!(payload.val instanceof Uint8Array)) return mgmtFailure(MGMT_ERR.EINVAL);
      if (faults.failNextWrite) {
        faults = { ...faults, failNextWrite: false };
        return fail(SETTINGS_MGMT_ERR.UNKNOWN);
      }
      // A handler refuses a value larger than its buffer; Zephyr reports that as UNKNOWN.
      if (payload.val.length > valueLength) return fail(SETTINGS_MGMT_ERR.UNKNOWN);
      runtime.set(name, payload.val.slice());
      return {};
    },
  });

  board.register(group, SETTINGS_MGMT_ID.DELETE, {
    write: ({ payload }) => {
      const name = readName(payload);
      if (typeof name !== 'string') return name;
      // settings_delete() writes a deletion record: deleting a name that is not there succeeds.
      runtime.delete(name);
      stored.delete(name);
      return {};
    },
  });

  board.register(group, SETTINGS_MGMT_ID.COMMIT, {
    write: () => {
      commits++;
      return {};
    },
  });

  board.register(group, SETTINGS_MGMT_ID.LOAD_SAVE, {
    read: () => {
      copy(stored, runtime);
      return {};
    },
    write: () => {
      if (faults.failNextSave) {
        faults = { ...faults, failNextSave: false };
        return fail(SETTINGS_MGMT_ERR.UNKNOWN);
      }
      copy(runtime, stored);
      return {};
    },
  });

  return {
    runtime,
    stored,
    commits: () => commits,
    inject: (plan) => {
      faults = { ...faults, ...plan };
    },
  };
}
