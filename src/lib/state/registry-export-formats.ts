/**
 * The Registry page's export formats as data: one entry per file, with its label, file name, MIME
 * type, whether it needs certificates, and the pure function that makes it. The page renders one
 * button per entry; `RegistryView.exportFile` runs one and keeps what it left out.
 */
import { cHeader } from './registry-c-header';
import { awsIotBulkRegistration, azureDpsEnrollments, genericCsv, genericJson, nrfCloudOnboarding, type RegistryExport } from './registry-exports';
import type { RegistryRow } from './registry-view.svelte';

export type RegistryExportId = 'aws-iot' | 'nrf-cloud' | 'azure-dps' | 'json' | 'csv' | 'c-header';

export interface RegistryExportFormat {
  id: RegistryExportId;
  label: string;
  /** What the file is for, in the button's title. */
  purpose: string;
  fileName: string;
  type: string;
  /** Only devices with a certificate in the registry go in. */
  needsCertificate: boolean;
  build(rows: readonly RegistryRow[]): RegistryExport;
}

export const REGISTRY_EXPORT_FORMATS: readonly RegistryExportFormat[] = [
  { id: 'aws-iot', label: 'AWS IoT', purpose: 'AWS IoT bulk registration input (JSON Lines of template parameters)', fileName: 'imprint-aws-iot-bulk.jsonl', type: 'application/x-ndjson', needsCertificate: true, build: awsIotBulkRegistration },
  { id: 'nrf-cloud', label: 'nRF Cloud', purpose: 'nRF Cloud bulk onboarding CSV', fileName: 'imprint-nrf-cloud-onboard.csv', type: 'text/csv', needsCertificate: true, build: (rows) => nrfCloudOnboarding(rows) },
  { id: 'azure-dps', label: 'Azure DPS', purpose: 'Azure DPS individual enrollments (JSON)', fileName: 'imprint-azure-dps-enrollments.json', type: 'application/json', needsCertificate: true, build: azureDpsEnrollments },
  { id: 'json', label: 'JSON', purpose: 'every device, generic JSON', fileName: 'imprint-registry.json', type: 'application/json', needsCertificate: false, build: genericJson },
  { id: 'csv', label: 'CSV', purpose: 'every device, generic CSV for spreadsheets', fileName: 'imprint-registry.csv', type: 'text/csv', needsCertificate: false, build: genericCsv },
  { id: 'c-header', label: 'C header', purpose: 'device ids, certificates and public keys as C arrays for firmware builds', fileName: 'imprint_devices.h', type: 'text/x-c', needsCertificate: true, build: cHeader },
];

/**
 * Why `format` has nothing to export from `rows`, or null when it has.
 * @example exportUnavailable(awsFormat, rowsWithoutCertificates) // 'No device shown has a certificate in the device registry.'
 */
export function exportUnavailable(format: RegistryExportFormat, rows: readonly RegistryRow[]): string | null {
  if (rows.length === 0) return 'No device shown.';
  if (format.needsCertificate && !rows.some((row) => row.registered)) return 'No device shown has a certificate in the device registry.';
  return null;
}

/**
 * What an export left out, one sentence per reason, naming the first few devices.
 * @example skippedSummary([{ deviceId: 'dev-1', reason: 'no certificate' }]) // ['1 device skipped: no certificate (dev-1).']
 */
export function skippedSummary(skipped: readonly { deviceId: string; reason: string }[], named = 5): string[] {
  const byReason = new Map<string, string[]>();
  for (const { deviceId, reason } of skipped) byReason.set(reason, [...(byReason.get(reason) ?? []), deviceId]);
  return [...byReason].map(([reason, ids]) => `${ids.length} device${ids.length === 1 ? '' : 's'} skipped: ${reason} (${ids.slice(0, named).join(', ')}${ids.length > named ? `, and ${ids.length - named} more` : ''}).`);
}
