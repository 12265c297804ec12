/**
 * The certificate authority as a value: certificates as DER and private keys as non-extractable
 * WebCrypto `CryptoKey`s, which IndexedDB stores by structured clone without ever exposing the
 * key bytes. Created (`ca.ts`), imported (`import-ca.ts`) or restored (`backup.ts`); stored by
 * `store.ts`. Its id is the SHA-256 of the intermediate certificate, so restoring the same backup
 * twice finds the same record.
 */
import { type Result, ok } from '../smp/result';
import { type ParsedCertificate, certificateFingerprint } from './parse';
import { type ChainError, verifyChain } from './verify';

export type CaOrigin = 'created' | 'imported' | 'restored';
/**
 * `passphrase-backup`: a wrapped backup was made when the keys entered the browser (the only
 * moment one can be). `operator-held-key`: imported from a PKCS#8 key the operator still holds.
 * `none`: lose this browser profile and the CA is gone.
 */
export type CaBackupState = 'none' | 'passphrase-backup' | 'operator-held-key';

export interface CertificateAuthority {
  id: string;
  label: string;
  createdAt: Date;
  origin: CaOrigin;
  backup: CaBackupState;
  /** The trust anchor. Its key signs only intermediates; absent when an imported CA's root stayed elsewhere. */
  root: { certificate: Uint8Array; privateKey?: CryptoKey };
  /** The issuing CA: signs device certificates and CRLs. */
  intermediate: { certificate: Uint8Array; privateKey: CryptoKey };
  /** Certificates between the intermediate and the root, issuing side first (imported CAs only; empty otherwise). */
  chain: Uint8Array[];
}

/** The id a CA gets: SHA-256 of its intermediate certificate, hex. */
export function caIdFor(intermediateDer: Uint8Array): Promise<string> {
  return certificateFingerprint(intermediateDer);
}

/** What a device stores above its own certificate: the intermediate and any chain, without the root. */
export function issuerChain(ca: CertificateAuthority): Uint8Array[] {
  return [ca.intermediate.certificate, ...ca.chain];
}

/**
 * Checks that `intermediate` and `chain` lead to `root` (signatures, names, CA flags, path length).
 * Not the clock: it is checked at the latest notBefore on the path, so an expired CA can still be
 * restored or imported to read its history (issuing from it is refused in `issue.ts`).
 */
export async function checkCaCertificates(
  intermediate: ParsedCertificate,
  chain: readonly ParsedCertificate[],
  root: ParsedCertificate,
): Promise<Result<ParsedCertificate[], ChainError>> {
  const path = [intermediate, ...chain, root];
  const at = new Date(Math.max(...path.map((certificate) => certificate.notBefore.getTime())));
  const verified = await verifyChain({ chain: path, root, at, leaf: 'ca' });
  return verified.ok ? ok(verified.value.path) : verified;
}
