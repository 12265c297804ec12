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
import { spkiFingerprint } from '../pki';
import { MGMT_ERR } from '../smp/ids';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex, equalBytes } from '../util/bytes';
import { boardSubject, certificateSummary } from './certificates';
import { errorFields, type Flow, type FlowSummary, type RunContext, type StepDone } from './context';
import { fail, fromBoardError, provisioningError, type ProvisioningError } from './errors';
import { KeyCertification, type KeyState } from './key-certification';
import { type KeyMaterial, makeBrowserKey, publicKeyPem, readOperatorKey, spkiOf } from './key-material';
import { formatKeyId, type PlanStep } from './plan';
import type { KeysGroupProfile } from './profile';
import type { CleanupReport, ProvisionedKey } from './result';

export class KeysFlow implements Flow {
  readonly #keys: KeysGroup;
  readonly #states: KeyState[];
  #info: KeysInfo | null = null;
  #transport: TransportKey | null = null;
  #counter: number | null = null;
  readonly #certification: KeyCertification;

  constructor(
    private readonly ctx: RunContext,
    private readonly profile: KeysGroupProfile,
  ) {
    const board = ctx.board;
    this.#keys = board.keys.group === profile.keysGroup ? board.keys : new KeysGroup(board.client, profile.keysGroup);
    this.#certification = new KeyCertification(ctx, profile, this.#keys, () => this.#info!.certMax);
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
        return this.#certification.certify(key!);
      case 'issue':
        return this.#certification.issue(key!);
      case 'store-certificate':
        return this.#certification.store(key!);
      case 'read-back':
        return this.#certification.readBack(key!);
      case 'verify':
        return this.#certification.verify(key!);
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
        const subject = this.#certification.subject(state);
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
