/**
 * The Registry page: one row per device, device id → certificate → public key, built from two
 * sources the app already has — the audit log's provisioning results (what the station did to the
 * board: keys with their SPKI fingerprints, certificates by serial and fingerprint, the counter,
 * first and last provisioning, the stations) and the console's device registry (src/lib/registry:
 * the verified certificate chain and the public key itself). Rows are joined by device id; where
 * both know a key, the registry's key fingerprint is checked against the log's.
 */
import type { StoredRecord } from '../audit';
import type { DeviceRegistry, RegisteredDevice, RegistryError } from '../registry';
import type { Result } from '../smp/result';
import { REGISTRY_EXPORT_FORMATS, type RegistryExportId } from './registry-export-formats';
import type { SkippedDevice } from './registry-exports';

export interface RegistryKey {
  keyId: string;
  keyFingerprint?: string;
  certSerial?: string;
  certFingerprint?: string;
  /** A later `keys.destroy` outcome removed it from the board. */
  destroyed: boolean;
}

export interface RegistryRow {
  deviceId: string;
  boardSerials: string[];
  stations: string[];
  keys: RegistryKey[];
  counter?: number;
  /** Times of the first and last successful step on this device. */
  first: string;
  last: string;
  /** `provision.run` outcomes that ended ok. */
  runs: number;
  /** The console registry's entry, when the device was registered there. */
  registered: RegisteredDevice | null;
  /** The registry's key fingerprint is one the log recorded for this device (null: nothing to compare). */
  keyMatches: boolean | null;
}

/** Successful outcomes, each with the fields of its intent it does not repeat, grouped by device. */
export function devicesFromRecords(records: readonly StoredRecord[], registered: readonly RegisteredDevice[] = []): RegistryRow[] {
  const bySeq = new Map<number, StoredRecord>();
  for (const record of records) if (record.phase === 'intent') bySeq.set(record.seq, record);
  const rows = new Map<string, RegistryRow>();
  const keysOf = new Map<string, Map<string, RegistryKey>>();
  for (const outcome of records) {
    if (outcome.phase !== 'outcome' || outcome.result !== 'ok') continue;
    const intent = outcome.intentSeq === undefined ? undefined : bySeq.get(outcome.intentSeq);
    const record = { ...intent, ...outcome } as StoredRecord;
    if (!record.deviceId) continue;
    let row = rows.get(record.deviceId);
    if (!row) {
      row = { deviceId: record.deviceId, boardSerials: [], stations: [], keys: [], first: record.time, last: record.time, runs: 0, registered: null, keyMatches: null };
      rows.set(record.deviceId, row);
      keysOf.set(record.deviceId, new Map());
    }
    if (record.boardSerial && !row.boardSerials.includes(record.boardSerial)) row.boardSerials.push(record.boardSerial);
    if (!row.stations.includes(record.stationId)) row.stations.push(record.stationId);
    if (record.time < row.first) row.first = record.time;
    if (record.time > row.last) row.last = record.time;
    if (record.counter !== undefined) row.counter = record.counter;
    if (record.action === 'provision.run') row.runs++;
    if (record.keyId) {
      const keys = keysOf.get(record.deviceId)!;
      const key = keys.get(record.keyId) ?? { keyId: record.keyId, destroyed: false };
      if (record.action === 'keys.destroy') key.destroyed = true;
      else if (record.action === 'keys.generate' || record.action === 'keys.import') Object.assign(key, { destroyed: false, certSerial: undefined, certFingerprint: undefined });
      if (record.keyFingerprint) key.keyFingerprint = record.keyFingerprint;
      if (record.certSerial) key.certSerial = record.certSerial;
      if (record.certFingerprint) key.certFingerprint = record.certFingerprint;
      keys.set(record.keyId, key);
    }
  }
  for (const [deviceId, keys] of keysOf) rows.get(deviceId)!.keys = [...keys.values()].sort((a, b) => a.keyId.localeCompare(b.keyId));
  for (const device of registered) {
    let row = rows.get(device.deviceId);
    if (!row) {
      row = { deviceId: device.deviceId, boardSerials: [], stations: [], keys: [], first: device.registeredAt, last: device.registeredAt, runs: 0, registered: null, keyMatches: null };
      rows.set(device.deviceId, row);
    }
    row.registered = device;
    row.keyMatches = row.keys.length === 0 ? null : row.keys.some((key) => key.keyFingerprint === device.keyFingerprint);
  }
  return [...rows.values()].sort((a, b) => (a.last < b.last ? 1 : a.last > b.last ? -1 : a.deviceId.localeCompare(b.deviceId)));
}

/** Rows whose device id, serial, station, key or certificate fingerprint/serial contains `query`. */
export function searchRows(rows: readonly RegistryRow[], query: string): RegistryRow[] {
  const q = query.trim().toLowerCase();
  if (!q) return rows.slice();
  return rows.filter((row) =>
    [row.deviceId, ...row.boardSerials, ...row.stations, row.registered?.subject ?? '', ...row.keys.flatMap((key) => [key.keyId, key.keyFingerprint ?? '', key.certSerial ?? '', key.certFingerprint ?? ''])].some((text) => text.toLowerCase().includes(q)),
  );
}

export class RegistryView {
  rows = $state.raw<RegistryRow[]>([]);
  query = $state('');
  readonly shown: RegistryRow[] = $derived(searchRows(this.rows, this.query));
  loading = $state(false);
  error = $state<string | null>(null);
  /** Why the console's registry could not be read (the log's rows still show). */
  registryNote = $state<string | null>(null);
  /** The last export: its format, how many devices went in, and those left out with why. */
  lastExport = $state.raw<{ label: string; exported: number; skipped: SkippedDevice[] } | null>(null);

  readonly #records: () => Promise<readonly StoredRecord[]>;
  readonly #registry: () => Promise<Result<DeviceRegistry, RegistryError>>;

  constructor(records: () => Promise<readonly StoredRecord[]>, registry: () => Promise<Result<DeviceRegistry, RegistryError>>) {
    this.#records = records;
    this.#registry = registry;
  }

  /**
   * The file of export `id` over the rows shown (the search applies); remembers who was left out.
   * @example const file = registry.exportFile('aws-iot'); if (file) saveFile(file.fileName, file.text)
   */
  exportFile(id: RegistryExportId): { fileName: string; text: string } | null {
    const format = REGISTRY_EXPORT_FORMATS.find((candidate) => candidate.id === id);
    if (!format) return null;
    const built = format.build(this.shown);
    this.lastExport = { label: format.label, exported: this.shown.length - built.skipped.length, skipped: built.skipped };
    return { fileName: format.fileName, text: built.text };
  }

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      const records = await this.#records();
      let registered: RegisteredDevice[] = [];
      const opened = await this.#registry().catch((caught: unknown) => ({ ok: false as const, error: { message: String(caught) } }));
      if (opened.ok) {
        const listed = await opened.value.list();
        opened.value.close();
        if (listed.ok) registered = listed.value;
        else this.registryNote = `The device registry could not be read: ${listed.error.message}`;
      } else this.registryNote = `The device registry could not be opened: ${opened.error.message}`;
      this.rows = devicesFromRecords(records, registered);
    } catch (caught) {
      this.error = `The registry could not be built: ${caught instanceof Error ? caught.message : String(caught)}`;
    } finally {
      this.loading = false;
    }
  }
}
