/**
 * Importing an existing CA: its certificates (issuing CA first, up to and including its root)
 * with the issuing CA's PKCS#8 private key (and optionally the root's), or an Imprint backup.
 * Keys are imported non-extractable and proved to match their certificates by signing a
 * challenge; the certificates must form a CA chain. Since the PKCS#8 bytes are in hand here, this
 * is the other moment a wrapped backup can be made (`backupPassphrase`). Nothing is stored here.
 */
import { type Result, ok } from '../smp/result';
import { type CertificateAuthority, caIdFor, checkCaCertificates } from './authority';
import { type BackupErrorCode, type CaBackup, restoreCaBackup, sealCaBackup, checkPassphrase } from './backup';
import { describeCaught, fail, type PkiError } from './errors';
import { type ParseErrorCode, type ParsedCertificate, parseCertificate } from './parse';
import { decodePemAs, toDer } from './pem';
import { importP256SigningKey, privateKeyMatches } from './signing-key';
import { wholeSeconds } from './profile';

export type ImportCaInput =
  | {
      kind: 'pkcs8';
      /** PEM bundle or DER list: the issuing CA first, the root last (one self-signed certificate is a single-level CA). */
      certificates: string | readonly Uint8Array[];
      /** PKCS#8 of the issuing CA's key (PEM `PRIVATE KEY` or DER). */
      privateKey: string | Uint8Array;
      rootPrivateKey?: string | Uint8Array;
      label?: string;
      backupPassphrase?: string;
      backupIterations?: number;
      now?: Date;
    }
  | { kind: 'backup'; backup: string | CaBackup; passphrase: string };

export interface ImportedCa {
  ca: CertificateAuthority;
  backup?: CaBackup;
}

export type ImportCaErrorCode = ParseErrorCode | BackupErrorCode | 'import-no-root' | 'import-bad-chain' | 'import-bad-key' | 'import-key-mismatch';
export type ImportCaError = PkiError<ImportCaErrorCode>;

/**
 * @example const imported = await importCa({ kind: 'pkcs8', certificates: chainPem, privateKey: keyPem });
 *   if (!imported.ok) show(imported.error.message); // e.g. import-key-mismatch
 */
export async function importCa(input: ImportCaInput): Promise<Result<ImportedCa, ImportCaError>> {
  if (input.kind === 'backup') {
    const restored = await restoreCaBackup(input.backup, input.passphrase);
    return restored.ok ? ok({ ca: restored.value }) : restored;
  }
  if (input.backupPassphrase !== undefined) {
    const passphrase = checkPassphrase(input.backupPassphrase);
    if (!passphrase.ok) return passphrase;
  }
  const certificates = readCertificates(input.certificates);
  if (!certificates.ok) return certificates;
  const list = certificates.value;
  const root = list[list.length - 1]!;
  if (!root.selfIssued) return fail('import-no-root', `the last certificate ('${root.subject.text}') is not a self-signed root; add the root at the end of the bundle`);
  const intermediate = list[0]!;
  const chain = list.length > 2 ? list.slice(1, -1) : [];
  const checked = await checkCaCertificates(intermediate, chain, root);
  if (!checked.ok) return fail('import-bad-chain', `the certificates do not form a CA chain: ${checked.error.message}`);

  const intermediateKey = await readKey(input.privateKey, intermediate, 'issuing CA');
  if (!intermediateKey.ok) return intermediateKey;
  const rootKey = input.rootPrivateKey !== undefined ? await readKey(input.rootPrivateKey, root, 'root') : undefined;
  if (rootKey && !rootKey.ok) return rootKey;

  const label = input.label ?? intermediate.subject.attributes.find((attribute) => attribute.type === 'CN')?.value ?? 'Imported CA';
  const createdAt = wholeSeconds(input.now ?? new Date());
  let backup: CaBackup | undefined;
  try {
    if (input.backupPassphrase !== undefined) {
      const sealed = await sealCaBackup({
        label,
        createdAt,
        certificates: { root: root.der, intermediate: intermediate.der, chain: chain.map((certificate) => certificate.der) },
        keys: { intermediate: intermediateKey.value.pkcs8, ...(rootKey ? { root: rootKey.value.pkcs8 } : {}) },
        passphrase: input.backupPassphrase,
        ...(input.backupIterations !== undefined ? { iterations: input.backupIterations } : {}),
      });
      if (!sealed.ok) return sealed;
      backup = sealed.value;
    }
  } finally {
    if (typeof input.privateKey === 'string') intermediateKey.value.pkcs8.fill(0);
    if (rootKey && typeof input.rootPrivateKey === 'string') rootKey.value.pkcs8.fill(0);
  }
  const ca: CertificateAuthority = {
    id: await caIdFor(intermediate.der),
    label,
    createdAt,
    origin: 'imported',
    backup: backup ? 'passphrase-backup' : 'operator-held-key',
    root: { certificate: root.der, ...(rootKey ? { privateKey: rootKey.value.key } : {}) },
    intermediate: { certificate: intermediate.der, privateKey: intermediateKey.value.key },
    chain: chain.map((certificate) => certificate.der),
  };
  return ok(backup ? { ca, backup } : { ca });
}

function readCertificates(input: string | readonly Uint8Array[]): Result<ParsedCertificate[], ImportCaError> {
  let ders: readonly Uint8Array[];
  if (typeof input === 'string') {
    const decoded = decodePemAs(input, 'CERTIFICATE');
    if (!decoded.ok) return decoded;
    ders = decoded.value;
  } else {
    ders = input;
  }
  if (ders.length === 0) return fail('pem-empty', 'no certificates given');
  const parsed: ParsedCertificate[] = [];
  for (const [index, der] of ders.entries()) {
    const certificate = parseCertificate(der);
    if (!certificate.ok) return fail(certificate.error.code, `certificate ${index + 1}: ${certificate.error.message}`);
    parsed.push(certificate.value);
  }
  return ok(parsed);
}

async function readKey(input: string | Uint8Array, certificate: ParsedCertificate, role: string): Promise<Result<{ key: CryptoKey; pkcs8: Uint8Array }, ImportCaError>> {
  const pkcs8 = toDer(input, 'PRIVATE KEY');
  if (!pkcs8.ok) return fail(pkcs8.error.code, `${role} key: ${pkcs8.error.message}`);
  const forget = () => typeof input === 'string' && pkcs8.value.fill(0);
  let key: CryptoKey;
  try {
    key = await importP256SigningKey(pkcs8.value);
  } catch (caught) {
    forget();
    return fail('import-bad-key', `${role} key: not a P-256 PKCS#8 private key (${describeCaught(caught)})`);
  }
  if (!certificate.publicKey.point || !(await privateKeyMatches(key, certificate.publicKey.point))) {
    forget();
    return fail('import-key-mismatch', `${role} key: does not belong to the certificate '${certificate.subject.text}'`);
  }
  return ok({ key, pkcs8: pkcs8.value });
}
