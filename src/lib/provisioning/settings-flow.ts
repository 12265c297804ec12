/**
 * The provisioning flow for boards whose firmware has only Zephyr's standard groups: the device
 * key is made in the browser (or given by the operator), the CA certifies its public key, and the
 * key, certificate, chain and counter are written through the settings group (3), saved, read
 * back and compared, then committed. The key crosses the cable in the clear — the plan says so
 * (`clearTextSecrets`), and every write's audit record says so (`details.plaintextOnWire`).
 *
 * Writes, saves and reads are safe to repeat, so each is retried once after a board reboot. A
 * failure deletes every name this run wrote.
 */
import { type IssuedCertificate, issueDeviceCertificate, spkiFingerprint } from '../pki';
import type { CallOptions, SettingsError } from '../device';
import { MGMT_ERR } from '../smp/ids';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex, concatBytes, equalBytes } from '../util/bytes';
import { certificateSummary, firstDifference, renderKeySubject, subjectValues, verifyStoredChain } from './certificates';
import { errorFields, type Flow, type FlowSummary, type RunContext, type StepDone } from './context';
import { fail, fromBoardError, type ProvisioningError } from './errors';
import { type KeyMaterial, makeBrowserKey, publicKeyPem, readOperatorKey, readOperatorSecret, spkiOf } from './key-material';
import type { PlanStep } from './plan';
import { type ProfileSetting, SETTINGS_KEY_LABEL, type SettingsProfile } from './profile';
import type { CleanupReport, ProvisionedKey } from './result';

/** The audit's mark on every value written in the clear. */
const PLAINTEXT = { plaintextOnWire: 'true' } as const;
/** The counter is written as a C `uint64_t` in little-endian order, as the ARM and x86 boards Zephyr runs on keep it. */
const COUNTER_BYTES = 8;

export class SettingsFlow implements Flow {
  #key: KeyMaterial | null = null;
  #spki: Uint8Array | null = null;
  #fingerprint: string | null = null;
  #issued: IssuedCertificate | null = null;
  /** Operator secrets by label, held until the run ends. */
  readonly #secrets = new Map<string, Uint8Array>();
  /** Names that held a value before the run. */
  readonly #existed = new Set<string>();
  /** Names this run wrote, in order: a failure deletes them. */
  readonly #written: string[] = [];

  constructor(
    private readonly ctx: RunContext,
    private readonly profile: SettingsProfile,
  ) {}

  step(step: PlanStep): Promise<Result<StepDone, ProvisioningError>> {
    switch (step.kind) {
      case 'identity':
        return this.#identity();
      case 'settings-check':
        return this.#check();
      case 'settings-key':
        return this.#makeKey();
      case 'issue':
        return this.#issue();
      case 'settings-write':
        return this.#write();
      case 'settings-save':
        return this.#simple('settings.save', 'Saving the settings', (options) => this.ctx.board.settings.save(options), 'saved to storage');
      case 'settings-read-back':
        return this.#readBack();
      case 'verify':
        return this.#verify();
      case 'settings-commit':
        return this.#simple('settings.commit', 'Committing the settings', (options) => this.ctx.board.settings.commit(options), 'committed: the firmware applies the values');
      default:
        return Promise.resolve(fail('profile-invalid', `a settings run has no step "${step.kind}"`));
    }
  }

  summary(): FlowSummary {
    const counter = this.profile.settings.some((setting) => setting.content === 'counter') && this.#written.length > 0 ? this.profile.counter : null;
    return { keys: this.#provisionedKeys(), counter, settings: [...this.#written] };
  }

  #provisionedKeys(): ProvisionedKey[] {
    if (!this.#key) return [];
    const keySetting = this.profile.settings.find((setting) => setting.content === 'private-key')!;
    return [
      {
        label: SETTINGS_KEY_LABEL,
        id: null,
        keyId: keySetting.name,
        alg: 'p256',
        usage: 0,
        source: this.profile.keySource,
        publicKey: bytesToHex(this.#key.publicKey),
        publicKeyPem: publicKeyPem('p256', this.#key.publicKey),
        spkiFingerprint: this.#fingerprint ?? '',
        path: this.#issued ? 'browser-key' : null,
        certificate: this.#issued ? certificateSummary(this.#issued) : null,
        replaced: this.#existed.has(keySetting.name),
      },
    ];
  }

  /** Deletes, newest first, every name this run wrote. */
  async cleanup(): Promise<CleanupReport[]> {
    const reports: CleanupReport[] = [];
    for (const name of [...this.#written].reverse()) {
      const fields = { ...this.ctx.auditBase({ setting: name, reason: 'the run failed' }) };
      const intent = await this.ctx.intent('settings.delete', fields);
      const reply = await this.ctx.onBoard((options) => this.ctx.board.settings.delete(name, options));
      const refusal = reply.ok ? null : fromBoardError('settings-failed', `Deleting ${name}`, reply.error);
      if (intent.ok) await this.ctx.outcome(intent.value, refusal ? 'failed' : 'ok', refusal ? { ...fields, ...errorFields(refusal) } : fields);
      const unaudited = intent.ok ? '' : ' (not recorded: the audit log refused the record)';
      const report: CleanupReport = refusal
        ? { what: 'setting', name, removed: false, message: `setting ${name} could not be deleted (${refusal.message}); it stays on the board${unaudited}` }
        : { what: 'setting', name, removed: true, message: `setting ${name} deleted${unaudited}` };
      if (report.removed) this.#written.splice(this.#written.indexOf(name), 1);
      reports.push(report);
      this.ctx.emit({ type: 'cleanup', report });
    }
    return reports;
  }

  dispose(): void {
    this.#key?.scalar.fill(0);
    for (const secret of this.#secrets.values()) secret.fill(0);
    this.#secrets.clear();
  }

  // ---- steps -----------------------------------------------------------------------------

  async #identity(): Promise<Result<StepDone, ProvisioningError>> {
    const params = await this.ctx.onBoard((options) => this.ctx.board.os.params(options));
    if (!params.ok) return err(fromBoardError('board-unreachable', 'Asking the board for its MCUmgr parameters', params.error));
    const given = this.ctx.input.subjectValues?.deviceId;
    this.ctx.deviceId = given ?? this.ctx.input.boardSerial;
    return ok({ detail: `board answers (buffer ${params.value.bufSize} bytes); device id ${this.ctx.deviceId} (${given ? 'given by the operator' : 'the board serial'})` });
  }

  async #check(): Promise<Result<StepDone, ProvisioningError>> {
    for (const { name } of this.profile.settings) {
      const reply = await this.ctx.onBoard((options) => this.ctx.board.settings.read(name, { ...options, maxSize: 1 }));
      if (reply.ok) this.#existed.add(name);
      else if (reply.error.reason !== 'key-not-found') return err(checkError(name, reply.error));
    }
    if (this.#existed.size > 0 && !this.ctx.plan.reprovision) {
      const names = [...this.#existed].join(', ');
      return fail('already-provisioned', `The board already has ${names}: it was provisioned before. Nothing was changed; choose re-provision to overwrite ${this.#existed.size === 1 ? 'it' : 'them'}.`);
    }
    return ok({ detail: this.#existed.size > 0 ? `will overwrite ${[...this.#existed].join(', ')}` : `${this.profile.settings.length} names free` });
  }

  async #makeKey(): Promise<Result<StepDone, ProvisioningError>> {
    let key: KeyMaterial;
    if (this.profile.keySource === 'browser') key = await this.ctx.crypto(() => makeBrowserKey('p256'));
    else {
      const read = await this.ctx.crypto(() => readOperatorKey(this.ctx.input.knownValues?.[SETTINGS_KEY_LABEL], 'p256', SETTINGS_KEY_LABEL));
      if (!read.ok) return read;
      key = read.value;
    }
    this.#key = key;
    this.ctx.holdSecret(key.scalar, 'the device key');
    for (const setting of this.profile.settings) {
      if (setting.content !== 'operator-secret') continue;
      const secret = readOperatorSecret(this.ctx.input.knownValues?.[setting.label!], setting.label!);
      if (!secret.ok) return secret;
      this.#secrets.set(setting.label!, secret.value);
      this.ctx.holdSecret(secret.value, `the operator's value "${setting.label}"`);
    }
    this.#spki = spkiOf('p256', key.publicKey);
    this.#fingerprint = await this.ctx.crypto(() => spkiFingerprint(this.#spki!));
    return ok({ detail: `P-256 key ${this.profile.keySource === 'browser' ? 'made in the browser' : "from the operator"}, SPKI SHA-256 ${this.#fingerprint}` });
  }

  async #issue(): Promise<Result<StepDone, ProvisioningError>> {
    const subject = renderKeySubject(this.ctx, this.profile.subjectTemplate);
    if (!subject.ok) return subject;
    const fields = { ...this.ctx.auditBase({ path: 'browser-key' }), keyFingerprint: this.#fingerprint! };
    const issued = await this.ctx.audited(
      'ca.issue',
      fields,
      async () => {
        // The browser holds the private key (it made it, or the operator gave it): possession is known.
        const made = await this.ctx.crypto(() =>
          issueDeviceCertificate({ ca: this.ctx.input.ca!, publicKey: this.#key!.publicKey, proofOfPossession: 'checked-by-caller', subjectTemplate: this.profile.subjectTemplate, subjectValues: subjectValues(this.ctx), validityDays: this.profile.validityDays, now: this.ctx.now() }),
        );
        return made.ok ? made : fail('issue-failed', `Issuing the device certificate: ${made.error.message}`, { key: SETTINGS_KEY_LABEL, cause: made.error });
      },
      (made) => ({ certSerial: made.serialNumber, certFingerprint: made.fingerprint, details: { subject: made.subject, notAfter: made.notAfter.toISOString() } }),
    );
    if (!issued.ok) return issued;
    this.#issued = issued.value;
    return ok({ detail: `serial ${issued.value.serialNumber}, ${issued.value.subject}` });
  }

  async #write(): Promise<Result<StepDone, ProvisioningError>> {
    let bytes = 0;
    for (const setting of this.profile.settings) {
      const value = this.#value(setting);
      const fields = { ...this.ctx.auditBase({ setting: setting.name, content: setting.content, ...PLAINTEXT }), ...this.#identifying(setting) };
      const written = await this.ctx.audited('settings.write', fields, async () => {
        const reply = await this.ctx.onBoard((options) => this.ctx.board.settings.write(setting.name, value, options));
        if (!reply.ok) return err(fromBoardError('settings-failed', `Writing ${setting.name}`, reply.error));
        if (!this.#written.includes(setting.name)) this.#written.push(setting.name);
        return ok(undefined);
      });
      if (!written.ok) return written;
      bytes += value.length;
    }
    return ok({ detail: `${this.profile.settings.length} values, ${bytes} bytes, written in the clear` });
  }

  async #readBack(): Promise<Result<StepDone, ProvisioningError>> {
    for (const setting of this.profile.settings) {
      const expected = this.#value(setting);
      const reply = await this.ctx.onBoard((options) => this.ctx.board.settings.read(setting.name, { ...options, maxSize: expected.length }));
      if (!reply.ok) return err(fromBoardError('settings-failed', `Reading ${setting.name} back`, reply.error));
      if (reply.value.maxSize !== undefined && reply.value.maxSize < expected.length) {
        return fail('readback-mismatch', `The board returns at most ${reply.value.maxSize} bytes of ${setting.name}; the value has ${expected.length} (raise CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN in the firmware).`);
      }
      if (!equalBytes(reply.value.val, expected)) {
        return fail('readback-mismatch', `${setting.name} read back differs from what was written (${reply.value.val.length} bytes read, ${expected.length} written; first difference at byte ${firstDifference(reply.value.val, expected)}).`);
      }
    }
    return ok({ detail: `${this.profile.settings.length} values read back, identical` });
  }

  async #verify(): Promise<Result<StepDone, ProvisioningError>> {
    const leaf = await verifyStoredChain(this.ctx, concatBytes(this.#issued!.der, ...this.#issued!.chain), this.ctx.input.ca!, this.#spki!, SETTINGS_KEY_LABEL);
    return leaf.ok ? ok({ detail: `the written chain (issued by ${leaf.value.issuer.text}) verifies to the CA root and certifies the written key` }) : leaf;
  }

  async #simple(action: string, what: string, call: (options: CallOptions) => Promise<Result<void, SettingsError>>, detail: string): Promise<Result<StepDone, ProvisioningError>> {
    const done = await this.ctx.audited(action, this.ctx.auditBase(), async () => {
      const reply = await this.ctx.onBoard(call);
      return reply.ok ? ok(undefined) : err(fromBoardError('settings-failed', what, reply.error));
    });
    return done.ok ? ok({ detail }) : done;
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** The bytes a setting gets. The private key is the raw 32-byte scalar (big-endian), as PSA imports it. */
  #value(setting: ProfileSetting): Uint8Array {
    switch (setting.content) {
      case 'private-key':
        return this.#key!.scalar;
      case 'certificate':
        return this.#issued!.der;
      case 'chain':
        return concatBytes(...this.#issued!.chain);
      case 'counter': {
        const bytes = new Uint8Array(COUNTER_BYTES);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(this.profile.counter!), true);
        return bytes;
      }
      case 'operator-secret':
        return this.#secrets.get(setting.label!)!;
    }
  }

  /** Public facts that identify what a write carried (never the value itself). */
  #identifying(setting: ProfileSetting) {
    if (setting.content === 'private-key') return { keyFingerprint: this.#fingerprint! };
    if (setting.content === 'certificate') return { certSerial: this.#issued!.serialNumber, certFingerprint: this.#issued!.fingerprint };
    if (setting.content === 'counter') return { counter: this.profile.counter! };
    return {};
  }
}

function checkError(name: string, error: SettingsError): ProvisioningError {
  if (error.code === 'mgmt' && error.rc === MGMT_ERR.ENOTSUP) {
    return { code: 'board-unsupported', message: `Reading ${name}: the board does not answer the settings group (3); its firmware needs CONFIG_MCUMGR_GRP_SETTINGS.`, cause: { code: error.code, message: error.message } };
  }
  if (error.reason === 'root-key-not-found') {
    return { code: 'board-unsupported', message: `Reading ${name}: the firmware has no settings handler for "${name.split('/')[0]}".`, cause: { code: error.code, reason: error.reason, message: error.message } };
  }
  return fromBoardError('settings-failed', `Reading ${name}`, error);
}
