/**
 * Working with an external CA by file hand-off: export a batch of device CSRs (JSON, and a PEM
 * bundle for tools that want one file of CSRs), then import the certificates the CA sent back,
 * matched to devices by public key — the SHA-256 of the SubjectPublicKeyInfo — never by name or
 * order, since external CAs rewrite subjects and reorder files. Certificates in the returned file
 * that are CAs are taken as chain certificates. With a `trust` root, every matched certificate
 * must also verify to it; those that do not are reported as mismatched with the chain reason.
 */
import { type Result, ok } from '../smp/result';
import { describeCaught, fail, type PkiError } from './errors';
import { type CertificateInput, type ParseError, type ParseErrorCode, type ParsedCertificate, parseCertificate, spkiFingerprint, toParsedCertificate } from './parse';
import { decodePem, encodePem } from './pem';
import { type ChainErrorCode, type CsrErrorCode, sameName, verifyChain, verifyCsr } from './verify';

export const CSR_BATCH_FORMAT = 'imprint-csr-batch/1';
/** Longest issuer chain followed when ordering returned certificates. */
const MAX_CHAIN_DEPTH = 8;

export interface CsrBatchRequest {
  deviceId: string;
  /** The subject the CSR asks for, for people; the CA may change it. */
  subject: string;
  /** SHA-256 of the CSR's SubjectPublicKeyInfo, hex: the matching key. */
  spkiSha256: string;
  /** PEM `CERTIFICATE REQUEST`. */
  csr: string;
}

export interface CsrBatch {
  format: typeof CSR_BATCH_FORMAT;
  createdAt: string;
  requests: CsrBatchRequest[];
}

export interface ExportedCsrBatch {
  batch: CsrBatch;
  json: string;
  /** Every CSR as PEM, each preceded by `deviceId:`/`subject:` lines (RFC 7468 explanatory text). */
  pem: string;
}

export type ExternalCaErrorCode = ParseErrorCode | CsrErrorCode | 'batch-malformed' | 'batch-duplicate' | 'batch-empty';
export type ExternalCaError = PkiError<ExternalCaErrorCode>;

export interface MatchedCertificate {
  deviceId: string;
  certificate: ParsedCertificate;
  /** The CA issued a different subject than the CSR asked for. */
  subjectChanged: boolean;
}

export interface ImportReport {
  matched: MatchedCertificate[];
  /** The key matches a device but the certificate cannot be used: a second one for the device, or it does not verify to `trust`. */
  mismatched: { deviceId: string; certificate: ParsedCertificate; reason: PkiError<ChainErrorCode | 'duplicate'> }[];
  /** Leaf certificates whose key is in no request of the batch. */
  unmatched: { certificate: ParsedCertificate; spkiSha256: string }[];
  /** CA certificates found in the returned file (used as the chain). */
  caCertificates: ParsedCertificate[];
  /** Blocks that did not parse or are not certificates, by position (0-based) in the file. */
  invalid: { index: number; error: ParseError }[];
  /** Devices of the batch that got no certificate. */
  missing: string[];
}

/**
 * @example const exported = await exportCsrBatch([{ deviceId: 'dev-1', csr: csrDer }]);
 *   if (exported.ok) { download('batch.json', exported.value.json); download('csrs.pem', exported.value.pem); }
 */
export async function exportCsrBatch(
  requests: readonly { deviceId: string; csr: Uint8Array | string }[],
  options: { now?: Date } = {},
): Promise<Result<ExportedCsrBatch, ExternalCaError>> {
  if (requests.length === 0) return fail('batch-empty', 'no CSRs to export');
  const out: CsrBatchRequest[] = [];
  const devices = new Set<string>();
  const keys = new Map<string, string>();
  for (const request of requests) {
    const idProblem = deviceIdProblem(request.deviceId);
    if (idProblem) return fail('batch-malformed', `device id ${JSON.stringify(request.deviceId.slice(0, 40))}: ${idProblem}`);
    if (devices.has(request.deviceId)) return fail('batch-duplicate', `device ${request.deviceId} is in the batch twice`);
    devices.add(request.deviceId);
    const csr = await verifyCsr(request.csr);
    if (!csr.ok) return fail(csr.error.code, `device ${request.deviceId}: ${csr.error.message}`);
    const spkiSha256 = await spkiFingerprint(csr.value.publicKey.spki);
    const other = keys.get(spkiSha256);
    if (other) return fail('batch-duplicate', `devices ${other} and ${request.deviceId} have the same public key`);
    keys.set(spkiSha256, request.deviceId);
    out.push({ deviceId: request.deviceId, subject: csr.value.subject.text, spkiSha256, csr: encodePem('CERTIFICATE REQUEST', csr.value.der) });
  }
  const batch: CsrBatch = { format: CSR_BATCH_FORMAT, createdAt: (options.now ?? new Date()).toISOString(), requests: out };
  const pem = out.map((request) => `deviceId: ${request.deviceId}\nsubject: ${request.subject}\n${request.csr}`).join('\n');
  return ok({ batch, json: `${JSON.stringify(batch, null, 2)}\n`, pem });
}

/** Reads a batch file back, re-deriving every key fingerprint from its CSR rather than trusting the file. */
export async function parseCsrBatch(text: string): Promise<Result<CsrBatch, ExternalCaError>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (caught) {
    return fail('batch-malformed', `CSR batch: not JSON (${describeCaught(caught)})`);
  }
  const record = value as Partial<CsrBatch> | null;
  if (typeof record !== 'object' || record === null || record.format !== CSR_BATCH_FORMAT || !Array.isArray(record.requests) || typeof record.createdAt !== 'string') {
    return fail('batch-malformed', `CSR batch: not an ${CSR_BATCH_FORMAT} file`);
  }
  const exported = await exportCsrBatch(
    record.requests.map((request) => ({ deviceId: String((request as CsrBatchRequest | null)?.deviceId ?? ''), csr: String((request as CsrBatchRequest | null)?.csr ?? '') })),
    { now: new Date(record.createdAt) },
  );
  if (!exported.ok) return exported;
  for (const [index, request] of exported.value.batch.requests.entries()) {
    if (request.spkiSha256 !== record.requests[index]?.spkiSha256) return fail('batch-malformed', `CSR batch: the key fingerprint recorded for ${request.deviceId} does not match its CSR`);
  }
  return ok({ ...exported.value.batch, createdAt: record.createdAt });
}

/**
 * Matches returned certificates to the batch's devices by public key.
 * @example const report = await importSignedCertificates({ batch, certificates: returnedPem, trust: { root: externalRootPem } });
 */
export async function importSignedCertificates(input: {
  batch: CsrBatch;
  certificates: string | readonly Uint8Array[];
  /** The external CA's root (and intermediates not included in the file): matched certificates must verify to it. */
  trust?: { root: CertificateInput; intermediates?: readonly CertificateInput[] };
  at?: Date;
}): Promise<Result<ImportReport, ExternalCaError>> {
  const report: ImportReport = { matched: [], mismatched: [], unmatched: [], caCertificates: [], invalid: [], missing: [] };
  const ders = readBlocks(input.certificates, report);
  if (!ders.ok) return ders;
  const leaves: ParsedCertificate[] = [];
  for (const { index, der } of ders.value) {
    const parsed = parseCertificate(der);
    if (!parsed.ok) report.invalid.push({ index, error: parsed.error });
    else if (parsed.value.extensions.basicConstraints?.ca) report.caCertificates.push(parsed.value);
    else leaves.push(parsed.value);
  }
  report.invalid.sort((a, b) => a.index - b.index);
  const pool: ParsedCertificate[] = [...report.caCertificates];
  for (const item of input.trust?.intermediates ?? []) {
    const parsed = toParsedCertificate(item);
    if (!parsed.ok) return fail(parsed.error.code, `trusted intermediate: ${parsed.error.message}`);
    pool.push(parsed.value);
  }
  let rootCertificate: ParsedCertificate | undefined;
  if (input.trust) {
    const parsed = toParsedCertificate(input.trust.root);
    if (!parsed.ok) return fail(parsed.error.code, `trusted root: ${parsed.error.message}`);
    rootCertificate = parsed.value;
  }

  const byKey = new Map(input.batch.requests.map((request) => [request.spkiSha256, request]));
  const served = new Set<string>();
  for (const certificate of leaves) {
    const spkiSha256 = await spkiFingerprint(certificate.publicKey.spki);
    const request = byKey.get(spkiSha256);
    if (!request) {
      report.unmatched.push({ certificate, spkiSha256 });
      continue;
    }
    if (served.has(request.deviceId)) {
      report.mismatched.push({ deviceId: request.deviceId, certificate, reason: { code: 'duplicate', message: `a certificate for ${request.deviceId} was already matched in this file` } });
      continue;
    }
    if (rootCertificate) {
      const verified = await verifyChain({ chain: orderChain(certificate, pool, rootCertificate), root: rootCertificate, ...(input.at ? { at: input.at } : {}) });
      if (!verified.ok) {
        report.mismatched.push({ deviceId: request.deviceId, certificate, reason: { code: verified.error.code, message: verified.error.message } });
        continue;
      }
    }
    served.add(request.deviceId);
    report.matched.push({ deviceId: request.deviceId, certificate, subjectChanged: certificate.subject.text !== request.subject });
  }
  report.missing = input.batch.requests.filter((request) => !served.has(request.deviceId)).map((request) => request.deviceId);
  return ok(report);
}

/** The certificate blocks with their position in the file; other blocks are reported invalid. */
function readBlocks(input: string | readonly Uint8Array[], report: ImportReport): Result<{ index: number; der: Uint8Array }[], ExternalCaError> {
  if (typeof input !== 'string') return ok(input.map((der, index) => ({ index, der })));
  const decoded = decodePem(input);
  if (!decoded.ok) return decoded;
  const ders: { index: number; der: Uint8Array }[] = [];
  for (const [index, block] of decoded.value.entries()) {
    if (block.label === 'CERTIFICATE') ders.push({ index, der: block.der });
    else report.invalid.push({ index, error: { code: 'pem-wrong-label', message: `PEM block ${index + 1}: expected CERTIFICATE, found ${block.label}` } });
  }
  return ok(ders);
}

/** `leaf` followed by the certificates of `pool` that lead up from it by name, stopping at `root`. */
function orderChain(leaf: ParsedCertificate, pool: readonly ParsedCertificate[], root: ParsedCertificate): ParsedCertificate[] {
  const chain = [leaf];
  let current = leaf;
  while (chain.length <= MAX_CHAIN_DEPTH && !sameName(current.issuer, root.subject)) {
    const next = pool.find((candidate) => !chain.includes(candidate) && sameName(current.issuer, candidate.subject));
    if (!next) break;
    chain.push(next);
    current = next;
  }
  return chain;
}

function deviceIdProblem(deviceId: string): string | undefined {
  if (deviceId.length === 0) return 'is empty';
  if (deviceId.length > 128) return 'is longer than 128 characters';
    if (/[\u0000-\u001f\u007f-\u009f]/.test(deviceId)) return 'contains a control character';
  return undefined;
}
