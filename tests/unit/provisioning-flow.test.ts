/**
 * The provisioning flow end to end against the simulated board: every shipped profile, every
 * certification path (CSR from the board, CSR in the generate answer, proof of possession — chosen
 * or because the board builds no CSRs —, a key made in the browser and imported sealed), the
 * issued certificate checked by openssl against the CA's root and intermediate, what the board
 * holds afterwards, the event stream, re-provisioning only on the operator's word, and the audit
 * trail (paired intents and outcomes, the real IndexedDB log's export verifying).
 */
import 'fake-indexeddb/auto';
import { x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { exportJsonl, verifyExport } from '../../src/lib/audit';
import { KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID } from '../../src/lib/device/keys-ids';
import { parseCertificate, readPrivateScalar } from '../../src/lib/pki';
import {
  auditLogSink,
  type KeysGroupProfile,
  planProvisioning,
  type ProfileKey,
  SETTINGS_ONLY_PROFILE,
  SUPERVISOR_PROFILE,
  TFM_SAMPLE_PROFILE,
} from '../../src/lib/provisioning';
import { bytesToHex, concatBytes, hexToBytes } from '../../src/lib/util/bytes';
import { openTestLog } from './support/audit-fixture';
import {
  failedWith,
  openStandardStation,
  openStation,
  opensslAvailable,
  opensslVerify,
  pairedRecords,
  pkcs8Pem,
  provision,
  rawScalar,
  sharedCa,
  succeeded,
  tfmKnownValues,
} from './support/provisioning';

const OPENSSL_SKIP = 'openssl not found at /usr/bin/openssl: the issued certificates are not cross-checked';

/** tfm-sample with some keys changed: each certification path is one key setting. */
function tfmWith(patches: Record<string, Partial<ProfileKey>>): KeysGroupProfile {
  return { ...TFM_SAMPLE_PROFILE, keys: TFM_SAMPLE_PROFILE.keys.map((key) => ({ ...key, ...patches[key.label] })) };
}

function sentCommands(exchanges: { direction: string; command: string }[]): string[] {
  return exchanges.filter((exchange) => exchange.direction === 'tx').map((exchange) => exchange.command);
}

/** Every device certificate the tests below issue, for openssl to verify at the end of the file. */
const issued: [string, string][] = [];
function crossCheck(what: string, pem: string): void {
  issued.push([what, pem]);
}

describe('tfm-sample', () => {
  it('makes three P-256 keys at ids 1, 2, 3 and certifies the third through a CSR built by the board', async () => {
    const station = await openStation();
    const knownValues = await tfmKnownValues();
    const provisioned = await provision(station, TFM_SAMPLE_PROFILE, { knownValues });
    const result = succeeded(provisioned);
    const ca = await sharedCa();

    expect(result.keys.map((key) => [key.label, key.keyId, key.alg, key.source, key.path])).toEqual([
      ['random', '0x00000001', 'p256', 'board', null],
      ['known', '0x00000002', 'p256', 'operator', null],
      ['certified', '0x00000003', 'p256', 'operator', 'csr'],
    ]);
    expect(result.primaryKey).toBe('certified');
    expect(result.path).toBe('csr');
    expect(result.deviceId).toBe(bytesToHex(station.device.keys.deviceId));
    expect(result.clearTextSecrets).toBe(false);

    // The board holds what the result says: the public keys, the operator's values, the chain.
    const store = station.device.keys.store;
    for (const key of result.keys) expect(bytesToHex(store.peek(key.id!)!.publicKey!)).toBe(key.publicKey);
    expect(result.keys[1]!.publicKey).toBe(bytesToHex(p256.getPublicKey(knownValues.known as Uint8Array, false)));
    const certifiedScalar = readPrivateScalar(knownValues.certified!, 'P-256');
    expect(certifiedScalar.ok && bytesToHex(p256.getPublicKey(certifiedScalar.value, false))).toBe(result.keys[2]!.publicKey);
    const certificate = result.certificate!;
    const leaf = parseCertificate(certificate.pem);
    expect(leaf.ok).toBe(true);
    if (!leaf.ok) return;
    expect(bytesToHex(store.peek(3)!.cert!)).toBe(bytesToHex(concatBytes(leaf.value.der, ca.intermediate.certificate)));
    expect(store.peek(1)!.cert).toBeNull();
    expect(certificate.subject).toBe(`CN=${result.deviceId}, serialNumber=SIM-0001`);
    expect(certificate.serialNumber).toBe(leaf.value.serialNumber);
    expect(bytesToHex(leaf.value.publicKey.point!)).toBe(result.keys[2]!.publicKey);
    crossCheck(expect.getState().currentTestName ?? '', certificate.pem);
  });

  it('emits started and done for every planned step in order, with timings that add up', async () => {
    const station = await openStation();
    const { run, plan, events } = await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() });
    expect(run.ok).toBe(true);
    expect(events[0]).toMatchObject({ type: 'run-started', plan });
    expect(events.at(-1)).toMatchObject({ type: 'run-done' });
    const stepEvents = events.filter((event) => event.type === 'step-started' || event.type === 'step-done');
    expect(stepEvents.map((event) => `${event.type}:${'step' in event ? event.step.id : ''}`)).toEqual(plan.steps.flatMap((step) => [`step-started:${step.id}`, `step-done:${step.id}`]));
    const progress = events.filter((event) => event.type === 'step-progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ sent: expect.any(Number), total: expect.any(Number) });
    if (!run.ok) return;
    const { timings } = run.value;
    expect(timings.steps.map((step) => step.step)).toEqual([...plan.steps.map((step) => step.id), 'run']);
    for (const step of timings.steps.slice(0, -1)) expect(step.ms + 0.05).toBeGreaterThanOrEqual(step.boardMs + step.cryptoMs + step.auditMs - 0.05);
    expect(timings.totalMs).toBeGreaterThanOrEqual(timings.boardMs + timings.cryptoMs + timings.auditMs - 1);
    expect(timings.cryptoMs).toBeGreaterThan(0);
    expect(timings.steps.find((step) => step.step === 'issue:certified')!.boardMs).toBe(0);
  });

  it('takes the CSR from the generate answer when the profile says generate-csr (no csr command sent)', async () => {
    const station = await openStation();
    const profile = tfmWith({ random: { certificate: 'generate-csr' }, certified: { certificate: 'none' } });
    const result = succeeded(await provision(station, profile, { knownValues: await tfmKnownValues() }));
    expect(result.primaryKey).toBe('random');
    expect(result.path).toBe('generate-csr');
    expect(sentCommands(station.exchanges)).not.toContain('keys/csr');
    crossCheck(expect.getState().currentTestName ?? '', result.certificate!.pem);
  });

  it('has the board build a CSR for a key it generated', async () => {
    const station = await openStation();
    const result = succeeded(await provision(station, tfmWith({ random: { certificate: 'csr' }, certified: { certificate: 'none' } }), { knownValues: await tfmKnownValues() }));
    expect(result.path).toBe('csr');
    expect(sentCommands(station.exchanges)).toContain('keys/csr');
    crossCheck(expect.getState().currentTestName ?? '', result.certificate!.pem);
  });

  it('certifies the bare public key after proof of possession, and the audit records that path', async () => {
    const station = await openStation();
    const provisioned = await provision(station, tfmWith({ certified: { certificate: 'proof-of-possession' } }), { knownValues: await tfmKnownValues() });
    const result = succeeded(provisioned);
    expect(result.path).toBe('proof-of-possession');
    const sent = sentCommands(station.exchanges);
    expect(sent).not.toContain('keys/csr');
    expect(sent.filter((command) => command === 'keys/sign')).toHaveLength(2); // the proof, then the fresh signature after storing
    const issue = provisioned.audit.records.find((record) => record.action === 'ca.issue' && record.phase === 'intent')!;
    expect(issue.details?.path).toBe('proof-of-possession');
    crossCheck(expect.getState().currentTestName ?? '', result.certificate!.pem);
  });

  it('falls back to proof of possession when the board cannot build CSRs (auto)', async () => {
    const station = await openStation();
    station.device.board.register(KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID.CSR, {}); // firmware without the csr command
    const provisioned = await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() });
    const result = succeeded(provisioned);
    expect(result.path).toBe('proof-of-possession');
    const certify = provisioned.events.find((event) => event.type === 'step-done' && event.step.id === 'certify:certified');
    expect(certify).toMatchObject({ detail: expect.stringContaining('builds no CSRs') });
    crossCheck(expect.getState().currentTestName ?? '', result.certificate!.pem);
  });

  it('imports a key made in the browser, sealed to the transport key, and certifies it', async () => {
    const station = await openStation();
    const profile = tfmWith({ certified: { source: 'browser' } });
    const plan = planProvisioning(profile);
    expect(plan.ok && plan.value.operatorValues).toEqual(['known']);
    const result = succeeded(await provision(station, profile, { knownValues: { known: rawScalar() } }));
    const certified = result.keys.find((key) => key.label === 'certified')!;
    expect(certified.source).toBe('browser');
    expect(bytesToHex(station.device.keys.store.peek(3)!.publicKey!)).toBe(certified.publicKey);
    expect(sentCommands(station.exchanges).filter((command) => command === 'keys/import')).toHaveLength(2);
    crossCheck(expect.getState().currentTestName ?? '', result.certificate!.pem);
  });

  it('picks free ids for keys whose id the profile leaves open', async () => {
    const station = await openStation();
    const seed = await station.board.keys.generate({ alg: 'p256', id: 1 });
    expect(seed.ok).toBe(true);
    const result = succeeded(await provision(station, tfmWith({ random: { id: null }, known: { id: null }, certified: { id: 7 } }), { knownValues: await tfmKnownValues() }));
    expect(result.keys.map((key) => key.keyId)).toEqual(['0x00000002', '0x00000003', '0x00000007']);
  });
});

describe('supervisor', () => {
  it('generates an X25519 key on the board, records its public key and sets the session counter', async () => {
    const station = await openStation();
    const provisioned = await provision(station, SUPERVISOR_PROFILE);
    const result = succeeded(provisioned);
    const [key] = result.keys;
    expect(key).toMatchObject({ label: 'supervisor', keyId: '0x00000010', alg: 'x25519', path: null, certificate: null });
    expect(key!.publicKey).toBe(bytesToHex(station.device.keys.store.peek(0x10)!.publicKey!));
    expect(key!.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEA/);
    expect(result.counter).toBe(1);
    expect(station.device.keys.store.counter).toBe(1n);
    const keyRecord = provisioned.audit.records.find((record) => record.action === 'keys.generate' && record.phase === 'outcome')!;
    expect(keyRecord.keyFingerprint).toBe(key!.spkiFingerprint);
    const counterRecord = provisioned.audit.records.find((record) => record.action === 'keys.counter-set' && record.phase === 'outcome')!;
    expect(counterRecord).toMatchObject({ result: 'ok', counter: 1 });
  });

  it('imports a known X25519 scalar sealed, and never lowers a counter that is already higher', async () => {
    const station = await openStation();
    expect((await station.board.keys.setCounter(50)).ok).toBe(true);
    const scalar = crypto.getRandomValues(new Uint8Array(32));
    const profile: KeysGroupProfile = { ...SUPERVISOR_PROFILE, keys: [{ ...SUPERVISOR_PROFILE.keys[0]!, source: 'operator' }] };
    const provisioned = await provision(station, profile, { knownValues: { supervisor: bytesToHex(scalar) } });
    const result = succeeded(provisioned);
    expect(result.keys[0]!.publicKey).toBe(bytesToHex(x25519.getPublicKey(scalar)));
    expect(result.counter).toBe(50);
    expect(provisioned.events.find((event) => event.type === 'step-skipped')).toMatchObject({ step: { id: 'counter' }, reason: expect.stringContaining('never lowered') });
  });
});

describe('settings-only', () => {
  it('writes key, certificate, chain and counter through the settings group, in the clear, and says so', async () => {
    const station = await openStandardStation();
    const plan = planProvisioning(SETTINGS_ONLY_PROFILE);
    expect(plan.ok && plan.value.clearTextSecrets).toBe(true);
    const provisioned = await provision(station, SETTINGS_ONLY_PROFILE);
    const result = succeeded(provisioned);
    const ca = await sharedCa();
    expect(result.clearTextSecrets).toBe(true);
    expect(result.settings).toEqual(['imprint/key', 'imprint/cert', 'imprint/chain', 'imprint/counter']);
    expect(result.path).toBe('browser-key');
    expect(result.deviceId).toBe('SIM-0001');

    const { stored, runtime } = station.device.settings;
    expect(bytesToHex(p256.getPublicKey(stored.get('imprint/key')!, false))).toBe(result.keys[0]!.publicKey);
    const leaf = parseCertificate(result.certificate!.pem);
    expect(leaf.ok && bytesToHex(stored.get('imprint/cert')!)).toBe(leaf.ok && bytesToHex(leaf.value.der));
    expect(bytesToHex(stored.get('imprint/chain')!)).toBe(bytesToHex(ca.intermediate.certificate));
    expect(bytesToHex(stored.get('imprint/counter')!)).toBe('0100000000000000');
    expect(station.device.settings.commits()).toBe(1);
    station.device.board.reboot();
    expect([...runtime.keys()].sort()).toEqual([...stored.keys()].sort());

    const runIntent = provisioned.audit.records.find((record) => record.action === 'provision.run')!;
    expect(runIntent.details?.plaintextOnWire).toBe('true');
    const writes = provisioned.audit.records.filter((record) => record.action === 'settings.write');
    expect(writes).toHaveLength(8);
    for (const write of writes) expect(write.details?.plaintextOnWire).toBe('true');
    crossCheck(expect.getState().currentTestName ?? '', result.certificate!.pem);
  });

  it('takes the device key and an extra secret from the operator', async () => {
    const station = await openStandardStation();
    const profile = { ...SETTINGS_ONLY_PROFILE, keySource: 'operator' as const, settings: [...SETTINGS_ONLY_PROFILE.settings, { name: 'imprint/psk', content: 'operator-secret' as const, label: 'psk' }] };
    const psk = crypto.getRandomValues(new Uint8Array(16));
    const device = await pkcs8Pem();
    const result = succeeded(await provision(station, profile, { knownValues: { device, psk } }));
    const scalar = readPrivateScalar(device, 'P-256');
    expect(scalar.ok && bytesToHex(station.device.settings.stored.get('imprint/key')!)).toBe(scalar.ok && bytesToHex(scalar.value));
    expect(bytesToHex(station.device.settings.stored.get('imprint/psk')!)).toBe(bytesToHex(psk));
    expect(result.keys[0]!.source).toBe('operator');
  });

  it('refuses a keys-group profile on a board with only the standard groups, pointing at settings-only', async () => {
    const station = await openStandardStation();
    const failure = failedWith(await provision(station, SUPERVISOR_PROFILE));
    expect(failure.error.code).toBe('board-unsupported');
    expect(failure.message).toContain('settings-only');
    expect(failure).toMatchObject({ boardState: 'unchanged', next: 'fix-and-retry', step: { id: 'identity' } });
  });
});

describe('re-provisioning needs the operator to choose it', () => {
  it('reports a provisioned board and changes nothing; with reprovision it replaces the keys', async () => {
    const station = await openStation();
    const knownValues = await tfmKnownValues();
    const first = succeeded(await provision(station, TFM_SAMPLE_PROFILE, { knownValues }));
    const before = station.device.keys.store.ids().map((id) => bytesToHex(station.device.keys.store.peek(id)!.publicKey!));

    const again = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues }));
    expect(again.error.code).toBe('already-provisioned');
    expect(again).toMatchObject({ boardState: 'unchanged', next: 'reprovision', step: { id: 'key-ids' } });
    expect(again.message).toMatch(/0x00000001 \(p256, no certificate\).*0x00000003 \(p256, certificate \d+ bytes\)/);
    expect(station.device.keys.store.ids().map((id) => bytesToHex(station.device.keys.store.peek(id)!.publicKey!))).toEqual(before);

    const provisioned = await provision(station, TFM_SAMPLE_PROFILE, { knownValues, reprovision: true });
    const replaced = succeeded(provisioned);
    expect(replaced.reprovisioned).toBe(true);
    expect(replaced.keys.every((key) => key.replaced)).toBe(true);
    expect(replaced.keys[0]!.publicKey).not.toBe(first.keys[0]!.publicKey); // a fresh random key
    expect(replaced.keys[1]!.publicKey).toBe(first.keys[1]!.publicKey); // the same known value
    expect(replaced.certificate!.serialNumber).not.toBe(first.certificate!.serialNumber);
    expect(provisioned.audit.records.filter((record) => record.details?.replace === 'true' && record.phase === 'intent')).toHaveLength(3);
  });

  it('calls other keys at the planned ids a conflict', async () => {
    const station = await openStation();
    expect((await station.board.keys.generate({ alg: 'x25519', id: 2 })).ok).toBe(true);
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() }));
    expect(failure.error.code).toBe('key-id-conflict');
    expect(failure.message).toContain('0x00000002 (x25519');
    expect(station.device.keys.store.ids()).toEqual([2]);
  });

  it('settings-only: an already written name is reported, and overwritten only with reprovision', async () => {
    const station = await openStandardStation();
    succeeded(await provision(station, SETTINGS_ONLY_PROFILE));
    const again = failedWith(await provision(station, SETTINGS_ONLY_PROFILE));
    expect(again.error.code).toBe('already-provisioned');
    const result = succeeded(await provision(station, SETTINGS_ONLY_PROFILE, { reprovision: true }));
    expect(result.keys[0]!.replaced).toBe(true);
  });
});

describe('audit trail', () => {
  it('pairs every intent with one outcome and brackets the run in provision.run', async () => {
    const station = await openStation();
    const { audit, run } = await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() });
    expect(run.ok).toBe(true);
    expect(pairedRecords(audit)).toBe(true);
    expect(audit.openIntents()).toEqual([]);
    expect(audit.records.map((record) => `${record.action}:${record.phase}`)).toEqual([
      'provision.run:intent',
      'keys.generate:intent',
      'keys.generate:outcome',
      'keys.import:intent',
      'keys.import:outcome',
      'keys.import:intent',
      'keys.import:outcome',
      'ca.issue:intent',
      'ca.issue:outcome',
      'keys.cert-store:intent',
      'keys.cert-store:outcome',
      'provision.run:outcome',
    ]);
    const closing = audit.records.at(-1)!;
    expect(run.ok && closing).toMatchObject({ result: 'ok', deviceId: run.ok ? run.value.deviceId : '', certFingerprint: run.ok ? run.value.certificate!.fingerprint : '', keyId: '0x00000003' });
  });

  it('writes through the IndexedDB audit log, whose export verifies', async () => {
    const station = await openStation();
    const log = await openTestLog();
    try {
      const result = succeeded(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues(), audit: auditLogSink(log) }));
      const exported = await exportJsonl(log);
      expect(exported.ok).toBe(true);
      if (!exported.ok) return;
      const report = await verifyExport(exported.value);
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(exported.value).toContain(result.certificate!.fingerprint);
      expect((await log.unreconciledIntents()).ok && (await log.unreconciledIntents())).toMatchObject({ value: [] });
    } finally {
      log.close();
    }
  });

  it('stops before the board when the audit log refuses the run record', async () => {
    const station = await openStation();
    const refusing = { intent: async () => ({ ok: false as const, error: { code: 'audit-storage', message: 'quota exceeded' } }), outcome: async () => ({ ok: true as const, value: undefined }) };
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues(), audit: refusing }));
    expect(failure.error.code).toBe('audit-failed');
    expect(failure.boardState).toBe('unchanged');
    expect(sentCommands(station.exchanges).filter((command) => command.startsWith('keys/'))).toEqual([]);
  });
});

describe('before the board is touched', () => {
  it('refuses a run without the operator values, a CA or a serial', async () => {
    const station = await openStation();
    expect(failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: { known: rawScalar() } })).error).toMatchObject({ code: 'known-value-missing', message: expect.stringContaining('"certified"') });
    expect(failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues(), ca: null })).error.code).toBe('ca-missing');
    expect(failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues(), boardSerial: ' ' })).error.code).toBe('subject-invalid');
    const bound = { ...TFM_SAMPLE_PROFILE, caId: 'ab'.repeat(32) };
    expect(failedWith(await provision(station, bound, { knownValues: await tfmKnownValues() })).error.code).toBe('ca-mismatch');
    expect(sentCommands(station.exchanges).filter((command) => command.startsWith('keys/'))).toEqual([]);
  });

  it('refuses an operator value that is not a P-256 key, before anything is made', async () => {
    const station = await openStation();
    const order = hexToBytes('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'); // n: not a scalar
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: { known: order, certified: await pkcs8Pem() } }));
    expect(failure.error).toMatchObject({ code: 'known-value-invalid', key: 'known' });
    expect(failure.boardState).toBe('unchanged');
    expect(sentCommands(station.exchanges).filter((command) => command.startsWith('keys/'))).toEqual([]);
  });

  it('a locked board is reported and left alone', async () => {
    const station = await openStation();
    expect((await station.board.keys.lock()).ok).toBe(true);
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() }));
    expect(failure.error.code).toBe('board-locked');
    expect(failure.boardState).toBe('unchanged');
  });
});

describe('group id from the profile', () => {
  it('talks to the keys group at the id the profile names', async () => {
    const station = await openStation({ keys: { group: 77 } });
    const result = succeeded(await provision(station, { ...SUPERVISOR_PROFILE, keysGroup: 77 }));
    expect(result.keys[0]!.keyId).toBe('0x00000010');
    expect(sentCommands(station.exchanges)).toContain('keys/generate');
    expect(station.exchanges.some((exchange) => exchange.header.group === KEYS_MGMT_GROUP_DEFAULT)).toBe(false);
  });
});

describe('openssl', () => {
  it.skipIf(!opensslAvailable)(opensslAvailable ? 'openssl verify accepts every device certificate issued above' : `openssl verify of the issued certificates: ${OPENSSL_SKIP}`, async () => {
    const ca = await sharedCa();
    expect(issued.length).toBe(7);
    for (const [what, pem] of issued) {
      const verified = opensslVerify(ca, pem);
      expect(verified.output, what).toBe('device.pem: OK');
      expect(verified.status, what).toBe(0);
    }
  });
});
