/** App state: `*.svelte.ts` classes the views read, and the one connection this tab holds. */
import { version } from '$app/environment';
import { Connection } from './connection.svelte';
import { ImageUpload } from './upload.svelte';
import { AppUpdate } from './app-update.svelte';
import { CertificateAuthorities } from './authorities.svelte';
import { BoardKeys } from './board-keys.svelte';
import { ExternalCaBatch } from './external-ca.svelte';
import { AuditTrail } from './audit-trail.svelte';
import { AuditTable } from './audit-table.svelte';
import { RegistryView } from './registry-view.svelte';
import { openDeviceRegistry } from '../registry';
import { Provisioning } from './provision.svelte';
import { StationState } from './station.svelte';
import { FieldScan } from './field-scan.svelte';
import { FieldSession } from './field.svelte';

export { Connection, BAUD_RATES, type DeviceKind, type ConnectionStatus, type Scope, type EchoResult, type ConnectOptions, type ConnectionOptions } from './connection.svelte';
export { SmpLog, directionArrow, formatLogTime, DEFAULT_LOG_LIMIT, type SmpLogEntry } from './smp-log.svelte';
export { formatCbor, LOG_BYTES_SHOWN } from './cbor-text';
export { EMPTY_IDENTITY, MCUBOOT_MODE_NAMES, describeMcubootMode, type Identity, type BootloaderInfo } from './identity';
export { browserPlatform, SIM_BAUD_RATE, type Platform } from './platform';

/** The tab's connection, shared by every page (a page change keeps the board connected). */
export const connection = new Connection();
export { ImageUpload, type UploadStatus, type UploadProgress } from './upload.svelte';

/** The tab's firmware upload, kept across page changes like the connection. */
export const imageUpload = new ImageUpload();
export { AppUpdate, type ApplyUpdate } from './app-update.svelte';

/** The service worker's update, held back while work is in progress. */
export const appUpdate = new AppUpdate();
appUpdate.holdWhile(() => (imageUpload.status === 'uploading' ? 'the firmware upload' : null));

export { CertificateAuthorities, type CaScope, type CaSummary, type CreateCaForm, type ImportPemForm, type PickedFile, type DownloadFile } from './authorities.svelte';
export { describeCertificate, fileSlug, type CertificateView } from './certificate-view';
export { createStationSettings, type StationSettings } from './station-settings';
export { BoardKeys, type KeyDetails, type KeysScope } from './board-keys.svelte';
export { ExternalCaBatch, type ExternalCaScope } from './external-ca.svelte';
export { createCsrBatchStore, type CsrBatchStore, type PendingCsr } from './csr-batch-store';
export { keyIdHex, keyFingerprint, spkiForKey, splitCertificateChain, usageNames } from './key-view';
export { AuditTrail, DEFAULT_PAGE_SIZE, type AuditScope, type StorageState } from './audit-trail.svelte';
export { Provisioning, DEVICE_ID_SAMPLE, type StepView, type StepStatus, type RunStatus, type ProvisionDeps } from './provision.svelte';
export { readBoardSnapshot, reconcileOutcome, registryOutcome, unknownOutcome, describeKeys, type BoardSnapshot } from './reconcile';

/** The station's CAs and the one that issues device certificates. */
export const authorities = new CertificateAuthorities();

/** The station's audit log: records, exports, verification, interrupted runs. */
export const auditTrail = new AuditTrail({ appBuild: version });

export { AuditTable, checkLocalChain, filterRecords, NO_FILTERS, type AuditFilters, type ChainStatus, type ResultFilter } from './audit-table.svelte';
export { MAX_IMPORT_BYTES, startVerify, type VerifyProgress, type VerifyStage } from './audit-verify-job';

/** The Audit page's records table over the same log: filters, virtual scrolling, chain status. */
export const auditTable = new AuditTable(() => auditTrail.open());

export { RegistryView, devicesFromRecords, searchRows, type RegistryRow, type RegistryKey } from './registry-view.svelte';
export {
  AWS_BULK_TEMPLATE,
  awsIotBulkRegistration,
  azureDpsEnrollments,
  genericCsv,
  genericJson,
  NO_CERTIFICATE,
  NRF_CLOUD_MAX_DEVICES,
  nrfCloudOnboarding,
  REGISTRY_CSV_COLUMNS,
  registryJson,
  type RegistryExport,
  type SkippedDevice,
} from './registry-exports';
export { cHeader, cString, C_HEADER_GUARD } from './registry-c-header';
export { exportUnavailable, REGISTRY_EXPORT_FORMATS, type RegistryExportFormat, type RegistryExportId, skippedSummary } from './registry-export-formats';

/** The Registry page: devices from the log's provisioning results, joined with the console's registry. */
export const registryView = new RegistryView(
  async () => {
    await auditTable.load(false);
    return auditTable.all;
  },
  () => openDeviceRegistry(),
);

/** The connected board's keys, for the Keys page. */
export const boardKeys = new BoardKeys(connection, auditTrail);
export const externalCa = new ExternalCaBatch(connection, auditTrail);

/** The tab's provisioning run, kept across page changes like the connection. */
export const provisioning = new Provisioning({ authorities, audit: auditTrail });
appUpdate.holdWhile(() => (provisioning.status === 'running' ? 'the provisioning run' : null));

export { StationState, type StationDeps } from './station.svelte';
export { SIMULATED_FAULTS, type SimulatedFault, type StationPlatform } from './station-ports';

/** The station: a queue of boards, several at once, one port each; it runs on while other pages are shown. */
export const station = new StationState({ authorities, audit: auditTrail, appBuild: version });
appUpdate.holdWhile(() => (station.running > 0 ? 'provisioning at the station' : null));

export { FieldScan, browserBluetoothFinder, type BluetoothFinder, type FoundBoard, type FieldScanScope } from './field-scan.svelte';
export { FieldSession, IDENTIFY_METHOD, type FieldScope, type Identified, type RotationDone } from './field.svelte';
export { chainVerdict, type ChainVerdict, type ChainVerdictCode, type TrustAnchor } from './chain-verdict';
export { describeSignal, rankBoards, signalLevel, SIGNAL_STALE_MS, type SignalLevel, type SignalReading, type SignalView } from './signal';

/** The Field page's Bluetooth boards, found through the chooser and listened to for their signal. */
export const fieldScan = new FieldScan(connection);

/** The Field page's work on the connected board: identify, read, check chains, rotate. */
export const fieldSession = new FieldSession(connection, boardKeys, authorities, auditTrail);
appUpdate.holdWhile(() => (fieldSession.busy.rotate ? 'the key rotation' : null));
