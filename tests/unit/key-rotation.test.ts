/**
 * Key rotation against the simulated board: the new key is made, certified under the same subject
 * and stored before the old one is destroyed; the audit trail holds the rotation's intent and
 * outcome around the run's own records; a board that refuses leaves the old key in place.
 */
import { describe, expect, it } from 'vitest';
import { parseCertificate, splitCertificateChain, verifyChain } from '../../src/lib/pki';
import { MemoryAuditSink, rotateKey, subjectFrom, SUPERVISOR_PROFILE, TFM_SAMPLE_PROFILE, type KeyToRotate } from '../../src/lib/provisioning';
import { keyFingerprint } from '../../src/lib/state/key-view';
import { bytesToHex } from '../../src/lib/util/bytes';
import { openStation, pairedRecords, provision, sharedCa, succeeded, tfmKnownValues, type Station } from './support/provisioning';

/** The key at `id` as the board lists it, in the form rotateKey takes. */
async function keyOnBoard(station: Station, id: number): Promise<KeyToRotate> {
  const list = await station.board.keys.list();
  if (!list.ok) throw new Error(list.error.message);
  const entry = list.value.find((candidate) => candidate.id === id);
  if (!entry) throw new Error(`no key ${id} on the board`);
  const publicKey = await station.board.keys.publicKey(id);
  if (!publicKey.ok) throw new Error(publicKey.error.message);
  const chain = entry.certBytes > 0 ? await station.board.keys.readCertificate(id) : null;
  const certificate = chain?.ok && chain.value ? splitCertificateChain(chain.value) : null;
  return { id, alg: entry.alg, usage: entry.usage, fingerprint: await keyFingerprint(entry.alg, publicKey.value.publicKey ?? null), certificate: certificate?.ok ? certificate.value[0]! : null };
}

function deviceIdOf(station: Station): string {
  return bytesToHex(station.device.keys.deviceId);
}

describe('rotateKey', () => {
  it('replaces a certified P-256 key: new id, same subject, chain to the CA, old key gone, audited', async () => {
    const station = await openStation();
    succeeded(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() }));
    const old = await keyOnBoard(station, 3);
    const oldSubject = parseCertificate(old.certificate!);
    if (!oldSubject.ok) throw new Error(oldSubject.error.message);
    const audit = new MemoryAuditSink();
    const ca = await sharedCa();

    const rotated = await rotateKey({ board: station.board, key: old, deviceId: deviceIdOf(station), ca, audit, operator: 'field tech' });
    if (!rotated.ok) throw new Error(rotated.error.message);

    expect(rotated.value.oldKeyId).toBe('0x00000003');
    expect(rotated.value.key.keyId).toBe('0x00000004'); // the lowest id free: 1, 2, 3 are taken
    expect(rotated.value.key.spkiFingerprint).not.toBe(old.fingerprint);
    const store = station.device.keys.store;
    expect(store.peek(3)).toBeUndefined();
    expect(bytesToHex(store.peek(4)!.publicKey!)).toBe(rotated.value.key.publicKey);

    const chain = await station.board.keys.readCertificate(4);
    if (!chain.ok || !chain.value) throw new Error('no chain on the new key');
    const parts = splitCertificateChain(chain.value);
    if (!parts.ok) throw new Error(parts.error.message);
    const verified = await verifyChain({ chain: parts.value, root: ca.root.certificate });
    expect(verified.ok).toBe(true);
    const leaf = parseCertificate(parts.value[0]!);
    if (!leaf.ok) throw new Error(leaf.error.message);
    expect(leaf.value.subject.text).toBe(oldSubject.value.subject.text);

    const actions = audit.records.map((record) => `${record.phase}:${record.action}${record.result ? `:${record.result}` : ''}`);
    expect(actions[0]).toBe('intent:keys.rotate');
    expect(actions).toContain('outcome:keys.generate:ok');
    expect(actions).toContain('outcome:keys.cert-store:ok');
    expect(actions.slice(-3)).toEqual(['intent:keys.destroy', 'outcome:keys.destroy:ok', 'outcome:keys.rotate:ok']);
    expect(pairedRecords(audit)).toBe(true);
    const outcome = audit.records.at(-1)!;
    expect(outcome).toMatchObject({ keyId: '0x00000003', keyFingerprint: old.fingerprint, deviceId: deviceIdOf(station), operator: 'field tech', boardSerial: station.device.board.serialNumber });
    expect(outcome.details).toMatchObject({ newKeyId: '0x00000004', newKeyFingerprint: rotated.value.key.spkiFingerprint });
  });

  it('replaces an X25519 key without a certificate, with no CA', async () => {
    const station = await openStation();
    succeeded(await provision(station, SUPERVISOR_PROFILE));
    const old = await keyOnBoard(station, 0x10);
    const audit = new MemoryAuditSink();
    const rotated = await rotateKey({ board: station.board, key: old, deviceId: deviceIdOf(station), ca: null, audit });
    if (!rotated.ok) throw new Error(rotated.error.message);
    expect(rotated.value.key).toMatchObject({ keyId: '0x00000001', alg: 'x25519', certificate: null });
    expect(station.device.keys.store.peek(0x10)).toBeUndefined();
    expect(station.device.keys.store.peek(1)?.usage).toBe(old.usage);
    expect(pairedRecords(audit)).toBe(true);
  });

  it('keeps the old key when the new one cannot be made (a locked board), and records the failure', async () => {
    const station = await openStation();
    succeeded(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() }));
    const locked = await station.board.keys.lock();
    expect(locked.ok).toBe(true);
    const old = await keyOnBoard(station, 3);
    const audit = new MemoryAuditSink();
    const rotated = await rotateKey({ board: station.board, key: old, deviceId: deviceIdOf(station), ca: await sharedCa(), audit });
    expect(rotated.ok).toBe(false);
    if (rotated.ok) return;
    expect(rotated.error.code).toBe('rotate-new-key-failed');
    expect(rotated.error.message).toContain('locked');
    expect(rotated.error.message).toContain('0x00000003 is still in use');
    expect(station.device.keys.store.peek(3)).toBeDefined();
    expect(station.device.keys.store.peek(4)).toBeUndefined();
    expect(audit.records.at(-1)).toMatchObject({ action: 'keys.rotate', phase: 'outcome', result: 'failed', errorCode: 'board-locked' });
    expect(pairedRecords(audit)).toBe(true);
  });

  it('refuses, before touching the board or the log, a certified key without a CA and a key type it cannot make', async () => {
    const station = await openStation();
    succeeded(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() }));
    const old = await keyOnBoard(station, 3);
    const audit = new MemoryAuditSink();
    const noCa = await rotateKey({ board: station.board, key: old, deviceId: deviceIdOf(station), ca: null, audit });
    expect(noCa.ok ? null : noCa.error.code).toBe('rotate-ca-missing');
    const symmetric = await rotateKey({ board: station.board, key: { ...old, alg: 'hmac-sha256', certificate: null }, deviceId: deviceIdOf(station), ca: null, audit });
    expect(symmetric.ok ? null : symmetric.error.code).toBe('rotate-unsupported');
    expect(audit.records).toEqual([]);
    expect(station.device.keys.store.peek(3)).toBeDefined();
  });
});

describe('subjectFrom', () => {
  it('falls back to the default template without a certificate', () => {
    expect(subjectFrom(null)).toEqual({ template: 'CN={deviceId}, serialNumber={boardSerial}', serial: null });
  });
});
