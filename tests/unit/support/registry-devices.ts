/**
 * Real devices for the registry tests: a CA made with `createCa`, device certificates issued by it
 * from CSRs (as a board's would arrive), and the registry rows they become once registered.
 */
import { type CertificateAuthority, createCa, encodePem, issueDeviceCertificate } from '../../../src/lib/pki';
import { checkRegistration, type RegisteredDevice } from '../../../src/lib/registry';
import type { RegistryRow } from '../../../src/lib/state';
import { deviceKeys, makeCsr } from './pki';

export interface IssuedDevice {
  deviceId: string;
  boardSerial: string;
  /** The device certificate, PEM and DER. */
  pem: string;
  der: Uint8Array;
  /** The issuers stored with it (intermediate), PEM. */
  issuersPem: string[];
  fingerprint: string;
}

export async function testCa(label = 'Registry Test'): Promise<CertificateAuthority> {
  const created = await createCa({ label, organization: 'Acme' });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.ca;
}

/** A certificate for `deviceId` (the CN) and `boardSerial`, from `keys` (a fresh P-256 key by default). */
export async function issueDevice(ca: CertificateAuthority, deviceId: string, boardSerial: string, options: { keys?: CryptoKeyPair; subjectTemplate?: string } = {}): Promise<IssuedDevice> {
  const keys = options.keys ?? (await deviceKeys());
  const subjectTemplate = options.subjectTemplate ?? 'CN={deviceId}, serialNumber={boardSerial}';
  const issued = await issueDeviceCertificate({ ca, csr: await makeCsr(keys), subjectTemplate, subjectValues: { deviceId, boardSerial }, validityDays: 365 });
  if (!issued.ok) throw new Error(issued.error.message);
  return { deviceId, boardSerial, pem: issued.value.pem, der: issued.value.der, issuersPem: issued.value.chain.map((der) => encodePem('CERTIFICATE', der)), fingerprint: issued.value.fingerprint };
}

/** What the registry holds for `device` after a registration. */
export async function registeredDevice(ca: CertificateAuthority, device: IssuedDevice): Promise<RegisteredDevice> {
  const checked = await checkRegistration({ chain: [device.pem, ...device.issuersPem].join('\n'), root: ca.root.certificate, source: 'provisioning' });
  if (!checked.ok) throw new Error(checked.error.message);
  return checked.value;
}

/** A Registry page row for a registered device, as `devicesFromRecords` builds it from the log and the registry. */
export function rowFor(registered: RegisteredDevice | null, fields: Partial<RegistryRow> & { deviceId: string }): RegistryRow {
  return {
    boardSerials: [],
    stations: ['0123456789abcdef'],
    keys: registered ? [{ keyId: '0x00000001', keyFingerprint: registered.keyFingerprint, certSerial: registered.certSerial, certFingerprint: registered.certFingerprint, destroyed: false }] : [],
    first: '2026-11-23T10:00:00.000Z',
    last: '2026-11-23T10:00:05.000Z',
    runs: 1,
    registered,
    keyMatches: registered ? true : null,
    ...fields,
  };
}
