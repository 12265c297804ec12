/**
 * The certificate parts both flows share: the subject a key's certificate gets (and the form the
 * board's CSR builder takes), the check that a board's CSR is for the right key and subject, the
 * check of a chain read back from the board, and the summary a result carries.
 */
import {
  type CertificateAuthority,
  encodePem,
  type IssuedCertificate,
  NAME_ATTRIBUTES,
  type ParsedCertificate,
  type ParsedCsr,
  renderSubject,
  type SubjectName,
  splitCertificateChain,
  verifyChain,
} from '../pki';
import { type Result, ok } from '../smp/result';
import { equalBytes } from '../util/bytes';
import type { RunContext } from './context';
import { fail, type ProvisioningError } from './errors';
import type { CertificateSummary } from './result';

/** The `{placeholder}` values a subject template can use: the operator's, then the run's (which win). */
export function subjectValues(ctx: RunContext, key?: { label: string; keyId: string }): Record<string, string> {
  return {
    ...ctx.input.subjectValues,
    boardSerial: ctx.input.boardSerial,
    deviceId: ctx.deviceId ?? ctx.input.boardSerial,
    profile: ctx.plan.profile.id,
    ...(key ? { keyLabel: key.label, keyId: key.keyId } : {}),
  };
}

export function renderKeySubject(ctx: RunContext, template: string, key?: { label: string; keyId: string }): Result<SubjectName, ProvisioningError> {
  const subject = renderSubject(template, subjectValues(ctx, key));
  if (!subject.ok) return fail('subject-invalid', `the certificate subject: ${subject.error.message}`, { ...(key ? { key: key.label } : {}), cause: subject.error });
  return subject;
}

/**
 * The subject in the keys group's CSR syntax (docs/protocol/keys-group.md §5.8): `TYPE=value`
 * joined by commas. Rendered values never hold `,` `\` `=` (renderSubject refuses them), so
 * nothing needs escaping.
 */
export function boardSubject(subject: SubjectName): string {
  return subject.attributes.map(({ type, value }) => `${type}=${value}`).join(',');
}

/** The CSR is for `publicKey` and names exactly `subject`'s attributes, in order. */
export function checkCsr(csr: ParsedCsr, publicKey: Uint8Array, subject: SubjectName, label: string): Result<void, ProvisioningError> {
  if (!csr.publicKey.point || !equalBytes(csr.publicKey.point, publicKey)) {
    return fail('csr-key-mismatch', `the board's CSR for "${label}" is for another public key than the key it reported`, { key: label });
  }
  const wanted = subject.attributes.map(({ type, value }) => `${NAME_ATTRIBUTES[type].oid}=${value}`).join(',');
  const got = csr.subject.attributes.map(({ oid, value }) => `${oid}=${value}`).join(',');
  if (wanted !== got) return fail('csr-subject-mismatch', `the board's CSR for "${label}" names "${csr.subject.text}", the template gives "${subject.text}"`, { key: label });
  return ok(undefined);
}

/** The chain bytes for the board: the device certificate, then the issuer chain (root left out). */
export function chainBytes(issued: IssuedCertificate): Uint8Array[] {
  return [issued.der, ...issued.chain];
}

/**
 * The chain as read back verifies to the CA's root (signatures, names, validity, CA flags) and
 * its leaf certifies `spki`. Returns the parsed leaf.
 */
export async function verifyStoredChain(ctx: RunContext, stored: Uint8Array, ca: CertificateAuthority, spki: Uint8Array, label: string): Promise<Result<ParsedCertificate, ProvisioningError>> {
  const parts = splitCertificateChain(stored);
  if (!parts.ok) return fail('chain-invalid', `the chain of "${label}" read back: ${parts.error.message}`, { key: label, cause: parts.error });
  const verified = await ctx.crypto(() => verifyChain({ chain: parts.value, root: ca.root.certificate, at: ctx.now() }));
  if (!verified.ok) return fail('chain-invalid', `the chain of "${label}" does not verify to the CA root: ${verified.error.message}`, { key: label, cause: verified.error });
  const leaf = verified.value.path[0]!;
  if (!equalBytes(leaf.publicKey.spki, spki)) return fail('chain-invalid', `the certificate stored for "${label}" certifies another key`, { key: label });
  return ok(leaf);
}

export function certificateSummary(issued: IssuedCertificate): CertificateSummary {
  return {
    pem: issued.pem,
    fingerprint: issued.fingerprint,
    serialNumber: issued.serialNumber,
    subject: issued.subject,
    notBefore: issued.notBefore.toISOString(),
    notAfter: issued.notAfter.toISOString(),
    chainPem: issued.chain.map((der) => encodePem('CERTIFICATE', der)),
  };
}

/** Where two byte strings first differ (or where the shorter ends). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}
