/**
 * Firmware upload as state the Device page renders: the chosen file (checked as an MCUboot image
 * before anything is sent), progress, cancel, and resume — after a cancel, a lost link or a
 * reloaded tab, the board continues from the offset it reports for the same SHA-256.
 */
import type { Board } from '../device';
import { parseMcubootImage, type McubootImageInfo } from '../device/mcuboot-image';
import { uploadImage, type UploadSummary } from '../device/upload';
import { bytesToHex } from '../util/bytes';
import { sha256 } from '@noble/hashes/sha2.js';
import { createPendingUploadStore, type PendingUpload, type PendingUploadStore } from './pending-upload';

export type UploadStatus = 'idle' | 'ready' | 'uploading' | 'stopped' | 'done' | 'failed';

export interface UploadProgress {
  acknowledged: number;
  total: number;
  bytesPerSecond: number;
  secondsLeft: number | null;
}

/** Progress events arrive per chunk; the view needs a few a second at most. */
const PROGRESS_INTERVAL_MS = 100;

export class ImageUpload {
  status = $state<UploadStatus>('idle');
  fileName = $state('');
  image = $state.raw<McubootImageInfo | null>(null);
  progress = $state.raw<UploadProgress | null>(null);
  summary = $state.raw<UploadSummary | null>(null);
  /** Set when the file is refused or the upload stops. */
  message = $state<string | null>(null);
  /** An upload a previous visit left unfinished, offered for resume. */
  pending = $state.raw<PendingUpload | null>(null);
  window = $state(2);
  readonly percent = $derived(this.progress && this.progress.total > 0 ? (this.progress.acknowledged / this.progress.total) * 100 : 0);

  private bytes: Uint8Array | null = null;
  private sha = '';
  private controller: AbortController | null = null;
  private readonly store: PendingUploadStore;

  constructor(store: PendingUploadStore = createPendingUploadStore()) {
    this.store = store;
  }

  /** Looks for an upload a closed tab left behind. */
  async restorePending(): Promise<void> {
    try {
      const pending = await this.store.load();
      if (!pending || this.status === 'uploading') return;
      this.pending = pending;
      this.useBytes(pending.name, pending.bytes);
      if (this.status === 'ready') {
        this.status = 'stopped';
        this.progress = { acknowledged: pending.acknowledged, total: pending.bytes.length, bytesPerSecond: 0, secondsLeft: null };
        this.message = `${pending.name} was not finished (${pending.acknowledged} of ${pending.bytes.length} bytes acknowledged). Resume continues where the board stopped.`;
      }
    } catch {
      this.pending = null;
    }
  }

  /** Checks a file the operator picked; refuses anything that is not an MCUboot image. */
  async choose(file: File): Promise<void> {
    if (this.status === 'uploading') return;
    this.useBytes(file.name, new Uint8Array(await file.arrayBuffer()));
  }

  useBytes(name: string, bytes: Uint8Array): void {
    this.fileName = name;
    this.summary = null;
    this.progress = null;
    const parsed = parseMcubootImage(bytes);
    if (!parsed.ok) {
      this.bytes = null;
      this.image = null;
      this.status = 'failed';
      this.message = `${name}: ${parsed.error.message}`;
      return;
    }
    this.bytes = bytes;
    this.sha = bytesToHex(sha256(bytes));
    this.image = parsed.value;
    this.status = 'ready';
    this.message = null;
  }

  /** Uploads the chosen image, or resumes it: the board says where to continue. */
  async start(board: Board): Promise<UploadSummary | null> {
    if (!this.bytes || this.status === 'uploading') return null;
    const bytes = this.bytes;
    const controller = (this.controller = new AbortController());
    this.status = 'uploading';
    this.message = null;
    this.summary = null;
    const pending: PendingUpload = { name: this.fileName, bytes, sha: this.sha, acknowledged: this.progress?.acknowledged ?? 0, savedAt: new Date().toISOString() };
    await this.store.save(pending).catch(() => {});
    let lastShown = 0;
    let lastSaved = pending.acknowledged;
    const result = await uploadImage(board.client, bytes, {
      params: board.params,
      window: this.window,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.kind === 'resumed') this.message = `Resuming at byte ${event.offset}: the board already has the rest before it.`;
        if (event.kind !== 'progress') return;
        const now = performance.now();
        if (now - lastShown < PROGRESS_INTERVAL_MS && event.acknowledged < event.total) return;
        lastShown = now;
        this.progress = { acknowledged: event.acknowledged, total: event.total, bytesPerSecond: event.bytesPerSecond, secondsLeft: event.secondsLeft };
        // Remember how far the board got every 64 KiB, for the resume prompt after a reload.
        if (event.acknowledged - lastSaved >= 64 * 1024) {
          lastSaved = event.acknowledged;
          void this.store.save({ ...pending, acknowledged: event.acknowledged }).catch(() => {});
        }
      },
    });
    this.controller = null;
    if (result.ok) {
      this.status = 'done';
      this.summary = result.value;
      this.progress = { acknowledged: bytes.length, total: bytes.length, bytesPerSecond: result.value.bytesPerSecond, secondsLeft: 0 };
      this.pending = null;
      await this.store.clear().catch(() => {});
      return result.value;
    }
    const { error } = result;
    this.progress = { acknowledged: error.offset, total: bytes.length, bytesPerSecond: 0, secondsLeft: null };
    await this.store.save({ ...pending, acknowledged: error.offset }).catch(() => {});
    this.status = 'stopped';
    const where = `${Math.floor((error.offset / bytes.length) * 100)}% (${error.offset} of ${bytes.length} bytes)`;
    if (error.code === 'aborted') this.message = `Upload cancelled at ${where}. Resume continues from there.`;
    else if (error.code === 'disconnected' || error.code === 'not-connected' || error.code === 'transport') {
      this.message = `Upload stopped at ${where}: the connection ended. Reconnect the board and press Resume; it continues from the offset the board reports.`;
    } else {
      this.status = 'failed';
      this.message = `Upload failed at ${where}: ${error.message}`;
    }
    return null;
  }

  cancel(): void {
    this.controller?.abort();
  }

  /** Forgets the file and any unfinished upload of it. */
  async discard(): Promise<void> {
    if (this.status === 'uploading') return;
    this.bytes = null;
    this.image = null;
    this.fileName = '';
    this.progress = null;
    this.summary = null;
    this.message = null;
    this.pending = null;
    this.status = 'idle';
    await this.store.clear().catch(() => {});
  }
}
