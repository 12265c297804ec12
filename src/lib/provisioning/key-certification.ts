/**
 * The certificate half of a keys-group run, for one key: a CSR from the board (or proof of
 * possession when it builds none), a certificate from the station's CA, the chain stored on the
 * board, read back byte for byte, and verified to the CA root with a fresh signature by the key.
 * keys-flow.ts makes the keys and routes these steps here.
 */
import type { KeyEntry, KeysError, KeysGroup } from '../device';
import { type IssuedCertificate, issueDeviceCertificate, verifyCsr, verifyEcdsaP256 } from '../pki';
import { type Result, ok, err } from '../smp/result';
import { concatBytes, equalBytes, utf8 } from '../util/bytes';
import { boardSubject, chainBytes, checkCsr, firstDifference, renderKeySubject, subjectValues, verifyStoredChain } from './certificates';
import type { RunContext, StepDone } from './context';
import { fail, fromBoardError, type ProvisioningError } from './errors';
import type { KeysGroupProfile, ProfileKey } from './profile';
import type { CertificatePathTaken } from './result';

/** What the board signs as proof of possession: this label, a zero byte, 32 fresh random bytes (never the reserved `imprint keys ` prefix). */
export const CHALLENGE_LABEL = 'imprint provisioning challenge v1';
const CHALLENGE_RANDOM_BYTES = 32;

/** A challenge for the board to sign: `CHALLENGE_LABEL`, a zero byte, 32 fresh random bytes. */
export function freshChallenge(): Uint8Array {
  return concatBytes(utf8.encode(CHALLENGE_LABEL), new Uint8Array([0]), crypto.getRandomValues(new Uint8Array(CHALLENGE_RANDOM_BYTES)));
}

/** One planned key as a keys-group run makes and certifies it. */
export interface KeyState {
  plan: ProfileKey;
  id: number;
  keyId: string;
  /** What the board held at this id before the run. */
  existed: KeyEntry | null;
  /** This run put a key at `id`: a failure destroys it. */
  created: boolean;
  publicKey: Uint8Array | null;
  spki: Uint8Array | null;
  spkiFingerprint: string | null;
  /** The CSR the CA issues from; null for proof of possession. */
  csr: Uint8Array | null;
  path: CertificatePathTaken | null;
  issued: IssuedCertificate | null;
  /** The chain as read back from the board. */
  stored: Uint8Array | null;
  /** The usage flags the board reported for the key. */
  usage: number | null;
}

export class KeyCertification {
  constructor(
    private readonly ctx: RunContext,
    private readonly profile: KeysGroupProfile,
    private readonly keys: KeysGroup,
    /** The board's limit for one key's chain, known once its identity was read. */
    private readonly certMax: () => number,
  ) {}

  async certify(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const subject = this.subject(state);
    if (!subject.ok) return subject;
    let csr = state.csr;
    if (plan.certificate === 'generate-csr') {
      if (!csr) return fail('csr-failed', `The board answered generate for "${plan.label}" without the CSR it was asked for.`, { key: plan.label });
    } else if (plan.certificate === 'csr' || plan.certificate === 'auto') {
      const reply = await this.ctx.onBoard((options) => this.keys.csr(state.id, boardSubject(subject.value), options));
      if (reply.ok) csr = reply.value;
      else if (plan.certificate === 'csr' || !cannotBuildCsr(reply.error)) return err(fromBoardError('csr-failed', `Getting a CSR for "${plan.label}" from the board`, reply.error, plan.label));
    }
    if (!csr) {
      const proof = await this.proveSigning(state, 'proof-of-possession-failed', 'Proof of possession');
      if (!proof.ok) return proof;
      state.path = 'proof-of-possession';
      return ok({ detail: plan.certificate === 'auto' ? 'the board builds no CSRs: proof of possession checked (fresh challenge signed)' : 'proof of possession checked (fresh challenge signed)' });
    }
    const parsed = await this.ctx.crypto(() => verifyCsr(csr));
    if (!parsed.ok) return fail('csr-invalid', `The board's CSR for "${plan.label}" does not verify: ${parsed.error.message}`, { key: plan.label, cause: parsed.error });
    const checked = checkCsr(parsed.value, state.publicKey!, subject.value, plan.label);
    if (!checked.ok) return checked;
    state.csr = csr;
    state.path = plan.certificate === 'generate-csr' ? 'generate-csr' : 'csr';
    return ok({ detail: `CSR for ${parsed.value.subject.text} verified (${state.path === 'generate-csr' ? 'from the generate answer' : 'built by the board'})` });
  }

  async issue(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const subject = this.subject(state);
    if (!subject.ok) return subject;
    const fields = { ...this.ctx.auditBase({ path: state.path ?? 'unknown' }), keyId: state.keyId, keyFingerprint: state.spkiFingerprint! };
    const issued = await this.ctx.audited(
      'ca.issue',
      fields,
      async () => {
        const source = state.csr ? { csr: state.csr } : { publicKey: state.publicKey!, proofOfPossession: 'checked-by-caller' as const };
        const made = await this.ctx.crypto(() =>
          issueDeviceCertificate({ ca: this.ctx.input.ca!, ...source, subjectTemplate: plan.subjectTemplate ?? this.profile.subjectTemplate, subjectValues: subjectValues(this.ctx, { label: plan.label, keyId: state.keyId }), validityDays: this.profile.validityDays, now: this.ctx.now() }),
        );
        if (!made.ok) return fail('issue-failed', `Issuing the certificate for "${plan.label}": ${made.error.message}`, { key: plan.label, cause: made.error });
        if (made.value.spkiFingerprint !== state.spkiFingerprint) return fail('issue-failed', `The certificate issued for "${plan.label}" is for another key`, { key: plan.label });
        return ok(made.value);
      },
      (made) => ({ certSerial: made.serialNumber, certFingerprint: made.fingerprint, details: { subject: made.subject, notAfter: made.notAfter.toISOString() } }),
    );
    if (!issued.ok) return issued;
    state.issued = issued.value;
    return ok({ detail: `serial ${issued.value.serialNumber}, ${issued.value.subject}, until ${issued.value.notAfter.toISOString().slice(0, 10)}${issued.value.truncated ? " (cut at the issuing CA's end)" : ''}` });
  }

  async store(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const chain = concatBytes(...chainBytes(state.issued!));
    if (chain.length > this.certMax()) return fail('cert-store-failed', `The chain for "${plan.label}" has ${chain.length} bytes; the board holds at most ${this.certMax()} per key.`, { key: plan.label });
    const fields = { ...this.ctx.auditBase({ bytes: String(chain.length) }), keyId: state.keyId, keyFingerprint: state.spkiFingerprint!, certSerial: state.issued!.serialNumber, certFingerprint: state.issued!.fingerprint };
    const stored = await this.ctx.audited('keys.cert-store', fields, async () => {
      const reply = await this.ctx.onBoard((options) => this.keys.storeCertificate(state.id, chain, { ...options, onProgress: ({ sent, total }) => this.ctx.progress(sent, total) }));
      return reply.ok ? ok(undefined) : err(fromBoardError('cert-store-failed', `Storing the chain of "${plan.label}" on the board`, reply.error, plan.label));
    });
    return stored.ok ? ok({ detail: `${chain.length} bytes (device certificate + issuing CA) stored at ${state.keyId}` }) : stored;
  }

  async readBack(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const expected = concatBytes(...chainBytes(state.issued!));
    const reply = await this.ctx.onBoard((options) => this.keys.readCertificate(state.id, options));
    if (!reply.ok) return err(fromBoardError('cert-read-failed', `Reading the chain of "${plan.label}" back`, reply.error, plan.label));
    if (reply.value === null) return fail('readback-mismatch', `The board holds no chain for "${plan.label}" after storing one.`, { key: plan.label });
    if (!equalBytes(reply.value, expected)) {
      return fail('readback-mismatch', `The chain of "${plan.label}" read back differs from the one stored (${reply.value.length} bytes read, ${expected.length} stored; first difference at byte ${firstDifference(reply.value, expected)}).`, { key: plan.label });
    }
    state.stored = reply.value;
    return ok({ detail: `${expected.length} bytes read back, identical` });
  }

  async verify(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const leaf = await verifyStoredChain(this.ctx, state.stored!, this.ctx.input.ca!, state.spki!, state.plan.label);
    if (!leaf.ok) return leaf;
    const signed = await this.proveSigning(state, 'signature-invalid', 'The fresh signature', leaf.value.publicKey.point!);
    if (!signed.ok) return signed;
    return ok({ detail: `chain (issued by ${leaf.value.issuer.text}) verifies to the CA root; a fresh signature by ${state.keyId} verifies with the certified key` });
  }

  subject(state: KeyState) {
    return renderKeySubject(this.ctx, state.plan.subjectTemplate ?? this.profile.subjectTemplate, { label: state.plan.label, keyId: state.keyId });
  }

  /** The board signs a fresh challenge with the key; the signature must verify with `publicKey`. */
  async proveSigning(state: KeyState, code: 'proof-of-possession-failed' | 'signature-invalid', what: string, publicKey: Uint8Array = state.publicKey!): Promise<Result<void, ProvisioningError>> {
    const { plan } = state;
    const challenge = await this.ctx.crypto(() => freshChallenge());
    const reply = await this.ctx.onBoard((options) => this.keys.sign(state.id, challenge, options));
    if (!reply.ok) return err(fromBoardError(code, `${what} by "${plan.label}": the board did not sign`, reply.error, plan.label));
    const verified = await this.ctx.crypto(() => verifyEcdsaP256(publicKey, challenge, reply.value));
    if (!verified.ok) return fail(code, `${what} by "${plan.label}" does not verify: ${verified.error.message}. The board does not hold the key it reported.`, { key: plan.label, cause: verified.error });
    return ok(undefined);
  }
}

/** A board whose firmware has no `csr` command (or cannot sign CSRs for this key type) answers "not supported". */
function cannotBuildCsr(error: KeysError): boolean {
  return error.reason === 'not-supported' || error.reason === 'unsupported-algorithm';
}
