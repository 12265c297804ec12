/**
 * The Registry page's exports: the rows shown, in the files the places devices go next take in —
 * AWS IoT bulk registration, nRF Cloud onboarding, Azure DPS individual enrollments, a generic
 * JSON and CSV, and a C header for firmware builds (registry-c-header.ts). docs/exports.md has
 * each format with a sample and how to use it at the destination.
 *
 * Each export is a pure function of the rows, returning the text and the devices it left out with
 * why (no certificate in the registry, an id the destination refuses): never silently. Rows hold
 * public material only (ids, fingerprints, certificates, public keys), so no export can carry a
 * secret; tests run every export through the audit log's secret guard to keep it so.
 */
import { csvCell, csvField } from '../audit';
import { encodePem, parseCertificate } from '../pki';
import { deviceIdFromSubject, type RegisteredDevice } from '../registry';
import { bytesToHex } from '../util/bytes';
import type { RegistryRow } from './registry-view.svelte';

export interface SkippedDevice {
  deviceId: string;
  reason: string;
}

export interface RegistryExport {
  text: string;
  skipped: SkippedDevice[];
}

/** A row with the registry's certificate: what every certificate-based format needs. */
interface CertifiedRow {
  row: RegistryRow;
  device: RegisteredDevice;
}

export const NO_CERTIFICATE = 'no certificate in the device registry (provisioned without a certificate from this station’s CA, or not registered)';

/**
 * The rows with a certificate that `refuse` has nothing against; the others with their reason.
 * `refuse` says why the destination would not take a row, or null.
 */
function certified(rows: readonly RegistryRow[], refuse: (item: CertifiedRow) => string | null = () => null): { kept: CertifiedRow[]; skipped: SkippedDevice[] } {
  const kept: CertifiedRow[] = [];
  const skipped: SkippedDevice[] = [];
  for (const row of rows) {
    const reason = row.registered ? refuse({ row, device: row.registered }) : NO_CERTIFICATE;
    if (reason === null) kept.push({ row, device: row.registered! });
    else skipped.push({ deviceId: row.deviceId, reason });
  }
  return { kept, skipped };
}

function certificatePem(device: RegisteredDevice): string {
  return encodePem('CERTIFICATE', device.certificate);
}

/** The board serial of the device's latest provisioning ('' when it was only registered). */
function latestSerial(row: RegistryRow): string {
  return row.boardSerials.at(-1) ?? '';
}

function lines(items: readonly string[], end = '\n'): string {
  return items.map((item) => `${item}${end}`).join('');
}

// ——— AWS IoT bulk registration ———

/** AWS IoT thing names: `[a-zA-Z0-9:_-]+`, 1–128 characters (CreateThing, thingName). */
const AWS_THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;
/** Thing attribute values: `[a-zA-Z0-9_.,@/:#=\[\]-]*`, at most 800 (AttributePayload). */
const AWS_ATTRIBUTE_VALUE = /^[a-zA-Z0-9_.,@/:#=[\]-]{0,800}$/;

/**
 * The provisioning template the AWS export's parameters fill (docs/exports.md shows it): a thing
 * named after the device with its serial as an attribute, and the certificate Imprint issued,
 * registered as it is (the issuing CA must be registered with AWS IoT first).
 */
export const AWS_BULK_TEMPLATE = {
  Parameters: {
    ThingName: { Type: 'String' },
    SerialNumber: { Type: 'String', Default: '' },
    CertificatePem: { Type: 'String' },
  },
  Resources: {
    thing: {
      Type: 'AWS::IoT::Thing',
      Properties: { ThingName: { Ref: 'ThingName' }, AttributePayload: { serialNumber: { Ref: 'SerialNumber' } } },
    },
    certificate: {
      Type: 'AWS::IoT::Certificate',
      Properties: { CertificatePem: { Ref: 'CertificatePem' }, Status: 'ACTIVE' },
    },
  },
} as const;

/**
 * The input file of `aws iot start-thing-registration-task`: JSON Lines, one flat object of
 * template parameter values per device.
 * @example awsIotBulkRegistration(rows).text.split('\n')[0] // {"ThingName":"dev-1","SerialNumber":"SN-1","CertificatePem":"-----BEGIN CERTIFICATE-----\n…"}
 */
export function awsIotBulkRegistration(rows: readonly RegistryRow[]): RegistryExport {
  const { kept, skipped } = certified(rows, ({ row }) => {
    if (!AWS_THING_NAME.test(row.deviceId)) return 'AWS IoT thing names take only letters, digits, “:”, “_” and “-”';
    if (!AWS_ATTRIBUTE_VALUE.test(latestSerial(row))) return `the board serial “${latestSerial(row)}” has characters AWS IoT attribute values refuse`;
    return null;
  });
  const text = lines(kept.map(({ row, device }) => JSON.stringify({ ThingName: row.deviceId, SerialNumber: latestSerial(row), CertificatePem: certificatePem(device) })));
  return { text, skipped };
}

// ——— nRF Cloud bulk onboarding ———

/** Rows nRF Cloud's onboarding takes per file (nrfcloud-utils `nrf_cloud_onboard.py`, MAX_CSV_ROWS). */
export const NRF_CLOUD_MAX_DEVICES = 1000;

export interface NrfCloudOptions {
  /** The device's custom type; empty by default. */
  subType?: string;
  tags?: readonly string[];
  /** Firmware types FOTA may update: APP, MODEM, BOOT, SOFTDEVICE, BOOTLOADER. */
  fwTypes?: readonly string[];
}

/**
 * The onboarding CSV nRF Cloud's ProvisionDevices takes (as nrfcloud-utils writes it): no header,
 * one row per device — device id, subtype, tags and firmware types (each `|`-separated), and the
 * certificate PEM, quoted (it spans lines).
 * @example nrfCloudOnboarding(rows).text // 'dev-1,,,APP|MODEM,"-----BEGIN CERTIFICATE-----\n…-----END CERTIFICATE-----\n"\n'
 */
export function nrfCloudOnboarding(rows: readonly RegistryRow[], options: NrfCloudOptions = {}): RegistryExport {
  let taken = 0;
  const { kept, skipped } = certified(rows, () => (++taken > NRF_CLOUD_MAX_DEVICES ? `nRF Cloud onboards at most ${NRF_CLOUD_MAX_DEVICES} devices per file: export the rest with a narrower search` : null));
  const fixed = [options.subType ?? '', (options.tags ?? []).join('|'), (options.fwTypes ?? ['APP', 'MODEM']).join('|')];
  const text = lines(kept.map(({ row, device }) => [row.deviceId, ...fixed, certificatePem(device)].map(csvField).join(',')));
  return { text, skipped };
}

// ——— Azure DPS individual enrollments ———

/** DPS registration ids: alphanumerics and `. _ -`, not starting or ending with a special character, ≤ 128. */
const DPS_REGISTRATION_ID = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/;

/**
 * Individual enrollments as DPS's service API takes them (`IndividualEnrollment`), one per device:
 * X.509 attestation with the device certificate as the primary client certificate (PEM, as the
 * Azure SDKs send it). The registration id is the certificate's CN, which is what a device
 * presenting that certificate registers as.
 * @example JSON.parse(azureDpsEnrollments(rows).text)[0].attestation.x509.clientCertificates.primary.certificate // '-----BEGIN CERTIFICATE-----…'
 */
export function azureDpsEnrollments(rows: readonly RegistryRow[]): RegistryExport {
  const registrationIds = new Map<string, string>();
  const { kept, skipped } = certified(rows, ({ device }) => {
    const parsed = parseCertificate(device.certificate);
    const cn = parsed.ok ? deviceIdFromSubject(parsed.value.subject, 'CN') : null;
    if (cn === null) return 'the certificate has no CN to be the DPS registration id';
    if (!DPS_REGISTRATION_ID.test(cn)) return `the certificate’s CN “${cn}” is not a DPS registration id (letters, digits and . _ -, not at either end)`;
    registrationIds.set(device.deviceId, cn);
    return null;
  });
  const enrollments = kept.map(({ row, device }) => ({
    registrationId: registrationIds.get(device.deviceId)!,
    deviceId: row.deviceId,
    attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: certificatePem(device) } } } },
    provisioningStatus: 'enabled',
  }));
  return { text: `${JSON.stringify(enrollments, null, 2)}\n`, skipped };
}

// ——— Generic JSON and CSV ———

/** The generic JSON export: every row, public material only. */
export function registryJson(rows: readonly RegistryRow[]): string {
  return `${JSON.stringify(
    rows.map((row) => ({
      deviceId: row.deviceId,
      boardSerials: row.boardSerials,
      stations: row.stations,
      counter: row.counter ?? null,
      firstProvisioned: row.first,
      lastProvisioned: row.last,
      keys: row.keys,
      publicKey: row.registered ? bytesToHex(row.registered.publicKey) : null,
      certificateSubject: row.registered?.subject ?? null,
      certificatePem: row.registered ? certificatePem(row.registered) : null,
    })),
    null,
    2,
  )}\n`;
}

export function genericJson(rows: readonly RegistryRow[]): RegistryExport {
  return { text: registryJson(rows), skipped: [] };
}

/** The generic CSV's columns; lists inside a cell are `;`-separated, key lists aligned by key. */
export const REGISTRY_CSV_COLUMNS = [
  'deviceId',
  'boardSerials',
  'stations',
  'counter',
  'firstProvisioned',
  'lastProvisioned',
  'keyIds',
  'keyFingerprints',
  'destroyedKeys',
  'certSerials',
  'certFingerprints',
  'certificateSubject',
  'publicKey',
] as const;

/**
 * One row per device, RFC 4180 (CRLF, quotes doubled), safe to open in a spreadsheet (the audit
 * CSV's cell rule: a cell starting like a formula is prefixed with `'`).
 */
export function genericCsv(rows: readonly RegistryRow[]): RegistryExport {
  const list = (items: readonly (string | undefined)[]) => items.map((item) => item ?? '').join(';');
  const records = rows.map((row) => {
    const cells: Record<(typeof REGISTRY_CSV_COLUMNS)[number], string> = {
      deviceId: row.deviceId,
      boardSerials: list(row.boardSerials),
      stations: list(row.stations),
      counter: row.counter === undefined ? '' : String(row.counter),
      firstProvisioned: row.first,
      lastProvisioned: row.last,
      keyIds: list(row.keys.map((key) => key.keyId)),
      keyFingerprints: list(row.keys.map((key) => key.keyFingerprint)),
      destroyedKeys: list(row.keys.filter((key) => key.destroyed).map((key) => key.keyId)),
      certSerials: list(row.keys.map((key) => key.certSerial)),
      certFingerprints: list(row.keys.map((key) => key.certFingerprint)),
      certificateSubject: row.registered?.subject ?? '',
      publicKey: row.registered ? bytesToHex(row.registered.publicKey) : '',
    };
    return REGISTRY_CSV_COLUMNS.map((column) => csvCell(cells[column]));
  });
  return { text: lines([REGISTRY_CSV_COLUMNS.map(csvCell), ...records].map((cells) => cells.join(',')), '\r\n'), skipped: [] };
}
