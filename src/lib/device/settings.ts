/**
 * Zephyr's settings management group (group 3, `settings_mgmt`) as a typed API: read, write and
 * delete a value by name, commit, load and save. It is the only way to hand a board values when
 * its firmware has nothing but Zephyr's standard groups — and then the values cross the cable in
 * the clear (the provisioning flow says so before it runs: `clearTextSecrets`).
 *
 * Semantics follow `subsys/mgmt/mcumgr/grp/settings_mgmt/src/settings_mgmt.c`: read and write go
 * to the runtime handlers (`settings_runtime_get/set`), `save` persists them (`settings_save`),
 * `commit` tells the handlers to apply them, `load` reloads from storage. Refusals carry a
 * `SettingsErrorReason` read from the v2 code (`settings_mgmt_ret_code_t`).
 */
import type { SmpClient } from '../smp/client';
import type { SmpError } from '../smp/errors';
import { MGMT_GROUP_ID, SETTINGS_MGMT_ERR } from '../smp/ids';
import { type Result, ok, err } from '../smp/result';
import { COMMANDS } from './commands';
import { type CallOptions, runCommand } from './run';

/** The v2 codes of `settings_mgmt_ret_code_t`, by name. */
export type SettingsErrorReason =
  | 'unknown'
  | 'key-too-long'
  | 'key-not-found'
  | 'read-not-supported'
  | 'root-key-not-found'
  | 'write-not-supported'
  | 'delete-not-supported';

export interface SettingsError extends SmpError {
  /** Set when the board refused with a settings-group code (SMP v2). */
  reason?: SettingsErrorReason;
}

const REASONS: Readonly<Record<number, SettingsErrorReason>> = Object.fromEntries(
  Object.entries(SETTINGS_MGMT_ERR)
    .filter(([, rc]) => rc !== SETTINGS_MGMT_ERR.OK)
    .map(([name, rc]) => [rc, name.toLowerCase().replace(/_/g, '-') as SettingsErrorReason]),
);

export interface SettingValue {
  val: Uint8Array;
  /** Present when the board cut the value to its `CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN`. */
  maxSize?: number;
}

export class SettingsGroup {
  constructor(private readonly client: SmpClient) {}

  /**
   * The runtime value of `name`; a missing one is the typed error `key-not-found`.
   * @example const value = await board.settings.read('imprint/counter');
   */
  async read(name: string, options: CallOptions & { maxSize?: number } = {}): Promise<Result<SettingValue, SettingsError>> {
    const reply = await this.run(COMMANDS.settingsRead, options.maxSize === undefined ? { name } : { name, max_size: options.maxSize }, options);
    if (!reply.ok) return reply;
    const { val, max_size: maxSize } = reply.value;
    return ok({ val: val as Uint8Array, ...(typeof maxSize === 'number' ? { maxSize } : {}) });
  }

  /** Sets the runtime value; `save` makes it survive a reboot. */
  async write(name: string, value: Uint8Array, options?: CallOptions): Promise<Result<void, SettingsError>> {
    const reply = await this.run(COMMANDS.settingsWrite, { name, val: value }, options);
    return reply.ok ? ok(undefined) : reply;
  }

  async delete(name: string, options?: CallOptions): Promise<Result<void, SettingsError>> {
    const reply = await this.run(COMMANDS.settingsDelete, { name }, options);
    return reply.ok ? ok(undefined) : reply;
  }

  async commit(options?: CallOptions): Promise<Result<void, SettingsError>> {
    const reply = await this.run(COMMANDS.settingsCommit, {}, options);
    return reply.ok ? ok(undefined) : reply;
  }

  async load(options?: CallOptions): Promise<Result<void, SettingsError>> {
    const reply = await this.run(COMMANDS.settingsLoad, {}, options);
    return reply.ok ? ok(undefined) : reply;
  }

  async save(options?: CallOptions): Promise<Result<void, SettingsError>> {
    const reply = await this.run(COMMANDS.settingsSave, {}, options);
    return reply.ok ? ok(undefined) : reply;
  }

  private async run(spec: (typeof COMMANDS)[keyof typeof COMMANDS], payload: Record<string, string | number | Uint8Array>, options?: CallOptions) {
    const reply = await runCommand(this.client, spec, payload, options);
    if (reply.ok) return reply;
    const error: SettingsError = reply.error;
    const reason = error.code === 'group' && error.group === MGMT_GROUP_ID.SETTINGS && error.rc !== undefined ? REASONS[error.rc] : undefined;
    return err(reason ? { ...error, reason } : error);
  }
}
