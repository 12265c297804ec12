/**
 * Offline verification: a CSR's self-signature, and a certificate chain to a root the operator
 * chose (RFC 5280 §6 path validation, reduced to what Imprint's PKI uses). Signatures must be
 * ECDSA P-256 / SHA-256 and are checked through `verifyEcdsaP256` (WebCrypto, noble fallback) over
 * the exact to-be-signed bytes. Every failure is a typed reason naming the certificate and why.
 *
 * Checks, from the root down to the leaf, stopping at the first failure:
 * names chain (issuer = subject above, byte-wise or after RFC 5280 §7.1 case/space folding),
 * authority/subject key identifiers agree when both are present, the signature, validity at `at`,
 * basicConstraints CA:true and pathLenConstraint for issuers, keyUsage keyCertSign for issuers
 * (when the extension is present), digitalSignature for an end-entity leaf (when present), and no
 * critical extension whose meaning we do not enforce. The root is checked too (validity, CA,
 * keyCertSign, and its self-signature when self-issued).
 */
import { equalBytes } from '../util/bytes';
import { type Result, ok } from '../smp/result';
import { verifyEcdsaP256Der } from './ecdsa';
import { fail, type PkiError } from './errors';
import { OID_ECDSA_WITH_SHA256 } from './oids';
import {
  type CertificateInput,
  type ParseErrorCode,
  type ParsedCertificate,
  type ParsedCsr,
  type ParsedName,
  type PublicKeyInfo,
  parseCsr,
  type SignedStructure,
  toParsedCertificate,
} from './parse';

export type CsrErrorCode = ParseErrorCode | 'csr-unsupported-algorithm' | 'csr-bad-signature';
export type CsrError = PkiError<CsrErrorCode>;

export type ChainErrorCode =
  | 'chain-malformed'
  | 'chain-unknown-root'
  | 'chain-name-mismatch'
  | 'chain-key-id-mismatch'
  | 'chain-unsupported-algorithm'
  | 'chain-bad-signature'
  | 'chain-expired'
  | 'chain-not-yet-valid'
  | 'chain-not-ca'
  | 'chain-path-length'
  | 'chain-key-usage'
  | 'chain-unhandled-critical-extension';

export interface ChainError extends PkiError<ChainErrorCode> {
  /** Which certificate failed: `index` counts from the leaf (0) to the root. */
  certificate?: { role: 'leaf' | 'intermediate' | 'root'; index: number; subject: string };
}

export interface VerifyChainInput {
  /** The leaf first, then the certificates above it, in order; the root may be repeated at the end. */
  chain: readonly CertificateInput[];
  /** The trust anchor the chain must end at. */
  root: CertificateInput;
  /** When to check validity; now by default. */
  at?: Date;
  /** `end-entity` (default): the leaf is a device certificate. `ca`: the leaf is itself an issuing CA (importing a CA). */
  leaf?: 'end-entity' | 'ca';
}

export interface VerifiedChain {
  /** Leaf first, root last. */
  path: ParsedCertificate[];
  /** The earliest notAfter on the path: when the chain stops verifying. */
  validUntil: Date;
}

/**
 * Parses a CSR (if needed) and checks it is signed by its own key with ECDSA P-256 / SHA-256.
 * @example const csr = await verifyCsr(csrDer); if (!csr.ok) return csr; // csr-bad-signature, …
 */
export async function verifyCsr(input: Uint8Array | string | ParsedCsr): Promise<Result<ParsedCsr, CsrError>> {
  const parsed = typeof input === 'object' && !(input instanceof Uint8Array) ? ok(input) : parseCsr(input);
  if (!parsed.ok) return parsed;
  const csr = parsed.value;
  const checked = await checkSignature(csr, csr.publicKey);
  if (!checked.ok) {
    const code = checked.error.code === 'unsupported' ? 'csr-unsupported-algorithm' : 'csr-bad-signature';
    return fail(code, `CSR for ${csr.subject.text || '(empty subject)'}: ${checked.error.message}`);
  }
  return ok(csr);
}

/**
 * @example const verified = await verifyChain({ chain: [deviceDer, intermediateDer], root: rootDer });
 *   if (!verified.ok) show(verified.error.message); // e.g. chain-expired: leaf 'CN=dev-1' expired on …
 */
export async function verifyChain(input: VerifyChainInput): Promise<Result<VerifiedChain, ChainError>> {
  const at = input.at ?? new Date();
  const rootParsed = parseInput(input.root, 'root');
  if (!rootParsed.ok) return rootParsed;
  const root = rootParsed.value;
  const chain: ParsedCertificate[] = [];
  for (const [index, item] of input.chain.entries()) {
    const parsed = parseInput(item, index === 0 ? 'leaf' : `certificate ${index}`);
    if (!parsed.ok) return parsed;
    chain.push(parsed.value);
  }
  if (chain.length > 0 && equalBytes(chain[chain.length - 1]!.der, root.der)) chain.pop();
  const path = [...chain, root];
  const leafProfile = input.leaf ?? 'end-entity';
  const rootIndex = path.length - 1;
  const position = (index: number): NonNullable<ChainError['certificate']> => ({
    role: index === 0 && index !== rootIndex ? 'leaf' : index === rootIndex ? 'root' : 'intermediate',
    index,
    subject: path[index]!.subject.text,
  });
  const name = (index: number) => {
    const { role, subject } = position(index);
    return `${role}${role === 'intermediate' ? ` ${index}` : ''} '${subject}'`;
  };
  const chainFail = (code: ChainErrorCode, index: number, why: string): { ok: false; error: ChainError } => ({
    ok: false,
    error: { code, message: `${name(index)} ${why}`, certificate: position(index) },
  });

  for (let index = rootIndex; index >= 0; index--) {
    const certificate = path[index]!;
    const isRoot = index === rootIndex;
    const issuer = isRoot ? root : path[index + 1]!;
    const isLeaf = index === 0;

    if (!isRoot) {
      if (!sameName(certificate.issuer, issuer.subject)) {
        return index === rootIndex - 1
          ? chainFail('chain-unknown-root', index, `is issued by '${certificate.issuer.text}', not by the chosen root '${root.subject.text}'`)
          : chainFail('chain-name-mismatch', index, `names '${certificate.issuer.text}' as its issuer, but the next certificate is '${issuer.subject.text}'`);
      }
      const aki = certificate.extensions.authorityKeyId;
      const ski = issuer.extensions.subjectKeyId;
      if (aki && ski && aki !== ski) {
        return index === rootIndex - 1
          ? chainFail('chain-unknown-root', index, `is issued by a different key (authority key id ${aki}) than the chosen root's (${ski}), though the names match`)
          : chainFail('chain-key-id-mismatch', index, `has authority key id ${aki}, but ${name(index + 1)} has subject key id ${ski}`);
      }
    }
    if (!isRoot || certificate.selfIssued) {
      const signature = await checkSignature(certificate, issuer.publicKey);
      if (!signature.ok) {
        return chainFail(signature.error.code === 'unsupported' ? 'chain-unsupported-algorithm' : 'chain-bad-signature', index, `${isRoot ? 'self-signature' : `signature by ${name(index + 1)}`}: ${signature.error.message}`);
      }
    }
    if (at.getTime() > certificate.notAfter.getTime()) return chainFail('chain-expired', index, `expired on ${certificate.notAfter.toISOString()} (checked at ${at.toISOString()})`);
    if (at.getTime() < certificate.notBefore.getTime()) return chainFail('chain-not-yet-valid', index, `is not valid before ${certificate.notBefore.toISOString()} (checked at ${at.toISOString()})`);

    const actsAsCa = isRoot || !isLeaf || leafProfile === 'ca';
    const { basicConstraints, keyUsage, unhandledCritical } = certificate.extensions;
    if (actsAsCa) {
      if (!basicConstraints?.ca) return chainFail('chain-not-ca', index, `is not a CA certificate (basicConstraints CA is ${basicConstraints ? 'false' : 'absent'}) but issues certificates`);
      if (keyUsage && !keyUsage.usages.includes('keyCertSign')) return chainFail('chain-key-usage', index, `may not sign certificates (keyUsage ${keyUsage.usages.join(', ') || 'empty'} lacks keyCertSign)`);
      const below = intermediatesBelow(path, index, leafProfile === 'ca');
      if (basicConstraints.pathLength !== undefined && below > basicConstraints.pathLength) {
        return chainFail('chain-path-length', index, `allows ${basicConstraints.pathLength} intermediate CA(s) below it (pathLenConstraint), but the chain has ${below}`);
      }
    } else if (keyUsage && !keyUsage.usages.includes('digitalSignature')) {
      return chainFail('chain-key-usage', index, `is a device certificate without digitalSignature in keyUsage (${keyUsage.usages.join(', ') || 'empty'})`);
    }
    if (unhandledCritical.length > 0) return chainFail('chain-unhandled-critical-extension', index, `has critical extension(s) Imprint does not enforce: ${unhandledCritical.join(', ')}`);
  }
  const validUntil = new Date(Math.min(...path.map((certificate) => certificate.notAfter.getTime())));
  return ok({ path, validUntil });
}

/**
 * Checks `signed` against `issuerKey`: ECDSA with SHA-256 by a P-256 key, nothing else.
 * Shared with CRL verification; not part of the public surface.
 */
export async function checkSignature(signed: SignedStructure, issuerKey: PublicKeyInfo): Promise<Result<void, PkiError<'unsupported' | 'bad'>>> {
  if (signed.signatureAlgorithm !== OID_ECDSA_WITH_SHA256) return fail('unsupported', `signature algorithm ${signed.signatureAlgorithm} is not ecdsa-with-SHA256`);
  if (issuerKey.algorithm !== 'P-256' || !issuerKey.point) return fail('unsupported', `the signing key is not a P-256 key (algorithm ${issuerKey.algorithmOid})`);
  const verified = await verifyEcdsaP256Der(issuerKey.point, signed.tbs, signed.signature);
  if (!verified.ok) return fail('bad', verified.error.code === 'ecdsa-bad-encoding' ? `the signature is not valid DER (${verified.error.message})` : 'the signature does not verify');
  return ok(undefined);
}

/** RFC 5280 §7.1: byte-equal names match; otherwise compare attribute by attribute, ignoring case and runs of spaces. */
export function sameName(a: ParsedName, b: ParsedName): boolean {
  if (equalBytes(a.der, b.der)) return true;
  if (a.attributes.length !== b.attributes.length) return false;
  const fold = (value: string) => value.trim().replace(/\s+/g, ' ').toLowerCase();
  return a.attributes.every((attribute, i) => attribute.oid === b.attributes[i]!.oid && fold(attribute.value) === fold(b.attributes[i]!.value));
}

/**
 * Non-self-issued intermediate CAs between `index` and the end entity (RFC 5280 §6.1.4 (l)).
 * When the leaf is itself a CA (importing one), it counts: it will sit above the devices it issues.
 */
function intermediatesBelow(path: readonly ParsedCertificate[], index: number, leafIsCa: boolean): number {
  let count = 0;
  for (let i = leafIsCa ? 0 : 1; i < index; i++) if (!path[i]!.selfIssued) count++;
  return count;
}

function parseInput(input: CertificateInput, what: string): Result<ParsedCertificate, ChainError> {
  const parsed = toParsedCertificate(input);
  if (!parsed.ok) return fail('chain-malformed', `${what}: ${parsed.error.message}`);
  return parsed;
}

