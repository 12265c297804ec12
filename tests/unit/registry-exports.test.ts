/**
 * The Registry page's exports on rows built from real certificates (a CA made here, device
 * certificates issued from CSRs): the exact structure of each format, read back with tools nobody
 * here wrote — python3's csv module for the CSVs, openssl for the certificates inside the AWS and
 * nRF Cloud files, gcc for the C header (compiled with -Wall -Werror and run to print its bytes
 * back). Devices a format cannot take are skipped with the reason; no export carries a secret.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { KnownSecrets } from '../../src/lib/audit';
import { refuseSecrets, secretInText } from '../../src/lib/audit/record';
import { type CertificateAuthority, decodePemAs } from '../../src/lib/pki';
import {
  AWS_BULK_TEMPLATE,
  awsIotBulkRegistration,
  azureDpsEnrollments,
  cHeader,
  exportUnavailable,
  genericCsv,
  genericJson,
  NO_CERTIFICATE,
  NRF_CLOUD_MAX_DEVICES,
  nrfCloudOnboarding,
  REGISTRY_CSV_COLUMNS,
  REGISTRY_EXPORT_FORMATS,
  type RegistryRow,
  skippedSummary,
} from '../../src/lib/state';
import { opensslAvailable, opensslWorkspace } from './support/pki';
import { issueDevice, registeredDevice, rowFor, testCa } from './support/registry-devices';
import type { RegisteredDevice } from '../../src/lib/registry';

const CC = '/usr/bin/cc';
const ccAvailable = existsSync(CC);
const python = spawnSync('python3', ['-c', 'import csv'], { encoding: 'utf8' });
const pythonAvailable = !python.error && python.status === 0;

let ca: CertificateAuthority;
let plain: RegisteredDevice;
let dotted: RegisteredDevice;
let coloned: RegisteredDevice;
let rows: RegistryRow[];
let devicePrivateScalar: Uint8Array;

beforeAll(async () => {
  ca = await testCa();
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  devicePrivateScalar = new Uint8Array(Buffer.from(((await crypto.subtle.exportKey('jwk', keys.privateKey)) as JsonWebKey).d!, 'base64url'));
  plain = await registeredDevice(ca, await issueDevice(ca, 'a1b2c3d4e5f60718', 'SN-0001', { keys }));
  dotted = await registeredDevice(ca, await issueDevice(ca, 'dev.2', 'SN-0002'));
  coloned = await registeredDevice(ca, await issueDevice(ca, 'dev:3', 'SN-0003'));
  rows = [
    rowFor(plain, { deviceId: plain.deviceId, boardSerials: ['SN-OLD', 'SN-0001'], counter: 7 }),
    rowFor(dotted, { deviceId: dotted.deviceId, boardSerials: ['SN-0002'] }),
    rowFor(coloned, { deviceId: coloned.deviceId, boardSerials: ['SN-0003'] }),
    rowFor(null, { deviceId: 'dev-4', boardSerials: ['=HYPERLINK("http://x")'], keys: [{ keyId: '0x00000001', keyFingerprint: 'ab'.repeat(32), destroyed: true }] }),
  ];
});


/** The SHA-256 fingerprint openssl computes for a PEM certificate, lowercase hex. */
function opensslFingerprint(pem: string): string {
  const ws = opensslWorkspace();
  try {
    ws.write('cert.pem', pem);
    const result = ws.run('x509', '-in', 'cert.pem', '-noout', '-fingerprint', '-sha256');
    if (result.status !== 0) throw new Error(result.output);
    return result.output.split('=')[1]!.trim().replace(/:/g, '').toLowerCase();
  } finally {
    ws.cleanup();
  }
}

/** Rows of a CSV text as python3's csv module reads them. */
function pythonCsv(text: string): string[][] {
  const read = spawnSync('python3', ['-c', 'import csv, io, json, sys; print(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline="")))))'], { input: text, encoding: 'utf8' });
  if (read.status !== 0) throw new Error(read.stderr);
  return JSON.parse(read.stdout) as string[][];
}

describe('AWS IoT bulk registration', () => {
  it('one flat JSON object of template parameters per line; ids AWS refuses and devices without a certificate are skipped', () => {
    const exported = awsIotBulkRegistration(rows);
    expect(exported.text.endsWith('\n')).toBe(true);
    const lines = exported.text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, string>);
    expect(lines).toEqual([
      { ThingName: 'a1b2c3d4e5f60718', SerialNumber: 'SN-0001', CertificatePem: expect.stringMatching(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/) },
      { ThingName: 'dev:3', SerialNumber: 'SN-0003', CertificatePem: expect.any(String) },
    ]);
    // Every line fills exactly the documented template's parameters.
    for (const line of lines) expect(Object.keys(line)).toEqual(Object.keys(AWS_BULK_TEMPLATE.Parameters));
    expect(decodePemAs(lines[0]!.CertificatePem!, 'CERTIFICATE')).toEqual({ ok: true, value: [plain.certificate] });
    expect(exported.skipped).toEqual([
      { deviceId: 'dev.2', reason: 'AWS IoT thing names take only letters, digits, “:”, “_” and “-”' },
      { deviceId: 'dev-4', reason: NO_CERTIFICATE },
    ]);
  });

  it.skipIf(!opensslAvailable)('openssl reads the certificate and gets the fingerprint the registry (and the log) hold', () => {
    const [line] = awsIotBulkRegistration(rows).text.split('\n');
    expect(opensslFingerprint((JSON.parse(line!) as { CertificatePem: string }).CertificatePem)).toBe(plain.certFingerprint);
  });
});

describe.skipIf(!pythonAvailable)('nRF Cloud onboarding CSV (read back with python3 csv)', () => {
  it('no header; device id, subtype, tags, firmware types, quoted PEM per row', () => {
    const exported = nrfCloudOnboarding(rows);
    const read = pythonCsv(exported.text);
    expect(read.map((row) => row.slice(0, 4))).toEqual([
      ['a1b2c3d4e5f60718', '', '', 'APP|MODEM'],
      ['dev.2', '', '', 'APP|MODEM'],
      ['dev:3', '', '', 'APP|MODEM'],
    ]);
    expect(read.map((row) => decodePemAs(row[4]!, 'CERTIFICATE'))).toEqual([plain, dotted, coloned].map((device) => ({ ok: true, value: [device.certificate] })));
    expect(exported.text.startsWith('a1b2c3d4e5f60718,,,APP|MODEM,"-----BEGIN CERTIFICATE-----\n')).toBe(true); // the PEM is not formula-escaped
    expect(exported.skipped).toEqual([{ deviceId: 'dev-4', reason: NO_CERTIFICATE }]);
    if (opensslAvailable) expect(opensslFingerprint(read[1]![4]!)).toBe(dotted.certFingerprint);

    const tagged = pythonCsv(nrfCloudOnboarding(rows.slice(0, 1), { subType: 'tracker', tags: ['line-1', 'batch-7'], fwTypes: ['APP'] }).text);
    expect(tagged[0]!.slice(0, 4)).toEqual(['a1b2c3d4e5f60718', 'tracker', 'line-1|batch-7', 'APP']);
  });

  it(`stops at ${NRF_CLOUD_MAX_DEVICES} devices a file, and says so`, () => {
    const many = Array.from({ length: NRF_CLOUD_MAX_DEVICES + 2 }, (_, i) => rowFor(plain, { deviceId: `dev-${i}` }));
    const exported = nrfCloudOnboarding(many);
    expect(pythonCsv(exported.text)).toHaveLength(NRF_CLOUD_MAX_DEVICES);
    expect(exported.skipped.map((entry) => entry.deviceId)).toEqual([`dev-${NRF_CLOUD_MAX_DEVICES}`, `dev-${NRF_CLOUD_MAX_DEVICES + 1}`]);
    expect(exported.skipped[0]!.reason).toContain('at most 1000 devices per file');
  });
});

describe('Azure DPS individual enrollments', () => {
  it('IndividualEnrollment objects with X.509 attestation; the certificate decodes to the registered DER', () => {
    const exported = azureDpsEnrollments(rows);
    const enrollments = JSON.parse(exported.text) as Array<Record<string, unknown>>;
    expect(enrollments).toEqual([
      { registrationId: 'a1b2c3d4e5f60718', deviceId: 'a1b2c3d4e5f60718', attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: expect.any(String) } } } }, provisioningStatus: 'enabled' },
      { registrationId: 'dev.2', deviceId: 'dev.2', attestation: { type: 'x509', x509: { clientCertificates: { primary: { certificate: expect.any(String) } } } }, provisioningStatus: 'enabled' },
    ]);
    const certificate = (enrollment: Record<string, unknown>) => (enrollment.attestation as { x509: { clientCertificates: { primary: { certificate: string } } } }).x509.clientCertificates.primary.certificate;
    expect(decodePemAs(certificate(enrollments[0]!), 'CERTIFICATE')).toEqual({ ok: true, value: [plain.certificate] });
    expect(decodePemAs(certificate(enrollments[1]!), 'CERTIFICATE')).toEqual({ ok: true, value: [dotted.certificate] });
    expect(exported.skipped).toEqual([
      { deviceId: 'dev:3', reason: 'the certificate’s CN “dev:3” is not a DPS registration id (letters, digits and . _ -, not at either end)' },
      { deviceId: 'dev-4', reason: NO_CERTIFICATE },
    ]);
  });
});

describe('generic JSON and CSV', () => {
  it('JSON: every device, the certificate where the registry has one', () => {
    const json = JSON.parse(genericJson(rows).text) as Array<Record<string, unknown>>;
    expect(json.map((entry) => [entry.deviceId, entry.certificatePem === null, entry.certificateSubject])).toEqual([
      ['a1b2c3d4e5f60718', false, 'CN=a1b2c3d4e5f60718, serialNumber=SN-0001'],
      ['dev.2', false, 'CN=dev.2, serialNumber=SN-0002'],
      ['dev:3', false, 'CN=dev:3, serialNumber=SN-0003'],
      ['dev-4', true, null],
    ]);
    expect(genericJson(rows).skipped).toEqual([]);
  });

  it.skipIf(!pythonAvailable)('CSV: the header, one row per device with aligned key lists, CRLF, formula cells made text', () => {
    const exported = genericCsv(rows);
    expect(exported.text.split('\r\n')).toHaveLength(rows.length + 2); // header, rows, the final CRLF
    const [header, ...records] = pythonCsv(exported.text);
    expect(header).toEqual([...REGISTRY_CSV_COLUMNS]);
    const first = Object.fromEntries(header!.map((column, i) => [column, records[0]![i]]));
    expect(first).toEqual({
      deviceId: 'a1b2c3d4e5f60718',
      boardSerials: 'SN-OLD;SN-0001',
      stations: '0123456789abcdef',
      counter: '7',
      firstProvisioned: '2026-11-23T10:00:00.000Z',
      lastProvisioned: '2026-11-23T10:00:05.000Z',
      keyIds: '0x00000001',
      keyFingerprints: plain.keyFingerprint,
      destroyedKeys: '',
      certSerials: plain.certSerial,
      certFingerprints: plain.certFingerprint,
      certificateSubject: 'CN=a1b2c3d4e5f60718, serialNumber=SN-0001',
      publicKey: Buffer.from(plain.publicKey).toString('hex'),
    });
    const last = Object.fromEntries(header!.map((column, i) => [column, records[3]![i]]));
    expect(last).toMatchObject({ deviceId: 'dev-4', boardSerials: `'=HYPERLINK("http://x")`, counter: '', destroyedKeys: '0x00000001', certSerials: '', certificateSubject: '', publicKey: '' });
  });
});

describe.skipIf(!ccAvailable)(`C header (${CC})`, () => {
  function compile(source: string, header: string, args: string[]): { status: number | null; output: string; run?: string } {
    const ws = opensslWorkspace();
    try {
      ws.write('imprint_devices.h', header);
      ws.write('main.c', source);
      const built = spawnSync(CC, [...args, '-o', `${ws.dir}/main`, `${ws.dir}/main.c`], { encoding: 'utf8' });
      if (built.status !== 0 || args.includes('-fsyntax-only')) return { status: built.status, output: built.stderr };
      const ran = spawnSync(`${ws.dir}/main`, { encoding: 'utf8' });
      return { status: ran.status, output: ran.stderr, run: ran.stdout };
    } finally {
      ws.cleanup();
    }
  }
  const STRICT = ['-std=c11', '-Wall', '-Wextra', '-Werror', '-pedantic'];

  it('compiles with -Wall -Werror, and a program reading it prints back every id, certificate and public key', () => {
    const exported = cHeader(rows);
    expect(exported.skipped).toEqual([{ deviceId: 'dev-4', reason: NO_CERTIFICATE }]);
    expect(exported.text).toMatch(/^\/\*[\s\S]*#ifndef IMPRINT_DEVICES_H\n#define IMPRINT_DEVICES_H\n/);
    expect(exported.text).toContain('static const char imprint_device_0_id[] IMPRINT_UNUSED = "a1b2c3d4e5f60718";');
    expect(exported.text).toContain('static const unsigned char imprint_device_0_cert_der[');
    expect(exported.text).toContain(`static const size_t imprint_device_0_cert_der_len IMPRINT_UNUSED = ${plain.certificate.length};`);
    expect(exported.text.trimEnd().endsWith('#endif /* IMPRINT_DEVICES_H */')).toBe(true);
    expect(compile('#include "imprint_devices.h"\n', exported.text, ['-fsyntax-only', ...STRICT])).toEqual({ status: 0, output: '' });

    const printer = [
      '#include <stdio.h>',
      '#include "imprint_devices.h"',
      'static void hex(const unsigned char *bytes, size_t length) { for (size_t i = 0; i < length; i++) printf("%02x", bytes[i]); printf("\\n"); }',
      'int main(void) {',
      '  for (size_t n = 0; n < IMPRINT_DEVICE_COUNT; n++) {',
      '    const struct imprint_device *device = &imprint_devices[n];',
      '    printf("%s\\n", device->id);',
      '    hex(device->cert_der, device->cert_der_len);',
      '    hex(device->public_key, device->public_key_len);',
      '  }',
      '  return imprint_device_0_cert_der_len == sizeof(imprint_device_0_cert_der) ? 0 : 1;',
      '}',
    ].join('\n');
    const ran = compile(printer, exported.text, STRICT);
    expect(ran.status, ran.output).toBe(0);
    const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    expect(ran.run).toBe([plain, dotted, coloned].map((device) => `${device.deviceId}\n${hexOf(device.certificate)}\n${hexOf(device.publicKey)}\n`).join(''));
  });

  it('any device id makes a valid string literal; no device makes a valid empty header', () => {
    const odd = { ...plain, deviceId: 'q"u\\o?t\ne*/é' };
    const exported = cHeader([rowFor(odd, { deviceId: odd.deviceId })]);
    const ran = compile('#include <stdio.h>\n#include "imprint_devices.h"\nint main(void) { fputs(imprint_devices[0].id, stdout); return 0; }\n', exported.text, STRICT);
    expect(ran.run).toBe(odd.deviceId);
    const empty = cHeader([]);
    expect(empty.text).toContain('#define IMPRINT_DEVICE_COUNT 0');
    expect(compile('#include "imprint_devices.h"\n', empty.text, ['-fsyntax-only', ...STRICT])).toEqual({ status: 0, output: '' });
  });
});

describe('every export', () => {
  it('holds no secret: the audit guard finds none, not even the device key it was made for', () => {
    const known = new KnownSecrets();
    known.add(devicePrivateScalar, 'the device private key');
    // The guard would see the key if an export carried it: the check can fail.
    expect(secretInText(`x ${Buffer.from(devicePrivateScalar).toString('hex')} y`, known)).not.toBeNull();
    for (const format of REGISTRY_EXPORT_FORMATS) {
      const { text } = format.build(rows);
      expect(text.length, format.id).toBeGreaterThan(0);
      expect(secretInText(text, known), format.id).toBeNull();
      expect(refuseSecrets({ [format.id]: text }, known).ok, format.id).toBe(true);
    }
  });

  it('the page disables a format with the reason when no row shown has what it needs, and sums up the skipped', () => {
    const json = REGISTRY_EXPORT_FORMATS.find((format) => format.id === 'json')!;
    const aws = REGISTRY_EXPORT_FORMATS.find((format) => format.id === 'aws-iot')!;
    expect(exportUnavailable(aws, [rows[3]!])).toBe('No device shown has a certificate in the device registry.');
    expect(exportUnavailable(json, [rows[3]!])).toBeNull();
    expect(exportUnavailable(json, [])).toBe('No device shown.');
    expect(exportUnavailable(aws, rows)).toBeNull();
    expect(skippedSummary(azureDpsEnrollments(rows).skipped)).toEqual([
      '1 device skipped: the certificate’s CN “dev:3” is not a DPS registration id (letters, digits and . _ -, not at either end) (dev:3).',
      `1 device skipped: ${NO_CERTIFICATE} (dev-4).`,
    ]);
    expect(skippedSummary(Array.from({ length: 7 }, (_, i) => ({ deviceId: `d${i}`, reason: 'r' })))).toEqual(['7 devices skipped: r (d0, d1, d2, d3, d4, and 2 more).']);
  });
});
