/**
 * Station mode: a queue of boards provisioned one port each, several at once, with duplicate
 * protection from the audit log, a shift summary, labels with a QR code, and a queue that
 * survives a closed tab. Pure logic: the page's state class (`state/station.svelte.ts`) gives it
 * ports and renders it; tests and `bench/station.ts` drive it in Node. See docs/station.md.
 */
export { Station, type AddRefusal, type StationOptions } from './station';
export { type PortStatus, type PortView, type StationPort } from './port';
export { runStationJob, type JobOutcome, type JobRunInput, type ReconcileIntents } from './runner';
export { ACTIVE_STATES, FINISHED_STATES, isActive, isFinished, normalizeSerial, serialKey, SERIAL_MAX_LENGTH, SERIAL_PATTERN, type JobFailure, type JobProgress, type JobResult, type JobState, type StationJob } from './job';
export { describeEntry, ProvisionedLedger, RUN_ACTION, type ProvisionedEntry } from './ledger';
export { STATION_ACTIONS, StationAudit } from './audit';
export { freshValuesProfile, keysGroupOf, stationImage, type StationImage, type StationSetup } from './setup';
export { memoryStationStore, openStationStore, STATION_DB_NAME, type StationStore, type StoredJob, type StoredSetup } from './store';
export { summarize, summaryCsv, summaryJson, SUMMARY_CSV_COLUMNS, SUMMARY_FORMAT, type FailureGroup, type ShiftSummary, type SummaryMeta } from './summary';
export { labelFor, labelPayload, LABEL_FORMAT_VERSION, QR_QUIET_ZONE, qrMatrix, qrSvg, type LabelContent, type QrSvg } from './label';
export { messageOf, stationError, type JobFailureCode, type StationError, type StationErrorCode } from './errors';
