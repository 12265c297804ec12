/** The board as an API: typed groups over one SMP client. */
export { Board, connectBoard, type BoardOptions } from './board';
export { OsGroup, type McumgrParams, type TaskStat, type MemoryPoolStat } from './os';
export { ImageGroup, type ImageSlot } from './image';
export { StatGroup, ShellGroup } from './stat';
export { SettingsGroup, type SettingValue, type SettingsError, type SettingsErrorReason } from './settings';
export { COMMANDS, findCommand, type CommandSpec, type CommandKey } from './commands';
export { runCommand, map, type CallOptions } from './run';
export { KeysGroup } from './keys';
export {
  keysErrorReason,
  registerKeysGroupNames,
  isKeysHpkeSuite,
  type KeysError,
  type KeysErrorReason,
  type KeysInfo,
  type KeyEntry,
  type PublicKey,
  type GenerateRequest,
  type GeneratedKey,
  type ImportRequest,
  type ImportedKey,
  type TransportKey,
  type TamperEvent,
  type CertificateProgress,
} from './keys-model';
export * from './keys-ids';
export { wrapKeyForImport, importInfo, IMPORT_SECRET_SIZE, type ImportWrap, type ImportWrapInput, type WrapError, type WrapErrorCode } from './keys-wrap';
