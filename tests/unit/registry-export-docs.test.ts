/**
 * docs/exports.md cannot drift from the code: its samples (made by scripts/export-samples.ts) are
 * read back, the rows rebuilt from the generic JSON sample — the devices with their certificates —
 * and every export of those rows must equal its sample to the byte, the skipped devices included;
 * the AWS template block must be the template the code's parameters fill.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodePemAs, parseCertificate } from '../../src/lib/pki';
import type { RegisteredDevice } from '../../src/lib/registry';
import { AWS_BULK_TEMPLATE, REGISTRY_EXPORT_FORMATS, type RegistryKey, type RegistryRow } from '../../src/lib/state';
import { hexToBytes } from '../../src/lib/util/bytes';

const DOC = new URL('../../docs/exports.md', import.meta.url);

function samples(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of text.matchAll(/<!-- sample: ([a-z-]+) -->\n```[a-z]*\n([\s\S]*?)```\n/g)) found.set(match[1]!, match[2]!);
  return found;
}

interface JsonDevice {
  deviceId: string;
  boardSerials: string[];
  stations: string[];
  counter: number | null;
  firstProvisioned: string;
  lastProvisioned: string;
  keys: RegistryKey[];
  publicKey: string | null;
  certificateSubject: string | null;
  certificatePem: string | null;
}

/** The registry entry the sample's certificate stands for: what the exports read of it. */
function registered(device: JsonDevice): RegisteredDevice | null {
  if (!device.certificatePem) return null;
  const der = decodePemAs(device.certificatePem, 'CERTIFICATE');
  if (!der.ok) throw new Error(der.error.message);
  const certificate = der.value[0]!;
  const parsed = parseCertificate(certificate);
  if (!parsed.ok) throw new Error(parsed.error.message);
  expect(parsed.value.subject.text).toBe(device.certificateSubject);
  return {
    deviceId: device.deviceId,
    subject: device.certificateSubject!,
    certificate,
    publicKey: hexToBytes(device.publicKey!),
    certSerial: parsed.value.serialNumber,
    certFingerprint: createHash('sha256').update(certificate).digest('hex'),
  } as RegisteredDevice;
}

function rowOf(device: JsonDevice): RegistryRow {
  const entry = registered(device);
  return {
    deviceId: device.deviceId,
    boardSerials: device.boardSerials,
    stations: device.stations,
    keys: device.keys,
    ...(device.counter === null ? {} : { counter: device.counter }),
    first: device.firstProvisioned,
    last: device.lastProvisioned,
    runs: 1,
    registered: entry,
    keyMatches: null,
  };
}

describe('docs/exports.md', () => {
  const blocks = samples(readFileSync(DOC, 'utf8'));

  it('has a sample of every format, and of what each left out', () => {
    const expected = ['aws-template', ...REGISTRY_EXPORT_FORMATS.map((format) => format.id), 'aws-iot-skipped', 'nrf-cloud-skipped', 'azure-dps-skipped', 'c-header-skipped'];
    expect([...blocks.keys()].sort()).toEqual(expected.sort());
    for (const [id, text] of blocks) expect(text.length, id).toBeGreaterThan(0);
  });

  it('shows the AWS provisioning template the export fills', () => {
    expect(JSON.parse(blocks.get('aws-template')!)).toEqual(AWS_BULK_TEMPLATE);
  });

  it('each sample is exactly what the code makes of the devices in the JSON sample', () => {
    const rows = (JSON.parse(blocks.get('json')!) as JsonDevice[]).map(rowOf);
    expect(rows.filter((row) => row.registered).length).toBe(2);
    expect(rows.filter((row) => !row.registered).length).toBe(1);
    for (const format of REGISTRY_EXPORT_FORMATS) {
      const built = format.build(rows);
      expect(built.text.replace(/\r\n/g, '\n'), format.id).toBe(blocks.get(format.id));
      const skipped = blocks.get(`${format.id}-skipped`);
      expect(built.skipped.map((entry) => `${entry.deviceId}: ${entry.reason}\n`).join(''), `${format.id} skipped`).toBe(skipped ?? '');
    }
  });
});
