/**
 * Provisioning flows: a profile becomes a plan of typed steps (`planProvisioning`), and
 * `runProvisioning` walks it against a connected board, emitting `ProvisioningEvent`s and
 * returning a `ProvisioningResult` or a `ProvisioningFailure`. See docs/provisioning.md.
 */
export { runProvisioning } from './run';
export { planProvisioning, formatKeyId, type Plan, type PlanOptions, type PlanStep, type StepKind } from './plan';
export { DEFAULT_RECOVERY_MS, type RunInput } from './context';
export { prepareProvisioningCrypto, type KnownValueInput } from './key-material';
export { CHALLENGE_LABEL, freshChallenge } from './key-certification';
export type {
  BoardState,
  CertificatePathTaken,
  CertificateSummary,
  CleanupReport,
  ProvisionedKey,
  ProvisioningEvent,
  ProvisioningFailure,
  ProvisioningResult,
  RunTimings,
  StepTiming,
} from './result';
export type { ProvisioningError, ProvisioningErrorCode } from './errors';
export {
  CERTIFICATE_PATHS,
  DEFAULT_SUBJECT_TEMPLATE,
  KEY_SOURCES,
  PROFILE_FORMAT,
  SETTING_CONTENTS,
  SETTINGS_KEY_LABEL,
  exportProfile,
  parseProfile,
  validateProfile,
  type CertificatePath,
  type KeySource,
  type KeysGroupProfile,
  type Profile,
  type ProfileError,
  type ProfileErrorCode,
  type ProfileKey,
  type ProfileKeyAlg,
  type ProfileSetting,
  type SettingContent,
  type SettingsProfile,
} from './profile';
export { BUILTIN_PROFILES, SETTINGS_ONLY_PROFILE, SUPERVISOR_PROFILE, TFM_SAMPLE_PROFILE, builtinProfile } from './profiles';
export { PROFILE_DB_NAME, openProfileStore, type ProfileStore } from './profile-store';
export { MemoryAuditSink, type AuditFields, type AuditOutcomeResult, type AuditSink, type AuditSinkError, type MemoryAuditRecord } from './audit';
export { auditLogSink } from './audit-adapter';
export { ROTATION_PROFILE_ID, rotateKey, subjectFrom, type KeyToRotate, type RotateError, type RotateErrorCode, type RotateKeyInput, type RotatedKey } from './rotate';
