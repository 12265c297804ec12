/**
 * Which serials and device ids this station has provisioned, read from the audit log: every
 * `provision.run` outcome with result `ok` is a board that left the station with an identity.
 * The station refuses to provision such a serial or device again unless the operator chooses
 * re-provisioning. The log is the source of truth (it survives reloads and is what auditors
 * read); the ledger is an index over it, kept current as boards pass.
 */
import type { AuditRecord } from '../audit';
import { serialKey } from './job';

/** The audit action of a whole provisioning run (`runProvisioning`'s intent/outcome pair). */
export const RUN_ACTION = 'provision.run';

export interface ProvisionedEntry {
  serial: string;
  deviceId: string | null;
  /** The outcome record's seq (null for a board that passed in this tab, before the log was read again), and its time (ISO). */
  seq: number | null;
  time: string;
  certFingerprint: string | null;
  certSerial: string | null;
}

export class ProvisionedLedger {
  readonly #bySerial = new Map<string, ProvisionedEntry>();
  readonly #byDevice = new Map<string, ProvisionedEntry>();

  /**
   * The ledger of a log's records.
   * @example const ledger = ProvisionedLedger.fromRecords((await log.records()).value); ledger.bySerial('SN-0001')?.deviceId
   */
  static fromRecords(records: Iterable<AuditRecord>): ProvisionedLedger {
    const ledger = new ProvisionedLedger();
    for (const record of records) {
      if (record.action !== RUN_ACTION || record.phase !== 'outcome' || record.result !== 'ok' || !record.boardSerial) continue;
      ledger.add({
        serial: record.boardSerial,
        deviceId: record.deviceId ?? null,
        seq: record.seq,
        time: record.time,
        certFingerprint: record.certFingerprint ?? null,
        certSerial: record.certSerial ?? null,
      });
    }
    return ledger;
  }

  /** Records a board that passed; a later entry for the same serial or device replaces the earlier. */
  add(entry: ProvisionedEntry): void {
    this.#bySerial.set(serialKey(entry.serial), entry);
    if (entry.deviceId) this.#byDevice.set(entry.deviceId, entry);
  }

  bySerial(serial: string): ProvisionedEntry | undefined {
    return this.#bySerial.get(serialKey(serial));
  }

  byDevice(deviceId: string): ProvisionedEntry | undefined {
    return this.#byDevice.get(deviceId);
  }

  get size(): number {
    return this.#bySerial.size;
  }
}

/** "SN-0001 on 2025-06-01 10:00 UTC (audit seq 12)": where an earlier provisioning is recorded. */
export function describeEntry(entry: ProvisionedEntry): string {
  return `${entry.serial} on ${entry.time.slice(0, 16).replace('T', ' ')} UTC (${entry.seq === null ? 'in this shift' : `audit seq ${entry.seq}`})`;
}
