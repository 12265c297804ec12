/**
 * The CA page's state class over fake-indexeddb and the real CA store: create (with and without a
 * backup passphrase), the active choice surviving a "reload" (a new instance on the same
 * databases), restore and PEM import, revocation and CRLs — and every bad input refused with a
 * message while the store stays as it was.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { encodePem, openCaStore, PBKDF2_MIN_ITERATIONS, PROFILES, parseCrl, verifyCrl } from '../../src/lib/pki';
import { CertificateAuthorities, createStationSettings, type PickedFile } from '../../src/lib/state';
import { utf8 } from '../../src/lib/util/bytes';
import { makeNode, pkcs8Pem } from './support/pki';

const PASSPHRASE = 'correct horse battery staple';
let databases = 0;

/** A fresh pair of databases, and a factory for instances over them (a new instance = a reloaded page). */
function station() {
  const n = ++databases;
  const settings = createStationSettings(`ca-state-settings-${n}`);
  return () => new CertificateAuthorities({ openStore: () => openCaStore(`ca-state-pki-${n}`), settings, backupIterations: PBKDF2_MIN_ITERATIONS });
}

function file(name: string, content: string | Uint8Array): PickedFile {
  return { name, bytes: typeof content === 'string' ? utf8.encode(content) : content };
}

describe('CertificateAuthorities', () => {
  it('creates a CA without a backup, makes it active, and finds both again after a reload', async () => {
    const open = station();
    const cas = open();
    await cas.load();
    expect(cas.status).toBe('ready');
    expect(cas.list).toEqual([]);
    expect(cas.activeId).toBeNull();

    expect(await cas.create({ organization: '  Acme Devices ', passphrase: '', confirm: '' })).toBe(true);
    expect(cas.notices.create).toContain('It has no backup');
    expect(cas.freshBackup).toBeNull();
    expect(cas.list).toHaveLength(1);
    const [created] = cas.list;
    expect(created).toMatchObject({ label: 'Acme Devices', origin: 'created', backup: 'none', backupAvailable: false, hasRootKey: true, revocations: [] });
    expect(created!.certificates.map((certificate) => [certificate.role, certificate.subject, certificate.isCa])).toEqual([
      ['Issuing CA', 'CN=Acme Devices Issuing CA, O=Acme Devices', true],
      ['Root CA', 'CN=Acme Devices Root CA, O=Acme Devices', true],
    ]);
    expect(created!.certificates[1]!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(created!.certificates[0]!.pem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(cas.activeId).toBe(created!.id);
    expect(await cas.backupFile(created!.id)).toBeNull();

    const second = open();
    await second.load();
    expect(second.list.map((ca) => ca.id)).toEqual([created!.id]);
    expect(second.active?.label).toBe('Acme Devices');
    const authority = await second.activeAuthority();
    expect(authority?.intermediate.privateKey.extractable).toBe(false);
  });

  it('refuses a missing name, differing passphrases and a short passphrase, storing nothing', async () => {
    const cas = station()();
    await cas.load();
    expect(await cas.create({ organization: ' ', passphrase: '', confirm: '' })).toBe(false);
    expect(cas.errors.create).toMatch(/^Organization: enter the name/);
    expect(await cas.create({ organization: 'Acme', passphrase: PASSPHRASE, confirm: `${PASSPHRASE}!` })).toBe(false);
    expect(cas.errors.create).toBe('The two passphrases differ. Nothing was created.');
    expect(await cas.create({ organization: 'Acme', passphrase: 'short', confirm: 'short' })).toBe(false);
    expect(cas.errors.create).toContain('at least 12 characters');
    expect(await cas.create({ organization: 'Acme, Inc', passphrase: '', confirm: '' })).toBe(false);
    expect(cas.errors.create).toMatch(/Nothing was created\.$/);
    expect(cas.list).toEqual([]);
    expect(cas.activeId).toBeNull();
  });

  it('backs up at creation, refuses a wrong passphrase on restore, restores with the right one', async () => {
    const cas = station()();
    await cas.load();
    expect(await cas.create({ organization: 'Line 1', passphrase: PASSPHRASE, confirm: PASSPHRASE })).toBe(true);
    const id = cas.list[0]!.id;
    expect(cas.list[0]).toMatchObject({ backup: 'passphrase-backup', backupAvailable: true });
    expect(cas.freshBackup).toMatchObject({ caId: id, fileName: 'line-1-ca-backup.json' });
    const backup = await cas.backupFile(id);
    expect(backup?.fileName).toBe('line-1-ca-backup.json');
    expect(JSON.parse(backup!.text)).toMatchObject({ format: 'imprint-ca-backup/1', label: 'Line 1', iterations: PBKDF2_MIN_ITERATIONS });

    // Another station restores it.
    const other = station()();
    await other.load();
    expect(await other.restoreBackup(null, PASSPHRASE)).toBe(false);
    expect(other.errors.import).toMatch(/Choose the backup file/);
    expect(await other.restoreBackup(file('line-1-ca-backup.json', backup!.text), 'not the passphrase')).toBe(false);
    expect(other.errors.import).toBe('line-1-ca-backup.json: backup: wrong passphrase, or the file was changed after it was made. Nothing was stored.');
    expect(await other.restoreBackup(file('notes.json', '{"format": 1}'), PASSPHRASE)).toBe(false);
    expect(other.errors.import).toMatch(/^notes\.json: backup: field format is missing or not a string/);
    expect(other.list).toEqual([]);

    expect(await other.restoreBackup(file('line-1-ca-backup.json', backup!.text), PASSPHRASE)).toBe(true);
    expect(other.errors.import).toBeUndefined();
    expect(other.notices.import).toBe('Restored “Line 1”.');
    expect(other.list[0]).toMatchObject({ id, origin: 'restored', backup: 'passphrase-backup', backupAvailable: true });
    expect(other.activeId).toBe(id);
    // The same backup again: already there, nothing changes.
    expect(await other.restoreBackup(file('line-1-ca-backup.json', backup!.text), PASSPHRASE)).toBe(false);
    expect(other.errors.import).toContain('is already in the store');
    expect(other.list).toHaveLength(1);
  });

  it('imports PEM certificates with a PKCS#8 key (PEM or DER), refusing a key of another CA', async () => {
    const root = await makeNode('Corp Root', PROFILES.root);
    const issuing = await makeNode('Corp Issuing', PROFILES.intermediate, root);
    const stranger = await makeNode('Stranger', PROFILES.intermediate, root);
    const bundle = file('corp-chain.pem', encodePem('CERTIFICATE', issuing.der) + encodePem('CERTIFICATE', root.der));
    const cas = station()();
    await cas.load();

    expect(await cas.importPem({ certificates: bundle, privateKey: null })).toBe(false);
    expect(cas.errors.import).toMatch(/private key file/);
    expect(await cas.importPem({ certificates: file('notes.pem', 'hello'), privateKey: file('k.pem', await pkcs8Pem(issuing.keys.privateKey)) })).toBe(false);
    expect(cas.errors.import).toMatch(/^notes\.pem \+ k\.pem: .*Nothing was stored\.$/);
    expect(await cas.importPem({ certificates: bundle, privateKey: file('stranger.key', await pkcs8Pem(stranger.keys.privateKey)) })).toBe(false);
    expect(cas.errors.import).toBe("corp-chain.pem + stranger.key: issuing CA key: does not belong to the certificate 'CN=Corp Issuing'. Nothing was stored.");
    expect(cas.list).toEqual([]);

    const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', issuing.keys.privateKey));
    expect(await cas.importPem({ certificates: bundle, privateKey: file('issuing.der', der) })).toBe(true);
    expect(cas.notices.import).toBe('Imported “Corp Issuing” (without its root key: it can issue, not make new intermediates).');
    expect(cas.list[0]).toMatchObject({ label: 'Corp Issuing', origin: 'imported', backup: 'operator-held-key', hasRootKey: false, backupAvailable: false });

    // Elsewhere, with the root key and a backup made on the way in.
    const other = station()();
    await other.load();
    const rootKey = file('root.key', await pkcs8Pem(root.keys.privateKey));
    const key = file('issuing.key', await pkcs8Pem(issuing.keys.privateKey));
    expect(await other.importPem({ certificates: bundle, privateKey: key, rootPrivateKey: rootKey, passphrase: PASSPHRASE, confirm: 'typo' })).toBe(false);
    expect(other.errors.import).toBe('The two passphrases differ. Nothing was stored.');
    expect(await other.importPem({ certificates: bundle, privateKey: key, rootPrivateKey: rootKey, passphrase: PASSPHRASE, confirm: PASSPHRASE })).toBe(true);
    expect(other.list[0]).toMatchObject({ backup: 'passphrase-backup', backupAvailable: true, hasRootKey: true });
    expect(other.freshBackup?.fileName).toBe('corp-issuing-ca-backup.json');
  });

  it('switches the active CA and keeps the choice across a reload', async () => {
    const open = station();
    const cas = open();
    await cas.load();
    await cas.create({ organization: 'First', passphrase: '', confirm: '' });
    await cas.create({ organization: 'Second', passphrase: '', confirm: '' });
    expect(cas.active?.label).toBe('First');
    const second = cas.list.find((ca) => ca.label === 'Second')!;
    expect(await cas.setActive(second.id)).toBe(true);
    expect(await cas.setActive('no-such-id')).toBe(false);
    expect(cas.errors.active).toBe('There is no such CA in the store.');
    const reloaded = open();
    await reloaded.load();
    expect(reloaded.active?.label).toBe('Second');
  });

  it('revokes serials of the active CA and signs CRLs with growing numbers', async () => {
    const cas = station()();
    await cas.load();
    expect(await cas.revoke('01', 'keyCompromise')).toBe(false);
    expect(cas.errors.revoke).toBe('Choose or create a CA first.');
    await cas.create({ organization: 'Acme', passphrase: '', confirm: '' });
    expect(await cas.revoke('  ', 'keyCompromise')).toBe(false);
    expect(cas.errors.revoke).toMatch(/^Serial number: enter/);
    expect(await cas.revoke('not hex', 'keyCompromise')).toBe(false);
    expect(cas.errors.revoke).toMatch(/Nothing was revoked\.$/);
    expect(await cas.revoke('0A:1B:2C', 'keyCompromise')).toBe(true);
    expect(cas.notices.revoke).toBe('Serial 0a1b2c is revoked. Sign a new CRL to publish it.');
    expect(await cas.revoke('0a1b2c', 'superseded')).toBe(false);
    expect(cas.errors.revoke).toBe('serial 0a1b2c is already revoked.');
    expect(cas.active?.revocations.map((revocation) => [revocation.serialNumber, revocation.reason])).toEqual([['0a1b2c', 'keyCompromise']]);

    const first = await cas.makeCrl();
    const second = await cas.makeCrl();
    expect([first?.crlNumber, second?.crlNumber]).toEqual([1, 2]);
    expect(cas.lastCrl).toMatchObject({ crlNumber: 2, fileStem: 'acme-crl-2' });
    const crl = parseCrl(second!.der);
    expect(crl.ok && crl.value.entries.map((entry) => entry.serialNumber)).toEqual(['0a1b2c']);
    const verified = await verifyCrl(second!.pem, cas.active!.certificates[0]!.der);
    expect(verified.ok).toBe(true);
  });
});
