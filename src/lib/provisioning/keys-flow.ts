/**
 * The provisioning flow for boards with Imprint's keys group (docs/protocol/keys-group.md): each
 * step of a keys-group plan, checked before the next, and the cleanup that destroys what a failed
 * run made. Timing, recovery from a reboot, audit and events come from `RunContext`.
 *
 * Safe to repeat after a timeout (and so retried once when the board comes back): every read,
 * `csr`, `sign`, a certificate store (it starts over at offset 0), a counter write (the same value
 * again is fine). Not safe: `generate` and `import` — after a lost answer the run looks at the id
 * and destroys a key it made but never heard about before trying once more.
 */
import { type CallOptions, isKeysHpkeSuite, KeysGroup, type KeyEntry, type KeysError, type KeysInfo, type TransportKey, wrapKeyForImport } from '../device';
import { type IssuedCertificate, issueDeviceCertificate, spkiFingerprint, verifyCsr, verifyEcdsaP256 } from '../pki';
import { MGMT_ERR } from '../smp/ids';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex, concatBytes, equalBytes, utf8 } from '../util/bytes';
import { boardSubject, certificateSummary, chainBytes, checkCsr, firstDifference, renderKeySubject, subjectValues, verifyStoredChain } from './certificates';
import { errorFields, type Flow, type FlowSummary, type RunContext, type StepDone } from './context';
import { fail, fromBoardError, provisioningError, type ProvisioningError } from './errors';
import { type KeyMaterial, makeBrowserKey, publicKeyPem, readOperatorKey, spkiOf } from './key-material';
import { formatKeyId, type PlanStep } from './plan';
import type { KeysGroupProfile, ProfileKey } from './profile';
import type { CertificatePathTaken, CleanupReport, ProvisionedKey } from './result';

/** What the board signs as proof of possession: this label, a zero byte, 32 fresh random bytes (never the reserved `imprint keys ` prefix). */
export const CHALLENGE_LABEL = 'imprint provisioning challenge v1';
const CHALLENGE_RANDOM_BYTES = 32;

interface KeyState {
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

export class KeysFlow implements Flow {
  readonly #keys: KeysGroup;
  readonly #states: KeyState[];
  #info: KeysInfo | null = null;
  #transport: TransportKey | null = null;
  #counter: number | null = null;

  constructor(
    private readonly ctx: RunContext,
    private readonly profile: KeysGroupProfile,
  ) {
    const board = ctx.board;
    this.#keys = board.keys.group === profile.keysGroup ? board.keys : new KeysGroup(board.client, profile.keysGroup);
    this.#states = profile.keys.map((plan) => ({ plan, id: plan.id ?? 0, keyId: plan.id === null ? 'auto' : formatKeyId(plan.id), existed: null, created: false, publicKey: null, spki: null, spkiFingerprint: null, csr: null, path: null, issued: null, stored: null, usage: null }));
  }

  step(step: PlanStep): Promise<Result<StepDone, ProvisioningError>> {
    const key = this.#states.find((state) => state.plan.label === step.key);
    switch (step.kind) {
      case 'identity':
        return this.#identity();
      case 'key-ids':
        return this.#keyIds();
      case 'transport-key':
        return this.#transportKey();
      case 'create-key':
        return this.#createKey(key!);
      case 'certify':
        return this.#certify(key!);
      case 'issue':
        return this.#issue(key!);
      case 'store-certificate':
        return this.#store(key!);
      case 'read-back':
        return this.#readBack(key!);
      case 'verify':
        return this.#verify(key!);
      case 'counter':
        return this.#setCounter();
      case 'lock':
        return this.#lock();
      default:
        return Promise.resolve(fail('profile-invalid', `a keys-group run has no step "${step.kind}"`));
    }
  }

  summary(): FlowSummary {
    return { keys: this.#provisionedKeys(), counter: this.#counter, settings: [] };
  }

  #provisionedKeys(): ProvisionedKey[] {
    return this.#states.map((state) => ({
      label: state.plan.label,
      id: state.id,
      keyId: state.keyId,
      alg: state.plan.alg,
      usage: state.usage ?? state.plan.usage ?? 0,
      source: state.plan.source,
      publicKey: state.publicKey ? bytesToHex(state.publicKey) : '',
      publicKeyPem: state.publicKey ? publicKeyPem(state.plan.alg, state.publicKey) : '',
      spkiFingerprint: state.spkiFingerprint ?? '',
      path: state.path,
      certificate: state.issued ? certificateSummary(state.issued) : null,
      replaced: state.existed !== null,
    }));
  }

  /** Key values are zeroed as soon as they are sealed: nothing is left to zero. */
  dispose(): void {}

  /** Destroys, newest first, every key this run put on the board. */
  async cleanup(): Promise<CleanupReport[]> {
    const reports: CleanupReport[] = [];
    for (const state of [...this.#states].reverse().filter((candidate) => candidate.created)) {
      const report = await this.#destroy(state, 'the run failed');
      if (report.removed) state.created = false;
      reports.push(report);
      this.ctx.emit({ type: 'cleanup', report });
    }
    return reports;
  }

  // ---- steps -----------------------------------------------------------------------------

  async #identity(): Promise<Result<StepDone, ProvisioningError>> {
    const reply = await this.ctx.onBoard((options) => this.#keys.info(options));
    if (!reply.ok) {
      if (reply.error.reason === 'not-supported' || (reply.error.code === 'mgmt' && reply.error.rc === MGMT_ERR.ENOTSUP)) {
        return fail('board-unsupported', `Reading the board identity: the board does not answer Imprint's keys group at group id ${this.#keys.group}. A board with only Zephyr's standard groups needs the settings-only profile.`, { cause: { code: reply.error.code, message: reply.error.message } });
      }
      return err(fromBoardError('board-unreachable', 'Reading the board identity', reply.error));
    }
    const info = (this.#info = reply.value);
    this.ctx.deviceId = bytesToHex(info.deviceId);
    this.ctx.firmware = info.firmware;
    if (info.locked) return fail('board-locked', `The board (device ${this.ctx.deviceId}) is locked: provisioning ended on it. Nothing was changed.`);
    for (const { plan } of this.#states) {
      const offered = plan.source === 'board' ? info.generateAlgs : info.importAlgs;
      if (!offered.includes(plan.alg)) {
        return fail('board-unsupported', `Key "${plan.label}" needs ${plan.source === 'board' ? 'generate' : 'import'} of ${plan.alg}; this board offers ${offered.join(', ') || 'none'}.`, { key: plan.label });
      }
    }
    return ok({ detail: `device ${this.ctx.deviceId}, ${info.firmware}, ${info.used}/${info.slots} key slots used, counter ${info.counter}` });
  }

  async #keyIds(): Promise<Result<StepDone, ProvisioningError>> {
    const listed = await this.ctx.onBoard((options) => this.#keys.list(options));
    if (!listed.ok) return err(fromBoardError('board-unreachable', 'Listing the keys on the board', listed.error));
    const onBoard = new Map(listed.value.map((entry) => [entry.id, entry]));
    const taken = new Set([...onBoard.keys(), ...this.#states.flatMap((state) => (state.plan.id === null ? [] : [state.plan.id]))]);
    for (const state of this.#states) {
      if (state.plan.id === null) {
        let id = 1;
        while (taken.has(id)) id++;
        taken.add(id);
        state.id = id;
        state.keyId = formatKeyId(id);
      }
      state.existed = onBoard.get(state.id) ?? null;
    }
    const present = this.#states.filter((state) => state.existed !== null);
    if (present.length > 0 && !this.ctx.plan.reprovision) {
      const same = present.every((state) => state.existed!.alg === state.plan.alg && (state.plan.usage === undefined || state.existed!.usage === state.plan.usage));
      const list = present.map((state) => `${state.keyId} (${describeEntry(state.existed!)})`).join(', ');
      return same
        ? fail('already-provisioned', `The board already holds ${list} as profile "${this.profile.id}" plans: it was provisioned before. Nothing was changed; choose re-provision to replace ${present.length === 1 ? 'it' : 'them'}.`)
        : fail('key-id-conflict', `Key id${present.length === 1 ? '' : 's'} ${list} on the board hold${present.length === 1 ? 's' : ''} other keys than profile "${this.profile.id}" plans. Nothing was changed; choose re-provision to replace them, or change the profile's key ids.`);
    }
    const needed = this.#states.length - present.length;
    const free = this.#info!.slots - this.#info!.used;
    if (needed > free) return fail('slots-insufficient', `The plan needs ${needed} new key slot${needed === 1 ? '' : 's'}; the board has ${free} free of ${this.#info!.slots}. Nothing was changed.`);
    const replacing = present.length > 0 ? `; replacing ${present.map((state) => state.keyId).join(', ')}` : '';
    return ok({ detail: `key ids ${this.#states.map((state) => state.keyId).join(', ')}${replacing}` });
  }

  async #transportKey(): Promise<Result<StepDone, ProvisioningError>> {
    const reply = await this.ctx.onBoard((options) => this.#keys.transportKey(undefined, options));
    if (!reply.ok) return err(fromBoardError('transport-key-unsupported', "Reading the board's transport key", reply.error));
    if (!isKeysHpkeSuite(reply.value.suite) || reply.value.publicKey.length !== 32) {
      const { kem, kdf, aead } = reply.value.suite;
      return fail('transport-key-unsupported', `The board's transport key uses HPKE suite ${kem}/${kdf}/${aead}; Imprint seals imports with DHKEM(X25519)/HKDF-SHA256/AES-128-GCM (32/1/1).`);
    }
    this.#transport = reply.value;
    const fingerprint = await this.ctx.crypto(() => spkiFingerprint(spkiOf('x25519', reply.value.publicKey)));
    return ok({ detail: `X25519 transport key ${fingerprint.slice(0, 16)}…` });
  }

  async #createKey(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const replace = state.existed !== null;
    const fields = { ...this.ctx.auditBase({ alg: plan.alg, source: plan.source, ...(replace ? { replace: 'true' } : {}) }), keyId: state.keyId };
    if (plan.source === 'board') {
      let csrSubject: string | undefined;
      if (plan.certificate === 'generate-csr') {
        const subject = this.#subject(state);
        if (!subject.ok) return subject;
        csrSubject = boardSubject(subject.value);
      }
      const generated = await this.ctx.audited(
        'keys.generate',
        fields,
        async () => {
          const reply = await this.#createOnce(state, (options) => this.#keys.generate({ alg: plan.alg, id: state.id, usage: plan.usage, replace, csrSubject }, options));
          if (!reply.ok) return err(createError(`Generating key "${plan.label}" at ${state.keyId}`, reply.error, plan.label));
          state.created = true;
          state.usage = reply.value.usage;
          state.csr = reply.value.csr ?? null;
          return this.#takePublicKey(state, reply.value.publicKey);
        },
        (fingerprint) => ({ keyFingerprint: fingerprint }),
      );
      return generated.ok ? ok({ detail: `${state.keyId} ${plan.alg} generated on the board, SPKI SHA-256 ${generated.value}` }) : generated;
    }

    let key: KeyMaterial;
    if (plan.source === 'browser') key = await this.ctx.crypto(() => makeBrowserKey(plan.alg));
    else {
      const read = await this.ctx.crypto(() => readOperatorKey(this.ctx.input.knownValues?.[plan.label], plan.alg, plan.label));
      if (!read.ok) return read;
      key = read.value;
    }
    this.ctx.holdSecret(key.scalar, `the value of key "${plan.label}"`);
    const wrap = await this.ctx.crypto(() => wrapKeyForImport({ transportPublicKey: this.#transport!.publicKey, alg: plan.alg, secret: key.scalar, id: state.id, usage: plan.usage }));
    key.scalar.fill(0);
    if (!wrap.ok) return fail('wrap-failed', `Sealing key "${plan.label}" to the board: ${wrap.error.message}`, { key: plan.label, cause: wrap.error });
    const imported = await this.ctx.audited(
      'keys.import',
      fields,
      async () => {
        const reply = await this.#createOnce(state, (options) => this.#keys.import({ alg: plan.alg, id: state.id, usage: plan.usage, replace, wrap: wrap.value }, options));
        if (!reply.ok) return err(createError(`Importing key "${plan.label}" at ${state.keyId}`, reply.error, plan.label));
        state.created = true;
        state.usage = reply.value.usage;
        if (!reply.value.publicKey || !equalBytes(reply.value.publicKey, key.publicKey)) {
          return fail('key-mismatch', `The board reports another public key for imported key "${plan.label}" than the sealed value gives: it did not store what was sent.`, { key: plan.label });
        }
        return this.#takePublicKey(state, reply.value.publicKey);
      },
      (fingerprint) => ({ keyFingerprint: fingerprint }),
    );
    return imported.ok ? ok({ detail: `${state.keyId} ${plan.alg} imported sealed (${plan.source === 'browser' ? 'made in the browser' : "operator's value"}), SPKI SHA-256 ${imported.value}` }) : imported;
  }

  async #certify(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const subject = this.#subject(state);
    if (!subject.ok) return subject;
    let csr = state.csr;
    if (plan.certificate === 'generate-csr') {
      if (!csr) return fail('csr-failed', `The board answered generate for "${plan.label}" without the CSR it was asked for.`, { key: plan.label });
    } else if (plan.certificate === 'csr' || plan.certificate === 'auto') {
      const reply = await this.ctx.onBoard((options) => this.#keys.csr(state.id, boardSubject(subject.value), options));
      if (reply.ok) csr = reply.value;
      else if (plan.certificate === 'csr' || !cannotBuildCsr(reply.error)) return err(fromBoardError('csr-failed', `Getting a CSR for "${plan.label}" from the board`, reply.error, plan.label));
    }
    if (!csr) {
      const proof = await this.#proveSigning(state, 'proof-of-possession-failed', 'Proof of possession');
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

  async #issue(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const subject = this.#subject(state);
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

  async #store(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const chain = concatBytes(...chainBytes(state.issued!));
    if (chain.length > this.#info!.certMax) return fail('cert-store-failed', `The chain for "${plan.label}" has ${chain.length} bytes; the board holds at most ${this.#info!.certMax} per key.`, { key: plan.label });
    const fields = { ...this.ctx.auditBase({ bytes: String(chain.length) }), keyId: state.keyId, keyFingerprint: state.spkiFingerprint!, certSerial: state.issued!.serialNumber, certFingerprint: state.issued!.fingerprint };
    const stored = await this.ctx.audited('keys.cert-store', fields, async () => {
      const reply = await this.ctx.onBoard((options) => this.#keys.storeCertificate(state.id, chain, { ...options, onProgress: ({ sent, total }) => this.ctx.progress(sent, total) }));
      return reply.ok ? ok(undefined) : err(fromBoardError('cert-store-failed', `Storing the chain of "${plan.label}" on the board`, reply.error, plan.label));
    });
    return stored.ok ? ok({ detail: `${chain.length} bytes (device certificate + issuing CA) stored at ${state.keyId}` }) : stored;
  }

  async #readBack(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const { plan } = state;
    const expected = concatBytes(...chainBytes(state.issued!));
    const reply = await this.ctx.onBoard((options) => this.#keys.readCertificate(state.id, options));
    if (!reply.ok) return err(fromBoardError('cert-read-failed', `Reading the chain of "${plan.label}" back`, reply.error, plan.label));
    if (reply.value === null) return fail('readback-mismatch', `The board holds no chain for "${plan.label}" after storing one.`, { key: plan.label });
    if (!equalBytes(reply.value, expected)) {
      return fail('readback-mismatch', `The chain of "${plan.label}" read back differs from the one stored (${reply.value.length} bytes read, ${expected.length} stored; first difference at byte ${firstDifference(reply.value, expected)}).`, { key: plan.label });
    }
    state.stored = reply.value;
    return ok({ detail: `${expected.length} bytes read back, identical` });
  }

  async #verify(state: KeyState): Promise<Result<StepDone, ProvisioningError>> {
    const leaf = await verifyStoredChain(this.ctx, state.stored!, this.ctx.input.ca!, state.spki!, state.plan.label);
    if (!leaf.ok) return leaf;
    const signed = await this.#proveSigning(state, 'signature-invalid', 'The fresh signature', leaf.value.publicKey.point!);
    if (!signed.ok) return signed;
    return ok({ detail: `chain (issued by ${leaf.value.issuer.text}) verifies to the CA root; a fresh signature by ${state.keyId} verifies with the certified key` });
  }

  async #setCounter(): Promise<Result<StepDone, ProvisioningError>> {
    const target = this.profile.counter!;
    const current = this.#info!.counter;
    if (current >= target) {
      this.#counter = current;
      return ok({ skipped: `the board's counter is ${current}; it is never lowered to ${target}` });
    }
    const fields = { ...this.ctx.auditBase(), counter: target };
    const set = await this.ctx.audited(
      'keys.counter-set',
      fields,
      async () => {
        const reply = await this.ctx.onBoard((options) => this.#keys.setCounter(target, options));
        if (!reply.ok) return err(fromBoardError('counter-failed', `Setting the session counter to ${target}`, reply.error));
        if (reply.value < target) return fail('counter-failed', `The board reports counter ${reply.value} after being set to ${target}.`);
        return ok(reply.value);
      },
      (value) => ({ counter: value }),
    );
    if (!set.ok) return set;
    this.#counter = set.value;
    return ok({ detail: `session counter ${set.value}` });
  }

  async #lock(): Promise<Result<StepDone, ProvisioningError>> {
    const locked = await this.ctx.audited('keys.lock', this.ctx.auditBase(), async () => {
      const reply = await this.ctx.onBoard((options) => this.#keys.lock(options));
      return reply.ok ? ok(undefined) : err(fromBoardError('lock-failed', 'Locking the board', reply.error));
    });
    return locked.ok ? ok({ detail: 'locked: imports, destroys and counter writes are refused from now on' }) : locked;
  }

  // ---- helpers ---------------------------------------------------------------------------

  #subject(state: KeyState) {
    return renderKeySubject(this.ctx, state.plan.subjectTemplate ?? this.profile.subjectTemplate, { label: state.plan.label, keyId: state.keyId });
  }

  async #takePublicKey(state: KeyState, publicKey: Uint8Array): Promise<Result<string, ProvisioningError>> {
    const expected = state.plan.alg === 'p256' ? 65 : 32;
    if (publicKey.length !== expected || (state.plan.alg === 'p256' && publicKey[0] !== 0x04)) {
      return fail('key-mismatch', `The board sent a ${publicKey.length}-byte public key for ${state.plan.alg} key "${state.plan.label}" (expected ${expected}).`, { key: state.plan.label });
    }
    state.publicKey = publicKey;
    state.spki = spkiOf(state.plan.alg, publicKey);
    state.spkiFingerprint = await this.ctx.crypto(() => spkiFingerprint(state.spki!));
    return ok(state.spkiFingerprint);
  }

  /**
   * A `generate` or `import`. If its answer is lost (timeout), waits for the board, destroys a key
   * it finds at an id that was free before (made by the lost request, never reported), and tries
   * once more.
   */
  async #createOnce<T>(state: KeyState, create: (options: CallOptions) => Promise<Result<T, KeysError>>): Promise<Result<T, KeysError>> {
    const first = await this.ctx.onBoard(create, false);
    if (first.ok || first.error.code !== 'timeout') return first;
    if (!(await this.ctx.recover(first.error.message))) return first;
    if (state.existed === null) {
      const exists = await this.ctx.onBoard((options) => this.#keys.exists(state.id, options));
      if (!exists.ok) return exists;
      if (exists.value) {
        state.created = true;
        const report = await this.#destroy(state, 'the answer that created it was lost');
        if (!report.removed) return first;
        state.created = false;
      }
    }
    return this.ctx.onBoard(create, false);
  }

  /** The board signs a fresh challenge with the key; the signature must verify with `publicKey`. */
  async #proveSigning(state: KeyState, code: 'proof-of-possession-failed' | 'signature-invalid', what: string, publicKey: Uint8Array = state.publicKey!): Promise<Result<void, ProvisioningError>> {
    const { plan } = state;
    const challenge = await this.ctx.crypto(() => concatBytes(utf8.encode(CHALLENGE_LABEL), new Uint8Array([0]), crypto.getRandomValues(new Uint8Array(CHALLENGE_RANDOM_BYTES))));
    const reply = await this.ctx.onBoard((options) => this.#keys.sign(state.id, challenge, options));
    if (!reply.ok) return err(fromBoardError(code, `${what} by "${plan.label}": the board did not sign`, reply.error, plan.label));
    const verified = await this.ctx.crypto(() => verifyEcdsaP256(publicKey, challenge, reply.value));
    if (!verified.ok) return fail(code, `${what} by "${plan.label}" does not verify: ${verified.error.message}. The board does not hold the key it reported.`, { key: plan.label, cause: verified.error });
    return ok(undefined);
  }

  async #destroy(state: KeyState, why: string): Promise<CleanupReport> {
    const base = { what: 'key' as const, name: state.plan.label, keyId: state.keyId };
    const fields = { ...this.ctx.auditBase({ reason: why }), keyId: state.keyId, ...(state.spkiFingerprint ? { keyFingerprint: state.spkiFingerprint } : {}) };
    // A failing audit log must not keep a half-made key on the board: destroy anyway, and say so.
    const intent = await this.ctx.intent('keys.destroy', fields);
    const reply = await this.ctx.onBoard((options) => this.#keys.destroy(state.id, options));
    const refusal = reply.ok || reply.error.reason === 'no-such-key' ? null : fromBoardError('key-create-failed', `Destroying key "${state.plan.label}"`, reply.error, state.plan.label);
    if (intent.ok) await this.ctx.outcome(intent.value, refusal ? 'failed' : 'ok', refusal ? { ...fields, ...errorFields(refusal) } : fields);
    const unaudited = intent.ok ? '' : ' (not recorded: the audit log refused the record)';
    if (!refusal) return { ...base, removed: true, message: `key "${state.plan.label}" at ${state.keyId} destroyed${unaudited}` };
    const hint = refusal.cause?.reason === 'locked' ? 'the board is locked and refuses destroy' : refusal.message;
    return { ...base, removed: false, message: `key "${state.plan.label}" at ${state.keyId} could not be destroyed (${hint}); it stays on the board${unaudited}` };
  }
}

/** A board whose firmware has no `csr` command (or cannot sign CSRs for this key type) answers "not supported". */
function cannotBuildCsr(error: KeysError): boolean {
  return error.reason === 'not-supported' || error.reason === 'unsupported-algorithm';
}

/** `generate`/`import` refusals with what they mean for the operator. */
function createError(what: string, error: KeysError, key: string): ProvisioningError {
  const made = fromBoardError('key-create-failed', what, error, key);
  const hint: Partial<Record<string, string>> = {
    'slots-full': 'the board has no free key slot',
    'storage-failure': "the board's storage failed while writing the key",
    'slot-in-use': 'the id is taken (re-provisioning replaces it)',
    locked: 'the board is locked',
    'bad-wrap': 'the board could not open the sealed value (wrong transport key?)',
  };
  const reason = error.reason ? hint[error.reason] : undefined;
  return reason ? provisioningError(made.code, `${what}: ${reason} (${error.message})`, { key, ...(made.cause ? { cause: made.cause } : {}) }) : made;
}

function describeEntry(entry: KeyEntry): string {
  return `${entry.alg}${entry.certBytes > 0 ? `, certificate ${entry.certBytes} bytes` : ', no certificate'}`;
}
