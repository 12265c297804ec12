/**
 * Typed SMP errors. Each has a `code` (a string union the audit log stores) and a human `message`
 * that says what happened and, where we can tell, what to do about it.
 */
import { MGMT_ERR_MEANING, GROUP_NAMES, IMG_MGMT_ERR, MGMT_GROUP_ID, OS_MGMT_ERR, SETTINGS_MGMT_ERR, describeCommand } from './ids';

export type SmpErrorCode =
  /** v1 `{rc}` response with a non-zero rc (Zephyr `mcumgr_err_t`). */
  | 'mgmt'
  /** v2 `{err: {group, rc}}` response: a group-specific error code. */
  | 'group'
  | 'timeout'
  | 'aborted'
  | 'disconnected'
  | 'not-connected'
  | 'too-large'
  | 'bad-response'
  | 'transport';

export interface SmpError {
  code: SmpErrorCode;
  message: string;
  /** The command that failed, e.g. `os/echo`. */
  command?: string;
  /** `rc` for `mgmt` and `group` errors. */
  rc?: number;
  /** Group that reported a `group` error. */
  group?: number;
}

const GROUP_ERROR_NAMES: Record<number, Readonly<Record<number, string>>> = {
  [MGMT_GROUP_ID.OS]: errorNames(OS_MGMT_ERR),
  [MGMT_GROUP_ID.IMAGE]: errorNames(IMG_MGMT_ERR),
  [MGMT_GROUP_ID.SETTINGS]: errorNames(SETTINGS_MGMT_ERR),
};

function errorNames(table: Record<string, number>): Record<number, string> {
  return Object.fromEntries(Object.entries(table).map(([name, rc]) => [rc, name.toLowerCase().replace(/_/g, ' ')]));
}

/** Lets higher layers (e.g. the keys group) name their own v2 error codes. */
export function registerGroupErrorNames(group: number, names: Readonly<Record<number, string>>): void {
  GROUP_ERROR_NAMES[group] = names;
}

export function mgmtError(rc: number, group: number, command: number): SmpError {
  const meaning = MGMT_ERR_MEANING[rc] ?? `error code ${rc}`;
  const name = describeCommand(group, command);
  return { code: 'mgmt', rc, command: name, message: `${name}: the board answered rc ${rc} (${meaning})` };
}

export function groupError(errGroup: number, rc: number, group: number, command: number): SmpError {
  const name = describeCommand(group, command);
  const groupName = GROUP_NAMES[errGroup] ?? `group ${errGroup}`;
  const meaning = GROUP_ERROR_NAMES[errGroup]?.[rc] ?? `error code ${rc}`;
  return { code: 'group', rc, group: errGroup, command: name, message: `${name}: ${groupName} error ${rc} (${meaning})` };
}

export function isSmpError(value: unknown): value is SmpError {
  return typeof value === 'object' && value !== null && typeof (value as SmpError).code === 'string' && typeof (value as SmpError).message === 'string';
}
