/**
 * The verification console as state the /console page renders: the broker form and the link,
 * the device registry (register from files, from a root our CA holds, from the connected board),
 * HMAC secrets, and the live stream — counters by outcome and refusal reason, a per-device rate,
 * the most recent messages for the virtual-scrolled table.
 *
 * The path itself is `TelemetryVerifier` (console/): this class feeds it what the link delivers,
 * publishes each refusal on the device's error topic, and writes refusals to the audit log as
 * security events, grouped per device and reason, off the message path. Verdicts reach the page
 * in batches (every `FLUSH_MS`), so a burst of thousands of messages is a handful of renders.
 */
import { type AuditLog } from '../audit';
import {
  type ConsoleLink,
  DEFAULT_ERROR_TOPIC,
  DEFAULT_TELEMETRY_TOPIC,
  type LinkError,
  type LinkOptions,
  type LinkStatus,
  openConsoleLink,
  type RefusalReason,
  REFUSAL_REASONS,
  ReplayStore,
  TelemetryVerifier,
  toJsonValue,
  type Verdict,
} from '../console';
import type { Board } from '../device';
import { type DeviceIdAttribute, type DeviceRegistry, openDeviceRegistry, type RegisteredDevice, type RegistryError } from '../registry';
import type { Result } from '../smp/result';
import { hexToBytes } from '../util/bytes';
import type { PickedFile } from './authorities.svelte';
import { auditTrail } from './index';

export type ConsoleScope = 'start' | 'link' | 'register' | 'secret' | 'devices';
export type ConsoleStatus = 'idle' | 'connecting' | LinkStatus | 'failed';

/** One row of the messages table. */
export interface MessageRow {
  seq: number;
  time: number;
  deviceId: string;
  counter: string;
  status: 'accepted' | 'refused';
  /** The reason code, for refusals. */
  reason?: RefusalReason;
  /** Readings (accepted) or why (refused), one line. */
  detail: string;
}

export interface DeviceStats {
  deviceId: string;
  accepted: number;
  refused: number;
  /** Accepted messages per second over the last `RATE_WINDOW_MS`. */
  rate: number;
  lastCounter: string;
}

/** A root to register against: one of the station's CAs, or a file. */
export type RootChoice = { kind: 'ca'; certificate: Uint8Array; label: string } | { kind: 'file'; file: PickedFile };

export interface RegisterForm {
  chain: PickedFile[];
  root: RootChoice | null;
  deviceIdFrom: DeviceIdAttribute;
  replace: boolean;
}

export interface ConsoleDeps {
  openRegistry?: () => Promise<Result<DeviceRegistry, RegistryError>>;
  openReplay?: () => Promise<Result<ReplayStore, { message: string }>>;
  /** The tab's audit log (the Audit page's `auditTrail`); refusals and registrations go there. */
  audit?: { open(): Promise<AuditLog | null> };
  connect?: (options: LinkOptions, onMessage: (topic: string, bytes: Uint8Array) => void, onStatus: (status: LinkStatus, detail?: string) => void) => Promise<Result<ConsoleLink, LinkError>>;
  now?: () => number;
}

export const RECENT_LIMIT = 2000;
export const FLUSH_MS = 100;
export const RATE_WINDOW_MS = 10_000;

export class VerificationConsole {
  url = $state('ws://localhost:9001');
  username = $state('');
  password = $state('');
  topic = $state(DEFAULT_TELEMETRY_TOPIC);
  errorTopic = $state(DEFAULT_ERROR_TOPIC);
  status = $state<ConsoleStatus>('idle');
  statusDetail = $state('');

  devices = $state.raw<RegisteredDevice[]>([]);
  accepted = $state(0);
  refused = $state(0);
  refusedBy = $state.raw<Partial<Record<RefusalReason, number>>>({});
  /** Newest first, at most `RECENT_LIMIT`. */
  recent = $state.raw<MessageRow[]>([]);
  stats = $state.raw<DeviceStats[]>([]);
  /** Messages in one group commit, the last time: how well batching keeps up. */
  lastBatch = $state(0);

  errors = $state<Partial<Record<ConsoleScope, string>>>({});
  notices = $state<Partial<Record<ConsoleScope, string>>>({});
  busy = $state<Partial<Record<ConsoleScope, boolean>>>({});

  #registry: DeviceRegistry | null = null;
  #replayStore: ReplayStore | null = null;
  #verifier: TelemetryVerifier | null = null;
  #link: ConsoleLink | null = null;
  #started: Promise<boolean> | null = null;
  #pending: Verdict[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  #seq = 0;
  #perDevice = new Map<string, { accepted: number; refused: number; lastCounter: string; times: number[] }>();
  #auditTail: Promise<unknown> = Promise.resolve();
  #inflight = 0;
  #idle: (() => void)[] = [];
  readonly #deps: Required<Omit<ConsoleDeps, 'audit'>> & Pick<ConsoleDeps, 'audit'>;

  constructor(deps: ConsoleDeps = {}) {
    this.#deps = {
      openRegistry: deps.openRegistry ?? (() => openDeviceRegistry()),
      openReplay: deps.openReplay ?? (() => ReplayStore.open()),
      connect: deps.connect ?? openConsoleLink,
      now: deps.now ?? Date.now,
      ...(deps.audit ? { audit: deps.audit } : {}),
    };
  }

  get connected(): boolean {
    return this.#link !== null;
  }

  /** Opens the registry and the replay windows once; lists the devices. */
  start(): Promise<boolean> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<boolean> {
    const [registry, replay] = await Promise.all([this.#deps.openRegistry(), this.#deps.openReplay()]);
    if (!registry.ok || !replay.ok) {
      this.errors.start = `The console cannot keep its state in this browser: ${!registry.ok ? registry.error.message : !replay.ok ? replay.error.message : ''}`;
      this.#started = null;
      return false;
    }
    this.#registry = registry.value;
    this.#replayStore = replay.value;
    this.#verifier = new TelemetryVerifier({ directory: registry.value, replay: replay.value, topicPattern: this.topic });
    await this.refreshDevices();
    return true;
  }

  async refreshDevices(): Promise<void> {
    if (!this.#registry) return;
    const listed = await this.#registry.list();
    if (listed.ok) this.devices = listed.value;
    else this.errors.devices = listed.error.message;
  }

  /** Connects to the broker and starts verifying what arrives. */
  async connect(): Promise<boolean> {
    if (this.#link || this.busy.link) return this.#link !== null;
    this.busy.link = true;
    delete this.errors.link;
    this.status = 'connecting';
    try {
      if (!(await this.start())) {
        this.status = 'failed';
        return false;
      }
      // The device id is read at the pattern's `+`: a changed pattern needs a verifier that knows it.
      this.#verifier = new TelemetryVerifier({ directory: this.#registry!, replay: this.#replayStore!, topicPattern: this.topic.trim() });
      const opened = await this.#deps.connect(
        {
          url: this.url.trim(),
          topic: this.topic.trim(),
          errorTopic: this.errorTopic.trim() || DEFAULT_ERROR_TOPIC,
          ...(this.username ? { username: this.username } : {}),
          ...(this.password ? { password: this.password } : {}),
        },
        (topic, bytes) => this.#receive(topic, bytes),
        (status, detail) => {
          if (this.#link || status !== 'closed') this.status = status;
          this.statusDetail = detail ?? '';
        },
      );
      if (!opened.ok) {
        this.status = 'failed';
        this.errors.link = opened.error.message;
        return false;
      }
      this.#link = opened.value;
      this.status = 'connected';
      return true;
    } finally {
      this.busy.link = false;
    }
  }

  async disconnect(): Promise<void> {
    const link = this.#link;
    this.#link = null;
    await link?.close();
    this.status = 'closed';
  }

  /** Registers a device from a chain file (or files) against the chosen root; the reason when refused. */
  async register(form: RegisterForm): Promise<boolean> {
    if (form.chain.length === 0) return this.#refuse('register', 'Choose the device’s certificate chain (PEM or DER).');
    if (!form.root) return this.#refuse('register', 'Choose the root the chain must lead to: one of the station’s CAs, or a root certificate file.');
    const chain = form.chain.length === 1 ? form.chain[0]!.bytes : form.chain.map((file) => file.bytes);
    return this.#register(chain, form, `file ${form.chain.map((file) => file.name).join(', ')}`);
  }

  /** Registers the connected board from the chain it stores for `keyId` (what provisioning left there). */
  async registerFromBoard(board: Board, keyId: number, form: Omit<RegisterForm, 'chain'>): Promise<boolean> {
    if (!form.root) return this.#refuse('register', 'Choose the root the board’s chain must lead to.');
    const read = await board.keys.readCertificate(keyId);
    if (!read.ok) return this.#refuse('register', `The board did not give its chain: ${read.error.message}`);
    if (!read.value) return this.#refuse('register', `The board has no certificate chain for key ${keyId}. Provision it first.`);
    return this.#register(read.value, form, `board key ${keyId}`);
  }

  async #register(chain: Uint8Array | Uint8Array[], form: Omit<RegisterForm, 'chain'>, source: string): Promise<boolean> {
    if (!(await this.start())) return false;
    this.busy.register = true;
    delete this.errors.register;
    delete this.notices.register;
    try {
      const root = form.root!.kind === 'ca' ? form.root!.certificate : form.root!.file.bytes;
      const audit = await this.#deps.audit?.open();
      const intent = await audit?.intent({ action: 'console.register', details: { source: source.slice(0, 200) } });
      const registered = await this.#registry!.register({ chain, root, deviceIdFrom: form.deviceIdFrom, source: source.startsWith('board') ? 'board' : 'file' }, { replace: form.replace });
      if (intent?.ok) {
        await audit!.outcome(
          intent.value.seq,
          registered.ok
            ? { result: 'ok', deviceId: registered.value.device.deviceId, keyFingerprint: registered.value.device.keyFingerprint, certSerial: registered.value.device.certSerial, certFingerprint: registered.value.device.certFingerprint, details: { change: registered.value.change } }
            : { result: 'failed', errorCode: registered.error.code, errorMessage: registered.error.message.slice(0, 1000) },
        );
      }
      if (!registered.ok) return this.#refuse('register', `Not registered (${registered.error.code}): ${registered.error.message}`);
      this.#verifier?.forget(registered.value.device.deviceId);
      this.notices.register = `Registered ${registered.value.device.deviceId} (${registered.value.change === 'new' ? 'new device' : registered.value.change === 'renewed' ? 'same key, chain renewed' : 'key replaced'}), valid until ${registered.value.device.validUntil.slice(0, 10)}.`;
      await this.refreshDevices();
      return true;
    } finally {
      this.busy.register = false;
    }
  }

  /** Keeps an HMAC secret (hex, 16–64 bytes) for a registered device, wrapped; the text is not kept. */
  async setSecret(deviceId: string, hex: string): Promise<boolean> {
    if (!(await this.start())) return false;
    delete this.errors.secret;
    delete this.notices.secret;
    const clean = hex.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2}){16,64}$/.test(clean)) return this.#refuse('secret', 'The secret must be 16 to 64 bytes written as hex.');
    const stored = await this.#registry!.setHmacSecret(deviceId, hexToBytes(clean));
    if (!stored.ok) return this.#refuse('secret', stored.error.message);
    this.#verifier?.forget(deviceId);
    this.notices.secret = `The secret for ${deviceId} is stored, wrapped; it cannot be read back.`;
    await this.refreshDevices();
    return true;
  }

  async removeDevice(deviceId: string): Promise<void> {
    if (!this.#registry) return;
    const removed = await this.#registry.remove(deviceId);
    if (!removed.ok) this.errors.devices = removed.error.message;
    this.#verifier?.forget(deviceId);
    await this.refreshDevices();
  }

  /** Clears the counters and the table (not the windows: those are the anti-replay state). */
  clearStream(): void {
    this.accepted = 0;
    this.refused = 0;
    this.refusedBy = {};
    this.recent = [];
    this.stats = [];
    this.#perDevice.clear();
  }

  /** Resolves when everything received so far has a verdict on the page (tests, the benchmark). */
  async settled(): Promise<void> {
    await this.#verifierTail();
    this.#flush();
  }

  reasonText(reason: RefusalReason): string {
    return REFUSAL_REASONS[reason];
  }


  #verifierTail(): Promise<void> {
    return this.#inflight === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }

  #receive(topic: string, bytes: Uint8Array): void {
    const verifier = this.#verifier;
    if (!verifier) return;
    this.#inflight++;
    void verifier.verify(topic, bytes).then((verdict) => {
      if (verdict.status === 'refused') this.#link?.publishRefusal(verdict);
      this.#pending.push(verdict);
      this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
      if (--this.#inflight === 0) for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  /** Moves pending verdicts onto the page, and their refusals into the audit log. */
  #flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const now = this.#deps.now();
    const rows: MessageRow[] = [];
    const refusedBy = { ...this.refusedBy };
    let accepted = 0;
    let refused = 0;
    for (const verdict of batch) {
      const deviceId = verdict.deviceId ?? '(unknown)';
      const counter = verdict.counter === null ? '' : verdict.counter.toString();
      const device = this.#perDevice.get(deviceId) ?? { accepted: 0, refused: 0, lastCounter: '', times: [] };
      if (verdict.status === 'accepted') {
        accepted++;
        device.accepted++;
        device.lastCounter = counter;
        device.times.push(verdict.receivedAt);
        rows.push({ seq: ++this.#seq, time: verdict.receivedAt, deviceId, counter, status: 'accepted', detail: JSON.stringify(toJsonValue(verdict.data)).slice(0, 160) });
      } else {
        refused++;
        device.refused++;
        refusedBy[verdict.reason] = (refusedBy[verdict.reason] ?? 0) + 1;
        rows.push({ seq: ++this.#seq, time: verdict.receivedAt, deviceId, counter, status: 'refused', reason: verdict.reason, detail: verdict.message.slice(0, 160) });
      }
      this.#perDevice.set(deviceId, device);
    }
    this.accepted += accepted;
    this.refused += refused;
    this.refusedBy = refusedBy;
    this.lastBatch = this.#verifier?.committer ? Math.round(this.#verifier.committer.claims / Math.max(1, this.#verifier.committer.transactions)) : 0;
    this.recent = [...rows.reverse(), ...this.recent].slice(0, RECENT_LIMIT);
    this.stats = [...this.#perDevice].map(([deviceId, device]) => {
      device.times = device.times.filter((time) => time > now - RATE_WINDOW_MS);
      return { deviceId, accepted: device.accepted, refused: device.refused, rate: device.times.length / (RATE_WINDOW_MS / 1000), lastCounter: device.lastCounter };
    });
    this.#auditRefusals(batch.filter((verdict) => verdict.status === 'refused'));
  }

  /** One security event (intent + outcome) per device and reason in a batch; queued behind earlier ones, never on the message path. */
  #auditRefusals(refusals: Extract<Verdict, { status: 'refused' }>[]): void {
    if (refusals.length === 0 || !this.#deps.audit) return;
    const groups = new Map<string, typeof refusals>();
    for (const refusal of refusals) {
      const key = `${refusal.deviceId ?? ''}\u0000${refusal.reason}`;
      groups.set(key, [...(groups.get(key) ?? []), refusal]);
    }
    const audit = this.#deps.audit;
    this.#auditTail = this.#auditTail.then(async () => {
      const log = await audit.open();
      if (!log) return;
      for (const group of groups.values()) {
        const first = group[0]!;
        const counters = group.map((refusal) => refusal.counter).filter((counter): counter is bigint => counter !== null);
        const low = counters.length ? counters.reduce((a, b) => (b < a ? b : a)) : null;
        const high = counters.length ? counters.reduce((a, b) => (b > a ? b : a)) : null;
        const intent = await log.intent({
          action: 'console.refused',
          ...(first.deviceId && first.deviceId.length <= 128 ? { deviceId: first.deviceId } : {}),
          ...(low !== null && low <= BigInt(Number.MAX_SAFE_INTEGER) ? { counter: Number(low) } : {}),
        });
        if (!intent.ok) return;
        await log.outcome(intent.value.seq, {
          result: 'failed',
          errorCode: first.reason,
          errorMessage: first.message.slice(0, 1000),
          details: { count: String(group.length), topic: first.topic.slice(0, 200), ...(low !== null ? { firstCounter: low.toString(), lastCounter: high!.toString() } : {}) },
        });
      }
    });
  }

  #refuse(scope: ConsoleScope, message: string): false {
    this.errors[scope] = message;
    return false;
  }
}

/** The tab's console, kept across page changes like the connection: the stream goes on while the operator looks elsewhere. */
export const verificationConsole = new VerificationConsole({ audit: auditTrail });
