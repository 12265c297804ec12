/**
 * Creating a CA: a root (offline-style: its key signs only intermediates) and an issuing
 * intermediate, both P-256 / ECDSA-SHA256, with the profiles in `profile.ts`.
 *
 * Private keys are non-extractable `CryptoKey`s. Because a non-extractable key can never be
 * exported again, a backup must be decided at creation: with `backupPassphrase`, the keys are
 * generated extractable once, exported as PKCS#8, wrapped into the backup at once, re-imported as
 * non-extractable, and the PKCS#8 bytes zeroed; the extractable handles go out of scope here and
 * are never stored. Without it there is no backup, ever (docs/adr/0005-pki.md).
 */
import { type Result, ok } from '../smp/result';
import { type CertificateAuthority, caIdFor } from './authority';
import { type BackupError, type CaBackup, checkPassphrase, sealCaBackup } from './backup';
import { type PkiError } from './errors';
import { renderSubject, type SubjectErrorCode, subjectToJsonName } from './name';
import { parseCertificate } from './parse';
import { addYears, buildCertificate, INTERMEDIATE_VALIDITY_YEARS, PROFILES, randomSerialNumber, ROOT_VALIDITY_YEARS, wholeSeconds } from './profile';
import { generateP256SigningKeys, importP256SigningKey } from './signing-key';

export interface CreateCaOptions {
  /** Shown in the UI and used in the CA names (`<label> Root CA`, `<label> Issuing CA`). */
  label?: string;
  /** The O attribute of both CA names. */
  organization?: string;
  now?: Date;
  /** Make a wrapped backup now, the only moment one can be made. */
  backupPassphrase?: string;
  backupIterations?: number;
}

export interface CreatedCa {
  ca: CertificateAuthority;
  /** Present when `backupPassphrase` was given: save it somewhere other than this browser. */
  backup?: CaBackup;
}

export type CaErrorCode = SubjectErrorCode | BackupError['code'];
export type CaError = PkiError<CaErrorCode>;

/**
 * @example const created = await createCa({ label: 'Acme Line 1', organization: 'Acme', backupPassphrase });
 *   if (created.ok) { await store.saveCa(created.value.ca); download(serializeCaBackup(created.value.backup!)); }
 */
export async function createCa(options: CreateCaOptions = {}): Promise<Result<CreatedCa, CaError>> {
  const label = options.label ?? 'Imprint';
  const template = options.organization ? 'CN={label} {role}, O={organization}' : 'CN={label} {role}';
  const rootName = renderSubject(template, { label, role: 'Root CA', organization: options.organization });
  if (!rootName.ok) return rootName;
  const intermediateName = renderSubject(template, { label, role: 'Issuing CA', organization: options.organization });
  if (!intermediateName.ok) return intermediateName;
  if (options.backupPassphrase !== undefined) {
    const passphrase = checkPassphrase(options.backupPassphrase);
    if (!passphrase.ok) return passphrase;
  }

  const backingUp = options.backupPassphrase !== undefined;
  const now = wholeSeconds(options.now ?? new Date());
  const rootKeys = await generateP256SigningKeys(backingUp);
  const intermediateKeys = await generateP256SigningKeys(backingUp);
  const rootSpki = new Uint8Array(await crypto.subtle.exportKey('spki', rootKeys.publicKey));
  const intermediateSpki = new Uint8Array(await crypto.subtle.exportKey('spki', intermediateKeys.publicKey));

  const rootDer = await buildCertificate({
    profile: PROFILES.root,
    subject: subjectToJsonName(rootName.value),
    issuer: 'self',
    publicKey: rootSpki,
    signingKey: rootKeys.privateKey,
    serialNumber: randomSerialNumber(),
    notBefore: now,
    notAfter: addYears(now, ROOT_VALIDITY_YEARS),
  });
  const root = parseCertificate(rootDer);
  if (!root.ok) throw new Error(`createCa: the root certificate just made does not parse: ${root.error.message}`);
  const intermediateDer = await buildCertificate({
    profile: PROFILES.intermediate,
    subject: subjectToJsonName(intermediateName.value),
    issuer: { name: root.value.subject.der, publicKey: rootSpki, keyId: root.value.extensions.subjectKeyId },
    publicKey: intermediateSpki,
    signingKey: rootKeys.privateKey,
    serialNumber: randomSerialNumber(),
    notBefore: now,
    notAfter: addYears(now, INTERMEDIATE_VALIDITY_YEARS),
  });

  let rootPrivateKey = rootKeys.privateKey;
  let intermediatePrivateKey = intermediateKeys.privateKey;
  let backup: CaBackup | undefined;
  if (backingUp) {
    const rootPkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', rootKeys.privateKey));
    const intermediatePkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', intermediateKeys.privateKey));
    try {
      const sealed = await sealCaBackup({
        label,
        createdAt: now,
        certificates: { root: rootDer, intermediate: intermediateDer, chain: [] },
        keys: { root: rootPkcs8, intermediate: intermediatePkcs8 },
        passphrase: options.backupPassphrase!,
        ...(options.backupIterations !== undefined ? { iterations: options.backupIterations } : {}),
      });
      if (!sealed.ok) return sealed;
      backup = sealed.value;
      rootPrivateKey = await importP256SigningKey(rootPkcs8);
      intermediatePrivateKey = await importP256SigningKey(intermediatePkcs8);
    } finally {
      rootPkcs8.fill(0);
      intermediatePkcs8.fill(0);
    }
  }

  const ca: CertificateAuthority = {
    id: await caIdFor(intermediateDer),
    label,
    createdAt: now,
    origin: 'created',
    backup: backingUp ? 'passphrase-backup' : 'none',
    root: { certificate: rootDer, privateKey: rootPrivateKey },
    intermediate: { certificate: intermediateDer, privateKey: intermediatePrivateKey },
    chain: [],
  };
  return ok(backup ? { ca, backup } : { ca });
}
