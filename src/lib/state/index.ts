/** App state: `*.svelte.ts` classes the views read, and the one connection this tab holds. */
import { Connection } from './connection.svelte';
import { ImageUpload } from './upload.svelte';
import { AppUpdate } from './app-update.svelte';

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
