/**
 * The commands Imprint knows, as data: one table the typed group APIs, the command line and
 * `--help` all read. Adding a command is adding a row.
 */
import { IMG_MGMT_ID, MGMT_GROUP_ID, OS_MGMT_ID, SETTINGS_MGMT_ID, SHELL_MGMT_ID, STAT_MGMT_ID } from '../smp/ids';
import type { Shape } from '../smp/schema';
import { KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID } from './keys-ids';

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
const SETTINGS = MGMT_GROUP_ID.SETTINGS;
/** The keys group at its default id; `KeysGroup` sends the same rows to the id its profile chose. */
const KEYS = KEYS_MGMT_GROUP_DEFAULT;

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
  // Settings group (Zephyr settings_mgmt): runtime values by name; `save` persists them, `commit` applies them.
  settingsRead: row('settings', SETTINGS, 'read', SETTINGS_MGMT_ID.READ_WRITE, 'read', 'read a setting value', { val: 'bytes', max_size: 'integer?' }, { example: '{"name":"imprint/counter"}' }),
  settingsWrite: row('settings', SETTINGS, 'write', SETTINGS_MGMT_ID.READ_WRITE, 'write', 'write a setting value (runtime; save to persist)', {}, {
    example: '{"name":"imprint/counter","val":"0000000000000000"}',
    request: { val: 'bytes' },
  }),
  settingsDelete: row('settings', SETTINGS, 'delete', SETTINGS_MGMT_ID.DELETE, 'write', 'delete a setting', {}, { example: '{"name":"imprint/counter"}' }),
  settingsCommit: row('settings', SETTINGS, 'commit', SETTINGS_MGMT_ID.COMMIT, 'write', 'apply the settings written so far', {}),
  settingsLoad: row('settings', SETTINGS, 'load', SETTINGS_MGMT_ID.LOAD_SAVE, 'read', 'reload settings from storage', {}),
  settingsSave: row('settings', SETTINGS, 'save', SETTINGS_MGMT_ID.LOAD_SAVE, 'write', 'save the runtime settings to storage', {}),
  // Keys group (docs/protocol/keys-group.md): the response shapes are the spec's CDDL, required fields only where it requires them.
  keysInfo: row('keys', KEYS, 'info', KEYS_MGMT_ID.INFO, 'read', 'device id, algorithms, key slots, counter, tamper events, lock', {
    v: 'integer',
    device: 'bytes',
    fw: 'string',
    gen: 'array',
    imp: 'array',
    slots: 'integer',
    used: 'integer',
    cert_max: 'integer',
    counter: 'integer',
    tamper: 'integer',
    locked: 'boolean',
  }),
  keysGenerate: row('keys', KEYS, 'generate', KEYS_MGMT_ID.GENERATE, 'write', 'make a key on the board, optionally with a CSR', { id: 'integer', alg: 'string', usage: 'integer', pub: 'bytes', csr: 'bytes?' }, {
    example: '{"alg":"p256","id":1,"csr":{"subject":"CN=dev-1"}}',
  }),
  keysImport: row('keys', KEYS, 'import', KEYS_MGMT_ID.IMPORT, 'write', 'store a key sealed to the transport key (HPKE)', { id: 'integer', alg: 'string', usage: 'integer', pub: 'bytes?' }, {
    example: '{"alg":"p256","id":3,"enc":"<hex>","ct":"<hex>"}',
    request: { enc: 'bytes', ct: 'bytes' },
  }),
  keysTransportKey: row('keys', KEYS, 'transport-key', KEYS_MGMT_ID.TRANSPORT_KEY, 'read', "the board's X25519 key for import wraps, signed by key id", { pub: 'bytes', suite: 'array', id: 'integer?', sig: 'bytes?' }, {
    example: '{"id":1}',
  }),
  keysPublic: row('keys', KEYS, 'public', KEYS_MGMT_ID.PUBLIC, 'read', 'public key, algorithm and usage of a key id', { id: 'integer', alg: 'string', usage: 'integer', cert: 'integer', pub: 'bytes?' }, { example: '{"id":1}' }),
  keysList: row('keys', KEYS, 'list', KEYS_MGMT_ID.LIST, 'read', 'key ids with algorithm and usage, after a key id', { keys: 'array', more: 'boolean?' }, { example: '{"after":0}' }),
  keysDestroy: row('keys', KEYS, 'destroy', KEYS_MGMT_ID.DESTROY, 'write', 'delete a key and its certificate', {}, { example: '{"id":2}' }),
  keysCsr: row('keys', KEYS, 'csr', KEYS_MGMT_ID.CSR, 'write', 'the board builds and signs a PKCS#10 CSR', { csr: 'bytes' }, { example: '{"id":1,"subject":"CN=dev-1"}' }),
  keysSign: row('keys', KEYS, 'sign', KEYS_MGMT_ID.SIGN, 'write', 'sign a challenge with a key id', { sig: 'bytes' }, { example: '{"id":1,"msg":"00010203"}', request: { msg: 'bytes' } }),
  keysCertStore: row('keys', KEYS, 'cert-store', KEYS_MGMT_ID.CERT, 'write', 'store one chunk of the DER certificate chain of a key', { off: 'integer' }, {
    example: '{"id":1,"off":0,"len":2,"data":"3000"}',
    request: { data: 'bytes' },
  }),
  keysCertRead: row('keys', KEYS, 'cert-read', KEYS_MGMT_ID.CERT, 'read', 'read one chunk of the certificate chain of a key', { off: 'integer', len: 'integer', data: 'bytes' }, { example: '{"id":1,"off":0}' }),
  keysCounter: row('keys', KEYS, 'counter', KEYS_MGMT_ID.COUNTER, 'read', 'read the session counter', { value: 'integer' }),
  keysCounterSet: row('keys', KEYS, 'counter-set', KEYS_MGMT_ID.COUNTER, 'write', 'raise the session counter (never lower it)', { value: 'integer' }, { example: '{"value":100}' }),
  keysTamperLog: row('keys', KEYS, 'tamper-log', KEYS_MGMT_ID.TAMPER_LOG, 'read', 'tamper events from a sequence number', { events: 'array', next: 'integer', more: 'boolean?' }, { example: '{"since":0}' }),
  keysLock: row('keys', KEYS, 'lock', KEYS_MGMT_ID.LOCK, 'write', 'end provisioning: refuse import, destroy, counter writes', { locked: 'boolean' }),
} as const satisfies Record<string, CommandSpec>;

export type CommandKey = keyof typeof COMMANDS;

export function findCommand(groupName: string, name: string): CommandSpec | undefined {
  return Object.values(COMMANDS).find((spec) => spec.groupName === groupName && spec.name === name);
}
