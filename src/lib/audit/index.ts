/**
 * The audit log: an append-only, hash-chained, Merkle-checkpointed record of every provisioning
 * step, kept in IndexedDB, exported as JSON Lines (verifiable) or CSV (for people), and verified
 * and merged offline. Format: docs/audit-format.md.
 */
export type { AuditError, AuditErrorCode } from './errors';
export { type AuditDraft, type AuditField, type AuditPhase, type AuditRecord, type AuditResult, AUDIT_FIELDS, admitRecord, isSecretName, refuseSecrets, validateRecord } from './record';
export { KnownSecrets } from './known-secrets';
export { canonicalCbor, canonicalRecordBytes } from './canonical';
export { chainHash, entryHash, GENESIS_PREV_HASH, type StoredRecord } from './chain';
export { consistencyProof, inclusionProof, leafHash, treeRoot, verifyConsistency, verifyInclusion, type MerkleError } from './merkle';
export { type Station, type StationPublicJwk, stationIdFromSpki } from './station';
export { type Checkpoint, type SignedCheckpoint, checkpointBytes, verifyCheckpointSignature } from './checkpoint';
export {
  AuditLog,
  type AuditLogOptions,
  AUDIT_DB_NAME,
  DEFAULT_CHECKPOINT_EVERY,
  type IntentDraft,
  type LogHeadInfo,
  type OutcomeDraft,
  openAuditLog,
  type PersistenceState,
  requestPersistence,
  storageEstimate,
} from './store';
export { EXPORT_FORMAT, type ExportHeader, type ParsedExport, parseExport } from './jsonl';
export { CSV_COLUMNS, csvCell, csvField, exportCsv, exportJsonl, formatCsv } from './export';
export { type MergedStation, type MergeResult, mergeExports } from './merge';
export { type ExportInput, type StationSummary, type VerifyReport, verifyExport, verifyExports } from './verify';
export { formatProblem, type Problem, type ProblemKind } from './problems';
