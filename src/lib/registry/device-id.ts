/**
 * Device ids: what the registry keys devices by, the telemetry payload names and the MQTT topic
 * carries (`imprint/<deviceId>/telemetry`). Taken from the certificate subject, so a device
 * cannot name itself: CN by default (Imprint's template puts the board's device id there),
 * serialNumber when the profile says so.
 */
import type { ParsedName } from '../pki';

/** One MQTT topic level without wildcards or separators, at most 64 characters (the CN bound). */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** Subject attributes a device id may come from, by OID (X.520). */
export const DEVICE_ID_ATTRIBUTES = { CN: '2.5.4.3', serialNumber: '2.5.4.5' } as const;
export type DeviceIdAttribute = keyof typeof DEVICE_ID_ATTRIBUTES;

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID_PATTERN.test(value);
}

/**
 * The value of `attribute` in `subject` (the first one, as openssl shows it), or null.
 * @example deviceIdFromSubject(leaf.subject, 'CN') // 'be94903e5b1a22588ed9b4f58fb8b3f3'
 */
export function deviceIdFromSubject(subject: ParsedName, attribute: DeviceIdAttribute = 'CN'): string | null {
  const oid = DEVICE_ID_ATTRIBUTES[attribute];
  return subject.attributes.find((entry) => entry.oid === oid)?.value ?? null;
}
