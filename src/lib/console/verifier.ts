/**
 * The console's path for one message: topic → COSE_Sign1 (or EcoWatt envelope) → the registered
 * device's key → signature (or MAC) → telemetry payload → anti-replay window, persisted before
 * the message counts as accepted. Every refusal is a value with a reason code (reasons.ts).
 *
 * Messages are checked concurrently (signature verification is the slow part and WebCrypto runs
 * it off the main thread), then handed to the replay window in arrival order, where the group
 * committer puts all that are waiting into one strict transaction.
 */
import { type CborLimits, CoseVerifyKey, DEFAULT_CBOR_LIMITS, decodeCoseSign1, verifyCoseSign1 } from '../cose';
import type { RegisteredDevice, RegistryError } from '../registry';
import type { Result } from '../smp/result';
import { isEcoWatt, parseEcoWatt, verifyEcoWattMac } from './hmac';
import { type RefusalReason, reasonForCose } from './reasons';
import { type CounterClaim, DEFAULT_MAX_BATCH, ReplayCommitter, type ReplayStore } from './replay';
import { decodeTelemetry, type Telemetry } from './telemetry';

export const DEFAULT_TELEMETRY_TOPIC = 'imprint/+/telemetry';

/** What the verifier reads from the registry (`DeviceRegistry` has both). */
export interface DeviceDirectory {
  get(deviceId: string): Promise<Result<RegisteredDevice | undefined, RegistryError>>;
  hmacKey(deviceId: string): Promise<Result<CryptoKey | null, RegistryError>>;
}

export type MessageFormat = 'cose' | 'ecowatt';

export interface Accepted extends Telemetry {
  status: 'accepted';
  format: MessageFormat;
  topic: string;
  /** `Date.now()` when it arrived. */
  receivedAt: number;
}

export interface Refused {
  status: 'refused';
  reason: RefusalReason;
  message: string;
  /** From the topic, else from the (unverified) payload; null when neither names one. */
  deviceId: string | null;
  /** The counter the message claims, when its payload could be read. */
  counter: bigint | null;
  topic: string;
  receivedAt: number;
}

export type Verdict = Accepted | Refused;

export interface VerifierOptions {
  directory: DeviceDirectory;
  replay: Pick<ReplayStore, 'commit'>;
  /** The subscription; its first `+` level is the device id. Default `imprint/+/telemetry`. */
  topicPattern?: string;
  limits?: CborLimits;
  maxBatch?: number;
  now?: () => number;
}

interface KnownDevice {
  device: RegisteredDevice;
  key: CoseVerifyKey;
  hmac: Promise<CryptoKey | null> | null;
}

type Checked = { refused: Refused } | { claim: CounterClaim; accepted: Accepted };

export class TelemetryVerifier {
  readonly committer: ReplayCommitter;
  readonly #directory: DeviceDirectory;
  readonly #limits: CborLimits;
  readonly #deviceLevel: number;
  readonly #now: () => number;
  readonly #devices = new Map<string, Promise<KnownDevice | null>>();
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: VerifierOptions) {
    this.#directory = options.directory;
    this.#limits = options.limits ?? DEFAULT_CBOR_LIMITS;
    this.#deviceLevel = (options.topicPattern ?? DEFAULT_TELEMETRY_TOPIC).split('/').indexOf('+');
    this.#now = options.now ?? Date.now;
    this.committer = new ReplayCommitter(options.replay, options.maxBatch ?? DEFAULT_MAX_BATCH);
  }

  /**
   * Resolves once the message is refused, or accepted with its window committed.
   * @example const verdict = await verifier.verify('imprint/dev-1/telemetry', bytes); if (verdict.status === 'refused') publish(verdict.reason)
   */
  verify(topic: string, bytes: Uint8Array): Promise<Verdict> {
    const receivedAt = this.#now();
    const checked = this.#check(topic, bytes, receivedAt);
    // Into the window in arrival order, without waiting for earlier commits (that would undo group
    // commit): the tail orders the *submissions* only. The verdict is boxed so that `then` does not
    // adopt the commit's promise — adopting it made every message wait for the previous message's
    // transaction, one claim per transaction (ADR 0008).
    const submitted = this.#tail
      .then(() => checked)
      .then((result): { verdict: Verdict | Promise<Verdict> } => ({ verdict: 'refused' in result ? result.refused : this.#commit(result.claim, result.accepted) }));
    this.#tail = submitted.then(
      () => undefined,
      () => undefined,
    );
    return submitted.then((box) => box.verdict);
  }

  /** Drops cached keys (all, or one device's): call after the registry changed. */
  forget(deviceId?: string): void {
    if (deviceId === undefined) this.#devices.clear();
    else this.#devices.delete(deviceId);
  }

  async #commit(claim: CounterClaim, accepted: Accepted): Promise<Verdict> {
    const committed = await this.committer.submit(claim);
    if (!committed.ok) return refusal('storage', committed.error.message, accepted.topic, accepted.receivedAt, claim.deviceId, claim.counter);
    if (committed.value === 'fresh') return accepted;
    const why = committed.value === 'replay' ? `counter ${claim.counter} was already accepted from ${claim.deviceId}` : `counter ${claim.counter} is more than 64 below the highest accepted from ${claim.deviceId}`;
    return refusal(committed.value, why, accepted.topic, accepted.receivedAt, claim.deviceId, claim.counter);
  }

  async #check(topic: string, bytes: Uint8Array, receivedAt: number): Promise<Checked> {
    const topicDevice = this.#deviceFromTopic(topic);
    const refuse = (reason: RefusalReason, message: string, deviceId: string | null = topicDevice, counter: bigint | null = null): Checked => ({
      refused: refusal(reason, message, topic, receivedAt, deviceId, counter),
    });
    if (bytes.length > this.#limits.maxBytes) return refuse('too-large', `the message is ${bytes.length} bytes; at most ${this.#limits.maxBytes} are accepted`);
    if (isEcoWatt(bytes)) return this.#checkEcoWatt(topic, topicDevice, bytes, receivedAt, refuse);

    const message = decodeCoseSign1(bytes, this.#limits);
    if (!message.ok) return refuse(reasonForCose(message.error.code), message.error.message);
    // Read before verifying only to name the device and the counter in a refusal; trusted after the signature.
    const claimed = message.value.payload ? decodeTelemetry(message.value.payload, this.#limits) : null;
    const claimedCounter = claimed?.ok ? claimed.value.counter : null;
    const deviceId = topicDevice ?? (claimed?.ok ? claimed.value.deviceId : null);
    if (deviceId === null) return refuse('unknown-device', 'neither the topic nor the payload names a device');
    const known = await this.#device(deviceId);
    if (!known) return refuse('unknown-device', `device ${deviceId} is not registered`, deviceId, claimedCounter);
    const verified = await verifyCoseSign1(message.value, known.key, { requireProtectedAlg: true, limits: this.#limits });
    if (!verified.ok) return refuse(reasonForCose(verified.error.code), verified.error.message, deviceId, claimedCounter);
    if (!claimed?.ok) return refuse('malformed', claimed ? claimed.error.message : 'the payload is detached', deviceId);
    if (claimed.value.deviceId !== deviceId) return refuse('topic-mismatch', `the payload is from ${claimed.value.deviceId}, the topic says ${deviceId}`, deviceId, claimedCounter);
    return { claim: { deviceId, counter: claimed.value.counter }, accepted: { status: 'accepted', format: 'cose', topic, receivedAt, ...claimed.value } };
  }

  async #checkEcoWatt(topic: string, topicDevice: string | null, bytes: Uint8Array, receivedAt: number, refuse: (reason: RefusalReason, message: string, deviceId?: string | null, counter?: bigint | null) => Checked): Promise<Checked> {
    const envelope = parseEcoWatt(bytes);
    if (!envelope.ok) return refuse('malformed', envelope.error.message);
    const claimed = decodeTelemetry(envelope.value.payload, this.#limits);
    const deviceId = topicDevice ?? (claimed.ok ? claimed.value.deviceId : null);
    const nonce = envelope.value.nonce;
    if (deviceId === null) return refuse('unknown-device', 'neither the topic nor the payload names a device', null, nonce);
    const known = await this.#device(deviceId);
    if (!known) return refuse('unknown-device', `device ${deviceId} is not registered`, deviceId, nonce);
    known.hmac ??= this.#directory.hmacKey(deviceId).then((key) => (key.ok ? key.value : null));
    const key = await known.hmac;
    if (!key) return refuse('no-hmac-secret', `the console holds no HMAC secret for ${deviceId}`, deviceId, nonce);
    if (!(await verifyEcoWattMac(envelope.value, key))) return refuse('bad-mac', 'the MAC does not verify with the device\'s secret', deviceId, nonce);
    if (!claimed.ok) return refuse('malformed', claimed.error.message, deviceId, nonce);
    if (claimed.value.counter !== nonce) return refuse('malformed', `the nonce ${nonce} is not the payload's counter ${claimed.value.counter}`, deviceId, nonce);
    if (claimed.value.deviceId !== deviceId) return refuse('topic-mismatch', `the payload is from ${claimed.value.deviceId}, the topic says ${deviceId}`, deviceId, nonce);
    return { claim: { deviceId, counter: nonce }, accepted: { status: 'accepted', format: 'ecowatt', topic, receivedAt, ...claimed.value } };
  }

  #deviceFromTopic(topic: string): string | null {
    if (this.#deviceLevel < 0) return null;
    return topic.split('/')[this.#deviceLevel] ?? null;
  }

  #device(deviceId: string): Promise<KnownDevice | null> {
    let known = this.#devices.get(deviceId);
    if (!known) {
      known = this.#directory.get(deviceId).then((found) => {
        if (!found.ok || !found.value) {
          // Not cached: a device registered a moment later must not stay unknown.
          this.#devices.delete(deviceId);
          return null;
        }
        const key = CoseVerifyKey.fromPoint(found.value.curve, found.value.publicKey);
        return key.ok ? { device: found.value, key: key.value, hmac: null } : null;
      });
      this.#devices.set(deviceId, known);
    }
    return known;
  }
}

function refusal(reason: RefusalReason, message: string, topic: string, receivedAt: number, deviceId: string | null, counter: bigint | null): Refused {
  return { status: 'refused', reason, message, deviceId, counter, topic, receivedAt };
}
