/**
 * Backup at creation, restore, and importing an existing CA (PKCS#8 or our backup): the happy
 * paths end in a CA that signs; every refusal is a typed error and leaves the store empty
 * (fake-indexeddb, the real store code: Node's structuredClone clones CryptoKeys).
 */
import 'fake-indexeddb/auto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CaBackup,
  type CaStore,
  type CertificateAuthority,
  createCa,
  importCa,
  issueDeviceCertificate,
  openCaStore,
  parseCaBackup,
  PBKDF2_MIN_ITERATIONS,
  PROFILES,
  restoreCaBackup,
  serializeCaBackup,
  verifyChain,
} from '../../src/lib/pki';
import { base64ToBytes } from '../../src/lib/util/bytes';
import { deviceKeys, makeCsr, makeNode, pkcs8Pem } from './support/pki';
import { encodePem } from '../../src/lib/pki/pem';

const PASSPHRASE = 'correct horse battery staple';
let created: { ca: CertificateAuthority; backup: CaBackup };
let stores: CaStore[] = [];
let dbCount = 0;

async function freshStore(): Promise<CaStore> {
  const store = await openCaStore(`pki-backup-test-${dbCount++}`);
  stores.push(store);
  return store;
}

/** The CA works: it issues a device certificate that verifies to its root. */
async function canIssue(ca: CertificateAuthority): Promise<boolean> {
  const issued = await issueDeviceCertificate({ ca, csr: await makeCsr(await deviceKeys()), subjectTemplate: 'CN={id}', subjectValues: { id: 'probe' }, validityDays: 1 });
  if (!issued.ok) return false;
  return (await verifyChain({ chain: [issued.value.der, ...issued.value.chain], root: ca.root.certificate })).ok;
}

beforeAll(async () => {
  const result = await createCa({ label: 'Backed Up', backupPassphrase: PASSPHRASE });
  if (!result.ok || !result.value.backup) throw new Error('createCa with backup failed');
  created = { ca: result.value.ca, backup: result.value.backup };
});

afterEach(() => {
  for (const store of stores) store.close();
  stores = [];
});

describe('backup at creation', () => {
  it('writes {format, kdf, iterations ≥ 600k, salt, iv, ciphertext, certificates} and keeps the live keys non-extractable', () => {
    const { backup, ca } = created;
    expect(backup.format).toBe('imprint-ca-backup/1');
    expect(backup.kdf).toBe('PBKDF2-SHA256');
    expect(backup.cipher).toBe('AES-256-GCM');
    expect(backup.iterations).toBe(PBKDF2_MIN_ITERATIONS);
    expect(PBKDF2_MIN_ITERATIONS).toBeGreaterThanOrEqual(600_000);
    expect(base64ToBytes(backup.salt)?.length).toBe(16);
    expect(base64ToBytes(backup.iv)?.length).toBe(12);
    expect(backup.certificates.root).toContain('-----BEGIN CERTIFICATE-----');
    expect(backup.certificates.chain).toEqual([]);
    expect(serializeCaBackup(backup)).not.toMatch(/PRIVATE KEY/);
    expect(ca.backup).toBe('passphrase-backup');
    expect(ca.root.privateKey?.extractable).toBe(false);
    expect(ca.intermediate.privateKey.extractable).toBe(false);
  });

  it('restores with the passphrase into a working CA with non-extractable keys and the same id', async () => {
    const restored = await restoreCaBackup(serializeCaBackup(created.backup), PASSPHRASE);
    expect(restored.ok).toBe(true);
    if (!restored.ok) return;
    expect(restored.value.id).toBe(created.ca.id);
    expect(restored.value.origin).toBe('restored');
    expect(restored.value.label).toBe('Backed Up');
    expect(restored.value.intermediate.privateKey.extractable).toBe(false);
    expect(restored.value.root.privateKey?.extractable).toBe(false);
    expect(await canIssue(restored.value)).toBe(true);
  });

  it('normalises the passphrase to NFC, so a decomposed é restores a composed-é backup', async () => {
    const composed = 'caf\u00e9 au lait, bitte';
    const result = await createCa({ backupPassphrase: composed });
    if (!result.ok || !result.value.backup) throw new Error('createCa failed');
    const restored = await restoreCaBackup(result.value.backup, composed.normalize('NFD'));
    expect(restored.ok).toBe(true);
  });
});

describe('restore refusals: typed, and nothing stored', () => {
  it('backup-wrong-passphrase', async () => {
    const store = await freshStore();
    const restored = await restoreCaBackup(created.backup, 'not the passphrase at all');
    expect(restored.ok ? 'restored' : restored.error).toEqual({ code: 'backup-wrong-passphrase', message: 'backup: wrong passphrase, or the file was changed after it was made' });
    if (restored.ok) await store.saveCa(restored.value);
    expect(await store.listCas()).toEqual([]);
  });

  it('a changed label, iteration count or certificate fails (GCM additional data / chain check)', async () => {
    const relabelled = await restoreCaBackup({ ...created.backup, label: 'Evil' }, PASSPHRASE);
    expect(relabelled.ok ? 'restored' : relabelled.error.code).toBe('backup-wrong-passphrase');
    const moreIterations = await restoreCaBackup({ ...created.backup, iterations: 600_001 }, PASSPHRASE);
    expect(moreIterations.ok ? 'restored' : moreIterations.error.code).toBe('backup-wrong-passphrase');
    const fewIterations = await restoreCaBackup({ ...created.backup, iterations: 1000 }, PASSPHRASE);
    expect(fewIterations.ok ? 'restored' : fewIterations.error.code).toBe('backup-unsupported');
    const other = await createCa({ label: 'Other' });
    if (!other.ok) throw new Error('createCa failed');
    const swapped = await restoreCaBackup({ ...created.backup, certificates: { ...created.backup.certificates, intermediate: encodePem('CERTIFICATE', other.value.ca.intermediate.certificate) } }, PASSPHRASE);
    expect(swapped.ok ? 'restored' : swapped.error.code).toBe('backup-bad-chain');
  });

  it('backup-malformed for text that is not a backup', async () => {
    expect(parseCaBackup('not json').ok).toBe(false);
    const missing = await restoreCaBackup('{"format":"imprint-ca-backup/1"}', PASSPHRASE);
    expect(missing.ok ? 'restored' : missing.error.code).toBe('backup-malformed');
    const badBase64 = await restoreCaBackup({ ...created.backup, salt: '***' }, PASSPHRASE);
    expect(badBase64.ok ? 'restored' : badBase64.error.code).toBe('backup-malformed');
    const future = await restoreCaBackup({ ...created.backup, format: 'imprint-ca-backup/9' as CaBackup['format'] }, PASSPHRASE);
    expect(future.ok ? 'restored' : future.error.code).toBe('backup-unsupported');
  });
});

describe('importCa', () => {
  let chainPem: string;
  let keyPem: string;
  let rootKeyPem: string;
  beforeAll(async () => {
    const root = await makeNode('Corp Root', PROFILES.root);
    const issuing = await makeNode('Corp Issuing', PROFILES.intermediate, root);
    chainPem = encodePem('CERTIFICATE', issuing.der) + encodePem('CERTIFICATE', root.der);
    keyPem = await pkcs8Pem(issuing.keys.privateKey);
    rootKeyPem = await pkcs8Pem(root.keys.privateKey);
  });

  it('imports certificates + PKCS#8 as a working CA with non-extractable keys', async () => {
    const imported = await importCa({ kind: 'pkcs8', certificates: chainPem, privateKey: keyPem, rootPrivateKey: rootKeyPem });
    expect(imported.ok).toBe(true);
    if (!imported.ok) return;
    const { ca } = imported.value;
    expect(ca.label).toBe('Corp Issuing');
    expect(ca.origin).toBe('imported');
    expect(ca.backup).toBe('operator-held-key');
    expect(ca.intermediate.privateKey.extractable).toBe(false);
    expect(ca.root.privateKey?.extractable).toBe(false);
    expect(await canIssue(ca)).toBe(true);
  });

  it('makes a backup while the PKCS#8 is in hand, which restores', async () => {
    const imported = await importCa({ kind: 'pkcs8', certificates: chainPem, privateKey: keyPem, backupPassphrase: PASSPHRASE });
    if (!imported.ok || !imported.value.backup) throw new Error('import with backup failed');
    expect(imported.value.ca.backup).toBe('passphrase-backup');
    const restored = await importCa({ kind: 'backup', backup: serializeCaBackup(imported.value.backup), passphrase: PASSPHRASE });
    expect(restored.ok && restored.value.ca.id).toBe(imported.value.ca.id);
    expect(restored.ok && restored.value.ca.root.privateKey).toBeUndefined();
  });

  it.each([
    ['malformed PEM', () => ({ certificates: '-----BEGIN CERTIFICATE-----\nMII$$$\n-----END CERTIFICATE-----\n' }), 'pem-bad-base64'],
    ['a PEM without END', () => ({ certificates: chainPem.slice(0, chainPem.indexOf('-----END')) }), 'pem-missing-end'],
    ['the root missing', () => ({ certificates: chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 26) }), 'import-no-root'],
    ['the wrong key', () => ({ privateKey: rootKeyPem }), 'import-key-mismatch'],
    ['a key where a certificate belongs', () => ({ certificates: keyPem }), 'pem-wrong-label'],
    ['an encrypted PKCS#8', () => ({ privateKey: keyPem.replace(/PRIVATE KEY/g, 'ENCRYPTED PRIVATE KEY') }), 'pem-wrong-label'],
    ['a SEC1 EC key', () => ({ privateKey: keyPem.replace(/PRIVATE KEY/g, 'EC PRIVATE KEY') }), 'pem-unknown-label'],
    ['a key that is not PKCS#8', () => ({ privateKey: encodePem('PRIVATE KEY', new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])) }), 'import-bad-key'],
  ] as const)('refuses %s (%s), storing nothing', async (_, change, code) => {
    const store = await freshStore();
    const imported = await importCa({ kind: 'pkcs8', certificates: chainPem, privateKey: keyPem, ...change() });
    expect(imported.ok ? 'imported' : imported.error.code).toBe(code);
    if (!imported.ok) expect(imported.error.message.length).toBeGreaterThan(10);
    if (imported.ok) await store.saveCa(imported.value.ca);
    expect(await store.listCas()).toEqual([]);
  });

  it('refuses a bundle whose certificates do not chain (another CA\'s root)', async () => {
    const otherRoot = await makeNode('Corp Root', PROFILES.root);
    const wrongRoot = chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 26) + encodePem('CERTIFICATE', otherRoot.der);
    const imported = await importCa({ kind: 'pkcs8', certificates: wrongRoot, privateKey: keyPem });
    expect(imported.ok ? 'imported' : imported.error.code).toBe('import-bad-chain');
  });

  it('imports a three-level chain (issuing CA below a corporate intermediate) and issues through it', async () => {
    const corpRoot = await makeNode('Corp Root', PROFILES.root);
    const corp = await makeNode('Corp Intermediate', { ca: true, pathLength: 1, keyUsage: ['keyCertSign', 'cRLSign'] }, corpRoot);
    const issuing = await makeNode('Line Issuing', PROFILES.intermediate, corp);
    const bundle = [issuing, corp, corpRoot].map((node) => encodePem('CERTIFICATE', node.der)).join('');
    const imported = await importCa({ kind: 'pkcs8', certificates: bundle, privateKey: await pkcs8Pem(issuing.keys.privateKey) });
    if (!imported.ok) throw new Error(imported.error.message);
    expect(imported.value.ca.chain).toEqual([corp.der]);
    expect(await canIssue(imported.value.ca)).toBe(true);

    const tight = await makeNode('Corp Intermediate', PROFILES.intermediate, corpRoot);
    const below = await makeNode('Line Issuing', PROFILES.intermediate, tight);
    const tooDeep = await importCa({ kind: 'pkcs8', certificates: [below.der, tight.der, corpRoot.der], privateKey: await pkcs8Pem(below.keys.privateKey) });
    expect(tooDeep.ok ? 'imported' : [tooDeep.error.code, tooDeep.error.message.includes('pathLenConstraint')]).toEqual(['import-bad-chain', true]);
  });

  it('refuses a wrong passphrase for an Imprint backup', async () => {
    const imported = await importCa({ kind: 'backup', backup: created.backup, passphrase: 'wrong wrong wrong' });
    expect(imported.ok ? 'imported' : imported.error.code).toBe('backup-wrong-passphrase');
  });
});
