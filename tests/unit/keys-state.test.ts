/**
 * The Keys page's state class against the simulated board: info, keys with public key,
 * fingerprint and stored certificate chain, the tamper log, destroy — refused with the board's
 * own message once the board is locked, each destroy an intent and an outcome in the audit log
 * — and nothing read while not connected.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { createCa, issueDeviceCertificate, spkiFingerprint, spkiFromP256Point } from '../../src/lib/pki';
import { AuditTrail, BoardKeys, keyFingerprint, spkiForKey, splitCertificateChain, usageNames } from '../../src/lib/state';
import { concatBytes } from '../../src/lib/util/bytes';
import { simConnection } from './support/sim-connection';

describe('BoardKeys', () => {
  it('lists keys with public key, fingerprint and certificate chain; destroys; the lock refuses destroy', async () => {
    const { connection } = await simConnection();
    const board = connection.board!;
    const audit = new AuditTrail({ appBuild: 'test', dbName: 'keys-state-audit' });
    const keys = new BoardKeys(connection, audit);

    expect(await keys.refresh()).toBe(true);
    expect(keys.current).toBe(true);
    expect(keys.info).toMatchObject({ locked: false, counter: 0, tamperEvents: 0, slots: 8 });
    expect(keys.deviceId).toMatch(/^[0-9a-f]{32}$/);
    expect(keys.keys).toEqual([]);
    expect(keys.tamperLog).toEqual([]);

    // A device key with a certificate chain from a fresh CA, and an X25519 key.
    const generated = await board.keys.generate({ alg: 'p256', id: 1, csrSubject: 'CN=dev' });
    if (!generated.ok) throw new Error(generated.error.message);
    const created = await createCa({ label: 'Test' });
    if (!created.ok) throw new Error(created.error.message);
    const issued = await issueDeviceCertificate({ ca: created.value.ca, csr: generated.value.csr!, subjectTemplate: 'CN={deviceId}', subjectValues: { deviceId: keys.deviceId }, validityDays: 365 });
    if (!issued.ok) throw new Error(issued.error.message);
    expect((await board.keys.storeCertificate(1, concatBytes(issued.value.der, ...issued.value.chain))).ok).toBe(true);
    const x25519 = await board.keys.generate({ alg: 'x25519', id: 0x20 });
    if (!x25519.ok) throw new Error(x25519.error.message);

    expect(await keys.refresh()).toBe(true);
    const [device, exchange] = keys.keys!;
    expect(device).toMatchObject({ id: 1, idHex: '0x00000001', alg: 'p256', usage: 'sign-message, verify-message, sign-hash, verify-hash', problem: null });
    expect(device!.fingerprint).toBe(await spkiFingerprint(spkiFromP256Point(generated.value.publicKey)));
    expect(device!.fingerprint).toBe(issued.value.spkiFingerprint);
    expect(device!.certificates.map((certificate) => [certificate.role, certificate.subject])).toEqual([
      ['Device', `CN=${keys.deviceId}`],
      ['Chain 1', 'CN=Test Issuing CA'],
    ]);
    expect(device!.certificates[0]!.fingerprint).toBe(issued.value.fingerprint);
    expect(exchange).toMatchObject({ idHex: '0x00000020', alg: 'x25519', usage: 'derive', certificates: [] });
    expect(exchange!.publicKey).toHaveLength(64);
    expect(exchange!.fingerprint).toMatch(/^[0-9a-f]{64}$/);

    expect(await keys.destroy(0x20)).toBe(true);
    expect(keys.notice).toBe('Key 0x00000020 and its certificates were destroyed on the board.');
    expect(keys.keys!.map((key) => key.id)).toEqual([1]);

    expect((await board.keys.lock()).ok).toBe(true);
    expect(await keys.destroy(1)).toBe(false);
    expect(keys.errors.destroy).toMatch(/locked/);
    expect(keys.keys!.map((key) => key.id)).toEqual([1]);
    expect(keys.info?.locked).toBe(true);
    expect(keys.tamperLog?.map((event) => event.kind)).toEqual(['locked']);

    const log = (await audit.open())!;
    const records = await log.records();
    if (!records.ok) throw new Error(records.error.message);
    expect(records.value.map((record) => [record.seq, record.phase, record.action, record.keyId, record.result ?? '', record.errorCode ?? ''])).toEqual([
      [1, 'intent', 'keys.destroy', '0x00000020', '', ''],
      [2, 'outcome', 'keys.destroy', '0x00000020', 'ok', ''],
      [3, 'intent', 'keys.destroy', '0x00000001', '', ''],
      [4, 'outcome', 'keys.destroy', '0x00000001', 'failed', 'keys-locked'],
    ]);
    expect(records.value[0]).toMatchObject({ deviceId: keys.deviceId, keyFingerprint: exchange!.fingerprint });
    expect(audit.openIntents).toEqual([]);
    await connection.disconnect();
  });

  it('reads nothing without a board, and forgets the old board when another connects', async () => {
    const { connection } = await simConnection();
    const keys = new BoardKeys(connection);
    await keys.refresh();
    const firstDevice = keys.deviceId;
    await connection.disconnect();
    expect(await keys.refresh()).toBe(false);
    expect(keys.errors.read).toBe('Not connected: connect to a board first.');
    expect(keys.current).toBe(true); // still describes the board last read, which is shown as disconnected
    await connection.connect('sim');
    expect(keys.current).toBe(false);
    await keys.refresh();
    expect(keys.errors.read).toBeUndefined();
    expect(keys.deviceId).toBe(firstDevice); // the same simulated board, reconnected
    await connection.disconnect();
  });
});

describe('key views', () => {
  it('builds SPKIs for P-256, X25519 and Ed25519 and names usage bits', async () => {
    const raw = new Uint8Array(32).fill(7);
    expect(spkiForKey('x25519', raw)?.length).toBe(44);
    expect(spkiForKey('ed25519', raw)?.slice(0, 12)).toEqual(new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]));
    expect(spkiForKey('p256', raw)).toBeNull();
    expect(spkiForKey('hmac-sha256', null)).toBeNull();
    expect(await keyFingerprint('aes-128', null)).toBeNull();
    expect(usageNames(0x4000)).toBe('derive');
    expect(usageNames(0x10000 | 0x0100)).toBe('encrypt, 0x10000');
    expect(usageNames(0)).toBe('none');
  });

  it('splits a chain of DER certificates and refuses other bytes', () => {
    const a = new Uint8Array([0x30, 0x02, 0x01, 0x02]);
    const b = new Uint8Array([0x30, 0x81, 0x03, 0x01, 0x02, 0x03]);
    expect(splitCertificateChain(concatBytes(a, b))).toEqual([a, b]);
    expect(splitCertificateChain(new Uint8Array([0x30, 0x05, 0x01]))).toBeNull();
    expect(splitCertificateChain(new Uint8Array([0x04, 0x00]))).toBeNull();
    expect(splitCertificateChain(new Uint8Array())).toBeNull();
  });
});
