/**
 * SMP protocol constants as named tables. Names follow Zephyr's mcumgr headers
 * (`mgmt_defines.h`, `os_mgmt.h`, `img_mgmt.h`) so they stay recognisable next to firmware sources.
 */

/** Header op field (bits 2..0 of byte 0). Zephyr `enum mgmt_op`. */
export const MGMT_OP = {
  READ: 0,
  READ_RSP: 1,
  WRITE: 2,
  WRITE_RSP: 3,
} as const;
export type MgmtOp = (typeof MGMT_OP)[keyof typeof MGMT_OP];

/** Header version field (bits 4..3 of byte 0). v2 adds group-scoped `{err: {group, rc}}` errors. */
export const SMP_VERSION = { V1: 0, V2: 1 } as const;
export type SmpVersion = (typeof SMP_VERSION)[keyof typeof SMP_VERSION];

/** Management group ids, Zephyr `enum mcumgr_group_t`. User-defined groups start at 64. */
export const MGMT_GROUP_ID = {
  OS: 0,
  IMAGE: 1,
  STAT: 2,
  SETTINGS: 3,
  LOG: 4,
  CRASH: 5,
  SPLIT: 6,
  RUN: 7,
  FS: 8,
  SHELL: 9,
  ENUM: 10,
  ZEPHYR_BASIC: 63,
  PERUSER: 64,
} as const;
export const MGMT_GROUP_ID_OS = MGMT_GROUP_ID.OS;
export const MGMT_GROUP_ID_IMAGE = MGMT_GROUP_ID.IMAGE;
export const MGMT_GROUP_ID_STAT = MGMT_GROUP_ID.STAT;
export const MGMT_GROUP_ID_FS = MGMT_GROUP_ID.FS;
export const MGMT_GROUP_ID_SHELL = MGMT_GROUP_ID.SHELL;
export const MGMT_GROUP_ID_PERUSER = MGMT_GROUP_ID.PERUSER;

/** OS group command ids, Zephyr `os_mgmt.h`. */
export const OS_MGMT_ID = {
  ECHO: 0,
  CONS_ECHO_CTRL: 1,
  TASKSTAT: 2,
  MPSTAT: 3,
  DATETIME_STR: 4,
  RESET: 5,
  MCUMGR_PARAMS: 6,
  INFO: 7,
  BOOTLOADER_INFO: 8,
} as const;

/** OS group v2 error codes, Zephyr `enum os_mgmt_err_code_t`. */
export const OS_MGMT_ERR = {
  OK: 0,
  UNKNOWN: 1,
  INVALID_FORMAT: 2,
  QUERY_YIELDS_NO_ANSWER: 3,
  RTC_NOT_SET: 4,
  RTC_COMMAND_FAILED: 5,
} as const;

/** Image group command ids, Zephyr `img_mgmt.h`. */
export const IMG_MGMT_ID = {
  STATE: 0,
  UPLOAD: 1,
  FILE: 2,
  CORELIST: 3,
  CORELOAD: 4,
  ERASE: 5,
  SLOT_INFO: 6,
} as const;

/** Statistics group command ids, Zephyr `stat_mgmt.h`. */
export const STAT_MGMT_ID = { SHOW: 0, LIST: 1 } as const;

/** Shell group command ids, Zephyr `shell_mgmt.h`. */
export const SHELL_MGMT_ID = { EXEC: 0 } as const;

/** Settings group command ids, Zephyr `settings_mgmt.h`. `READ_WRITE` is read with op read, written with op write; `LOAD_SAVE` loads (read) or saves (write). */
export const SETTINGS_MGMT_ID = { READ_WRITE: 0, DELETE: 1, COMMIT: 2, LOAD_SAVE: 3 } as const;

/** Settings group v2 error codes, Zephyr `enum settings_mgmt_ret_code_t` (settings_mgmt.h). */
export const SETTINGS_MGMT_ERR = {
  OK: 0,
  UNKNOWN: 1,
  KEY_TOO_LONG: 2,
  KEY_NOT_FOUND: 3,
  READ_NOT_SUPPORTED: 4,
  ROOT_KEY_NOT_FOUND: 5,
  WRITE_NOT_SUPPORTED: 6,
  DELETE_NOT_SUPPORTED: 7,
} as const;

/** File system group command ids, Zephyr `fs_mgmt.h`. */
export const FS_MGMT_ID = { FILE: 0, STATUS: 1, HASH_CHECKSUM: 2, SUPPORTED_HASH_CHECKSUM: 3, OPENED_FILE: 4 } as const;

/** SMP v1 `rc` codes, Zephyr `enum mcumgr_err_t` (mgmt_defines.h). */
export const MGMT_ERR = {
  EOK: 0,
  EUNKNOWN: 1,
  ENOMEM: 2,
  EINVAL: 3,
  ETIMEOUT: 4,
  ENOENT: 5,
  EBADSTATE: 6,
  EMSGSIZE: 7,
  ENOTSUP: 8,
  ECORRUPT: 9,
  EBUSY: 10,
  EACCESSDENIED: 11,
  UNSUPPORTED_TOO_OLD: 12,
  UNSUPPORTED_TOO_NEW: 13,
} as const;
export type MgmtErrCode = (typeof MGMT_ERR)[keyof typeof MGMT_ERR];

export const MGMT_ERR_MEANING: Readonly<Record<number, string>> = {
  [MGMT_ERR.EOK]: 'no error',
  [MGMT_ERR.EUNKNOWN]: 'unknown error',
  [MGMT_ERR.ENOMEM]: 'insufficient memory',
  [MGMT_ERR.EINVAL]: 'error in input value',
  [MGMT_ERR.ETIMEOUT]: 'operation timed out',
  [MGMT_ERR.ENOENT]: 'no such file or entry',
  [MGMT_ERR.EBADSTATE]: 'current state disallows command',
  [MGMT_ERR.EMSGSIZE]: 'response too large',
  [MGMT_ERR.ENOTSUP]: 'command not supported',
  [MGMT_ERR.ECORRUPT]: 'corrupt',
  [MGMT_ERR.EBUSY]: 'command blocked by processing of another command',
  [MGMT_ERR.EACCESSDENIED]: 'access to the function, command or resource denied',
  [MGMT_ERR.UNSUPPORTED_TOO_OLD]: 'requested SMP protocol version is too old for the board',
  [MGMT_ERR.UNSUPPORTED_TOO_NEW]: 'requested SMP protocol version is too new for the board',
};

/** Image group v2 error codes, Zephyr `enum img_mgmt_err_code_t`. */
export const IMG_MGMT_ERR = {
  OK: 0,
  UNKNOWN: 1,
  FLASH_CONFIG_QUERY_FAIL: 2,
  NO_IMAGE: 3,
  NO_TLVS: 4,
  INVALID_TLV: 5,
  TLV_MULTIPLE_HASHES_FOUND: 6,
  TLV_INVALID_SIZE: 7,
  HASH_NOT_FOUND: 8,
  NO_FREE_SLOT: 9,
  FLASH_OPEN_FAILED: 10,
  FLASH_READ_FAILED: 11,
  FLASH_WRITE_FAILED: 12,
  FLASH_ERASE_FAILED: 13,
  INVALID_SLOT: 14,
  NO_FREE_MEMORY: 15,
  FLASH_CONTEXT_ALREADY_SET: 16,
  FLASH_CONTEXT_NOT_SET: 17,
  FLASH_AREA_DEVICE_NULL: 18,
  INVALID_PAGE_OFFSET: 19,
  INVALID_OFFSET: 20,
  INVALID_LENGTH: 21,
  INVALID_IMAGE_HEADER: 22,
  INVALID_IMAGE_HEADER_MAGIC: 23,
  INVALID_HASH: 24,
  INVALID_FLASH_ADDRESS: 25,
  VERSION_GET_FAILED: 26,
  CURRENT_VERSION_IS_NEWER: 27,
  IMAGE_ALREADY_PENDING: 28,
  INVALID_IMAGE_VECTOR_TABLE: 29,
  INVALID_IMAGE_TOO_LARGE: 30,
  INVALID_IMAGE_DATA_OVERRUN: 31,
  IMAGE_CONFIRMATION_DENIED: 32,
  IMAGE_SETTING_TEST_TO_ACTIVE_DENIED: 33,
} as const;

/** Human names for groups, used by logs and error messages. */
const groupNames: Record<number, string> = {
  [MGMT_GROUP_ID.OS]: 'os',
  [MGMT_GROUP_ID.IMAGE]: 'image',
  [MGMT_GROUP_ID.STAT]: 'stat',
  [MGMT_GROUP_ID.SETTINGS]: 'settings',
  [MGMT_GROUP_ID.LOG]: 'log',
  [MGMT_GROUP_ID.CRASH]: 'crash',
  [MGMT_GROUP_ID.SPLIT]: 'split',
  [MGMT_GROUP_ID.RUN]: 'run',
  [MGMT_GROUP_ID.FS]: 'fs',
  [MGMT_GROUP_ID.SHELL]: 'shell',
  [MGMT_GROUP_ID.ENUM]: 'enum',
  [MGMT_GROUP_ID.ZEPHYR_BASIC]: 'zephyr',
};
export const GROUP_NAMES: Readonly<Record<number, string>> = groupNames;

const COMMAND_NAMES: Record<number, Readonly<Record<number, string>>> = {
  [MGMT_GROUP_ID.OS]: invert(OS_MGMT_ID),
  [MGMT_GROUP_ID.IMAGE]: invert(IMG_MGMT_ID),
  [MGMT_GROUP_ID.STAT]: invert(STAT_MGMT_ID),
  [MGMT_GROUP_ID.SHELL]: invert(SHELL_MGMT_ID),
  [MGMT_GROUP_ID.FS]: invert(FS_MGMT_ID),
  [MGMT_GROUP_ID.SETTINGS]: invert(SETTINGS_MGMT_ID),
};

/**
 * Names a group defined above the SMP layer (the keys group, at the id its device profile chose),
 * so logs and error messages say `keys/sign` rather than `group64/8`.
 */
export function registerGroupNames(group: number, name: string, commands: Record<string, number>): void {
  groupNames[group] = name;
  COMMAND_NAMES[group] = invert(commands);
}

function invert(table: Record<string, number>): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [name, id] of Object.entries(table)) out[id] = name.toLowerCase().replace(/_/g, '-');
  return out;
}

/** @example describeCommand(0, 0) === 'os/echo'; describeCommand(70, 3) === 'group70/3' */
export function describeCommand(group: number, command: number): string {
  const groupName = GROUP_NAMES[group] ?? `group${group}`;
  const commandName = COMMAND_NAMES[group]?.[command] ?? String(command);
  return `${groupName}/${commandName}`;
}
