/**
 * The C header export: the public material of the registry rows shown, for firmware builds — per
 * device its id, certificate (DER) and public key (SEC1 uncompressed P-256) as byte arrays with
 * their lengths, and a table over them. Public material only, ever: nothing else is in a row.
 *
 * Names are `imprint_device_<n>_…` by position, so any device id makes a valid identifier; the id
 * itself is a string literal, every byte outside printable ASCII (and `"`, `\`, `?`) written as an
 * octal escape, and text in comments cannot close the comment. Everything is `static const` and
 * marked unused, so a translation unit that includes the header and uses one device still builds
 * with `-Wall -Werror`.
 */
import type { RegisteredDevice } from '../registry';
import { bytesToHex, utf8 } from '../util/bytes';
import type { RegistryExport } from './registry-exports';
import { NO_CERTIFICATE } from './registry-exports';
import type { RegistryRow } from './registry-view.svelte';

export const C_HEADER_GUARD = 'IMPRINT_DEVICES_H';
const BYTES_PER_LINE = 12;

/**
 * @example cHeader(rows).text // '…static const unsigned char imprint_device_0_cert_der[] IMPRINT_UNUSED = {\n\t0x30, 0x82, …'
 */
export function cHeader(rows: readonly RegistryRow[]): RegistryExport {
  const devices: RegisteredDevice[] = [];
  const skipped = [];
  for (const row of rows) {
    if (row.registered) devices.push(row.registered);
    else skipped.push({ deviceId: row.deviceId, reason: NO_CERTIFICATE });
  }
  const parts = [
    '/*',
    ` * Public material of ${devices.length} device${devices.length === 1 ? '' : 's'} from Imprint's device registry (docs/exports.md):`,
    ' * device ids, certificates (DER) and public keys (SEC1 uncompressed P-256). No secret.',
    ' */',
    `#ifndef ${C_HEADER_GUARD}`,
    `#define ${C_HEADER_GUARD}`,
    '',
    '#include <stddef.h>',
    '',
    '#if defined(__GNUC__) || defined(__clang__)',
    '#define IMPRINT_UNUSED __attribute__((unused))',
    '#else',
    '#define IMPRINT_UNUSED',
    '#endif',
    '',
    `#define IMPRINT_DEVICE_COUNT ${devices.length}`,
    '',
    'struct imprint_device {',
    '\tconst char *id;',
    '\tconst unsigned char *cert_der;',
    '\tsize_t cert_der_len;',
    '\tconst unsigned char *public_key;',
    '\tsize_t public_key_len;',
    '};',
    '',
    ...devices.flatMap((device, n) => deviceBlock(device, n)),
    ...(devices.length === 0 ? [] : table(devices.length)),
    `#endif /* ${C_HEADER_GUARD} */`,
  ];
  return { text: `${parts.join('\n')}\n`, skipped };
}

function deviceBlock(device: RegisteredDevice, n: number): string[] {
  const name = `imprint_device_${n}`;
  return [
    `/* ${commentText(device.deviceId)}: ${commentText(device.subject)}; certificate serial ${device.certSerial}, SHA-256 ${device.certFingerprint} */`,
    `static const char ${name}_id[] IMPRINT_UNUSED = ${cString(device.deviceId)};`,
    ...byteArray(`${name}_cert_der`, device.certificate),
    ...byteArray(`${name}_public_key`, device.publicKey),
    '',
  ];
}

function byteArray(name: string, bytes: Uint8Array): string[] {
  const hex = bytesToHex(bytes).match(/../g) ?? [];
  const rows: string[] = [];
  for (let i = 0; i < hex.length; i += BYTES_PER_LINE) rows.push(`\t${hex.slice(i, i + BYTES_PER_LINE).map((byte) => `0x${byte}`).join(', ')},`);
  return [`static const unsigned char ${name}[${bytes.length}] IMPRINT_UNUSED = {`, ...rows, '};', `static const size_t ${name}_len IMPRINT_UNUSED = ${bytes.length};`];
}

function table(count: number): string[] {
  const entries = Array.from({ length: count }, (_, n) => {
    const name = `imprint_device_${n}`;
    return `\t{ ${name}_id, ${name}_cert_der, sizeof(${name}_cert_der), ${name}_public_key, sizeof(${name}_public_key) },`;
  });
  return ['static const struct imprint_device imprint_devices[IMPRINT_DEVICE_COUNT] IMPRINT_UNUSED = {', ...entries, '};', ''];
}

/**
 * A C string literal holding `text`'s UTF-8 bytes exactly.
 * @example cString('a"b') === '"a\\042b"'
 */
export function cString(text: string): string {
  let out = '';
  for (const byte of utf8.encode(text)) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c && byte !== 0x3f;
    out += printable ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return `"${out}"`;
}

/** Text for a `/* … *\/` comment: printable ASCII only, and it cannot end the comment. */
function commentText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').replace(/\*\//g, '*\\/');
}
