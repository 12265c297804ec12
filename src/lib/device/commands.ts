/**
 * The commands Imprint knows, as data: one table the typed group APIs, the command line and
 * `--help` all read. Adding a command is adding a row.
 */
import { IMG_MGMT_ID, MGMT_GROUP_ID, OS_MGMT_ID, SHELL_MGMT_ID, STAT_MGMT_ID } from '../smp/ids';
import type { Shape } from '../smp/schema';

export interface CommandSpec {
  groupName: string;
  name: string;
  group: number;
  command: number;
  op: 'read' | 'write';
  summary: string;
  /** Example request as JSON, for `--help`. */
  example?: string;
  /** Fields the response must have. */
  response: Shape;
  /** Request fields whose type a JSON caller cannot express: the command line turns hex strings into bytes for `bytes` fields. */
  request?: Shape;
  /** Longer timeout for commands that take the board time (erase). */
  timeoutMs?: number;
}

const row = (groupName: string, group: number, name: string, command: number, op: 'read' | 'write', summary: string, response: Shape, extra: Partial<CommandSpec> = {}): CommandSpec => ({
  groupName,
  group,
  name,
  command,
  op,
  summary,
  response,
  ...extra,
});

const OS = MGMT_GROUP_ID.OS;
const IMAGE = MGMT_GROUP_ID.IMAGE;
const STAT = MGMT_GROUP_ID.STAT;
const SHELL = MGMT_GROUP_ID.SHELL;

export const COMMANDS = {
  echo: row('os', OS, 'echo', OS_MGMT_ID.ECHO, 'write', 'echo a string back', { r: 'string' }, { example: '{"d":"hi"}' }),
  taskStats: row('os', OS, 'taskstat', OS_MGMT_ID.TASKSTAT, 'read', 'thread statistics', { tasks: 'map' }),
  memoryPoolStats: row('os', OS, 'mpstat', OS_MGMT_ID.MPSTAT, 'read', 'memory pool statistics', { pools: 'map' }),
  readDateTime: row('os', OS, 'datetime', OS_MGMT_ID.DATETIME_STR, 'read', 'read the board clock', { datetime: 'string' }),
  writeDateTime: row('os', OS, 'datetime-set', OS_MGMT_ID.DATETIME_STR, 'write', 'set the board clock', {}, { example: '{"datetime":"2026-11-23T07:00:00"}' }),
  reset: row('os', OS, 'reset', OS_MGMT_ID.RESET, 'write', 'reboot the board', {}, { example: '{"force":false}' }),
  params: row('os', OS, 'params', OS_MGMT_ID.MCUMGR_PARAMS, 'read', 'MCUmgr buffer size and count', { buf_size: 'integer', buf_count: 'integer' }),
  info: row('os', OS, 'info', OS_MGMT_ID.INFO, 'read', 'OS / application info (format letters snrvbmpio, a = all)', { output: 'string' }, { example: '{"format":"a"}' }),
  bootloaderInfo: row('os', OS, 'bootloader', OS_MGMT_ID.BOOTLOADER_INFO, 'read', 'bootloader name, or a query such as mode', {}, { example: '{"query":"mode"}' }),
  imageState: row('image', IMAGE, 'state', IMG_MGMT_ID.STATE, 'read', 'list image slots', { images: 'array' }),
  imageSetState: row('image', IMAGE, 'state-set', IMG_MGMT_ID.STATE, 'write', 'mark an image for test, or confirm', { images: 'array' }, { example: '{"hash":"<hex>","confirm":false}', request: { hash: 'bytes?', confirm: 'boolean?' } }),
  imageErase: row('image', IMAGE, 'erase', IMG_MGMT_ID.ERASE, 'write', 'erase the secondary slot', {}, { example: '{"slot":1}', timeoutMs: 10000 }),
  statList: row('stat', STAT, 'list', STAT_MGMT_ID.LIST, 'read', 'list statistics groups', { stat_list: 'array' }),
  statShow: row('stat', STAT, 'show', STAT_MGMT_ID.SHOW, 'read', 'read one statistics group', { fields: 'map' }, { example: '{"name":"smp_svr_stats"}' }),
  shellExec: row('shell', SHELL, 'exec', SHELL_MGMT_ID.EXEC, 'write', 'run a shell command', {}, { example: '{"argv":["kernel","version"]}' }),
} as const satisfies Record<string, CommandSpec>;

export type CommandKey = keyof typeof COMMANDS;

export function findCommand(groupName: string, name: string): CommandSpec | undefined {
  return Object.values(COMMANDS).find((spec) => spec.groupName === groupName && spec.name === name);
}
