/**
 * Imprint's keys group (docs/protocol/keys-group.md) as a typed API: every command of the spec,
 * each returning a typed value or a `KeysError` that names the keys-group reason (`no-such-key`,
 * `slot-in-use`, …) whether the board answered in v2 `{err: {group, rc}}` or in v1 `{rc}`.
 * The certificate store and read loops chunk a chain to the board's buffer; `list` and
 * `tamperLog` follow the board's pages. The group id is the profile's (default 64).
 */
import type { CborMap } from '../smp/cbor';
import { isCborMap } from '../smp/cbor';
import type { SmpClient } from '../smp/client';
import { describeCommand } from '../smp/ids';
import { type Result, ok, err } from '../smp/result';
import { decodeCoseSign1 } from '../cose/sign1';
import { concatBytes, equalBytes } from '../util/bytes';
import { COMMANDS, type CommandSpec } from './commands';
import { KEYS_MGMT_GROUP_DEFAULT, SIGN_FORMAT } from './keys-ids';
import {
  type CertificateProgress,
  type GeneratedKey,
  type GenerateRequest,
  type ImportedKey,
  type ImportRequest,
  type KeyEntry,
  type KeysError,
  keysErrorReason,
  type KeysInfo,
  type PublicKey,
  registerKeysGroupNames,
  type TamperEvent,
  type TransportKey,
} from './keys-model';
import { type CallOptions, runCommand } from './run';
import { chunkDataSize, FALLBACK_PACKET_SIZE } from './upload';

/** A board that keeps answering with pages or offsets that do not move gets this many requests, then `bad-response`. */
const MAX_ROUNDS = 1024;
/** Times a certificate store may start over because the board lost the partial chain (it rebooted). */
const MAX_RESTARTS = 3;

export class KeysGroup {
  readonly group: number;

  constructor(
    private readonly client: SmpClient,
    group: number = KEYS_MGMT_GROUP_DEFAULT,
  ) {
    this.group = group;
    registerKeysGroupNames(group);
  }

  /** @example const info = await board.keys.info(); if (info.ok && info.value.locked) … */
  async info(options?: CallOptions): Promise<Result<KeysInfo, KeysError>> {
    const reply = await this.run(COMMANDS.keysInfo, {}, options);
    if (!reply.ok) return reply;
    const value = reply.value;
    return ok({
      version: value.v as number,
      deviceId: value.device as Uint8Array,
      firmware: value.fw as string,
      generateAlgs: strings(value.gen),
      importAlgs: strings(value.imp),
      slots: value.slots as number,
      used: value.used as number,
      certMax: value.cert_max as number,
      counter: Number(value.counter),
      tamperEvents: value.tamper as number,
      locked: value.locked as boolean,
    });
  }

  /** @example await board.keys.generate({ alg: 'p256', id: 1, csrSubject: 'CN=dev-1' }) */
  async generate(request: GenerateRequest, options?: CallOptions): Promise<Result<GeneratedKey, KeysError>> {
    const payload: CborMap = { alg: request.alg, ...keyFields(request) };
    if (request.csrSubject !== undefined) payload.csr = { subject: request.csrSubject };
    const reply = await this.run(COMMANDS.keysGenerate, payload, options);
    if (!reply.ok) return reply;
    const { id, alg, usage, pub, csr } = reply.value;
    if (request.csrSubject !== undefined && !(csr instanceof Uint8Array)) return this.badResponse(COMMANDS.keysGenerate, 'the board sent no CSR');
    return ok({ id: id as number, alg: alg as string, usage: usage as number, publicKey: pub as Uint8Array, ...(csr instanceof Uint8Array ? { csr } : {}) });
  }

  /** Stores a key sealed with `wrapKeyForImport` to this board's transport key. */
  async import(request: ImportRequest, options?: CallOptions): Promise<Result<ImportedKey, KeysError>> {
    const payload: CborMap = { alg: request.alg, ...keyFields(request), enc: request.wrap.enc, ct: request.wrap.ct };
    const reply = await this.run(COMMANDS.keysImport, payload, options);
    if (!reply.ok) return reply;
    const { id, alg, usage, pub } = reply.value;
    return ok({ id: id as number, alg: alg as string, usage: usage as number, publicKey: pub instanceof Uint8Array ? pub : null });
  }

  /** The board's X25519 public key for import wraps; with `signer`, signed by that key. */
  async transportKey(signer?: number, options?: CallOptions): Promise<Result<TransportKey, KeysError>> {
    const reply = await this.run(COMMANDS.keysTransportKey, signer === undefined ? {} : { id: signer }, options);
    if (!reply.ok) return reply;
    const { pub, suite, sig, id } = reply.value;
    const [kem, kdf, aead] = suite as unknown[];
    if (typeof kem !== 'number' || typeof kdf !== 'number' || typeof aead !== 'number') return this.badResponse(COMMANDS.keysTransportKey, '"suite" is not three HPKE ids');
    if (signer !== undefined && !(sig instanceof Uint8Array)) return this.badResponse(COMMANDS.keysTransportKey, 'the board sent no signature');
    const signature = sig instanceof Uint8Array ? { signature: sig, signer: typeof id === 'number' ? id : signer } : {};
    return ok({ publicKey: pub as Uint8Array, suite: { kem, kdf, aead }, ...signature });
  }

  /** Public key, algorithm and usage of `id`; a missing key is the typed error `no-such-key` (or use `exists`). */
  async publicKey(id: number, options?: CallOptions): Promise<Result<PublicKey, KeysError>> {
    const reply = await this.run(COMMANDS.keysPublic, { id }, options);
    if (!reply.ok) return reply;
    const entry = readEntry(reply.value);
    if (!entry) return this.badResponse(COMMANDS.keysPublic, 'the key entry lacks id, alg or usage');
    return ok({ ...entry, publicKey: reply.value.pub instanceof Uint8Array ? reply.value.pub : null });
  }

  /** Whether a key exists at `id`, without an error for "no". */
  async exists(id: number, options?: CallOptions): Promise<Result<boolean, KeysError>> {
    const reply = await this.publicKey(id, options);
    if (reply.ok) return ok(true);
    return reply.error.reason === 'no-such-key' ? ok(false) : reply;
  }

  /** Every key on the board, in id order, following the board's pages. */
  async list(options?: CallOptions): Promise<Result<KeyEntry[], KeysError>> {
    const keys: KeyEntry[] = [];
    let after = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const reply = await this.run(COMMANDS.keysList, after === 0 ? {} : { after }, options);
      if (!reply.ok) return reply;
      for (const raw of reply.value.keys as unknown[]) {
        const entry = isCborMap(raw) ? readEntry(raw) : null;
        if (!entry || entry.id <= after) return this.badResponse(COMMANDS.keysList, 'a key entry is malformed or out of order');
        keys.push(entry);
        after = entry.id;
      }
      if (reply.value.more !== true) return ok(keys);
      if ((reply.value.keys as unknown[]).length === 0) break;
    }
    return this.badResponse(COMMANDS.keysList, 'the board keeps saying "more" without sending keys');
  }

  /** Deletes the key and its certificate chain. Refused (`locked`) once the board is locked. */
  async destroy(id: number, options?: CallOptions): Promise<Result<void, KeysError>> {
    const reply = await this.run(COMMANDS.keysDestroy, { id }, options);
    return reply.ok ? ok(undefined) : reply;
  }

  /** The board builds and signs a PKCS#10 CSR (DER) for key `id` and `subject` (`CN=…,O=…`). */
  async csr(id: number, subject: string, options?: CallOptions): Promise<Result<Uint8Array, KeysError>> {
    const reply = await this.run(COMMANDS.keysCsr, { id, subject }, options);
    return reply.ok ? ok(reply.value.csr as Uint8Array) : reply;
  }

  /** P-256: raw r‖s (64 bytes) of ECDSA over SHA-256(message); Ed25519: PureEdDSA; HMAC-SHA256: the MAC. */
  async sign(id: number, message: Uint8Array, options?: CallOptions): Promise<Result<Uint8Array, KeysError>> {
    const reply = await this.run(COMMANDS.keysSign, { id, msg: message }, options);
    return reply.ok ? ok(reply.value.sig as Uint8Array) : reply;
  }

  /**
   * The board wraps `message` in a tagged COSE_Sign1 signed with key `id` (`fmt: "cose"`): ES256
   * for P-256, EdDSA for Ed25519. A board that predates `fmt` answers a raw signature; that is
   * `not-supported` here. The answer is checked to be a COSE_Sign1 whose payload is `message`,
   * not verified: verify it with the key you trust (`verifyCoseSign1`).
   * @example const signed = await board.keys.signCose(1, encodeTelemetry({ deviceId, counter, time, data }));
   */
  async signCose(id: number, message: Uint8Array, options?: CallOptions): Promise<Result<Uint8Array, KeysError>> {
    const reply = await this.run(COMMANDS.keysSign, { id, msg: message, fmt: SIGN_FORMAT.COSE }, options);
    if (!reply.ok) return reply;
    const sig = reply.value.sig as Uint8Array;
    const decoded = decodeCoseSign1(sig);
    if (!decoded.ok) {
      const command = this.name(COMMANDS.keysSign);
      return err({ code: 'bad-response', command, reason: 'not-supported', message: `${command}: the board did not answer a COSE_Sign1 (${decoded.error.message}); its firmware may predate fmt "cose"` });
    }
    if (!decoded.value.payload || !equalBytes(decoded.value.payload, message)) return this.badResponse(COMMANDS.keysSign, 'the COSE_Sign1 does not carry the message as its payload');
    return ok(sig);
  }

  /**
   * Stores a DER certificate (or chain) for key `id` in chunks that fill the board's buffer.
   * If the board loses the partial chain (it rebooted), the store starts over, up to 3 times.
   */
  async storeCertificate(
    id: number,
    der: Uint8Array,
    options: CallOptions & { onProgress?: (progress: CertificateProgress) => void } = {},
  ): Promise<Result<void, KeysError>> {
    const total = der.length;
    const maxPacketSize = this.client.maxPacketSize ?? FALLBACK_PACKET_SIZE;
    let offset = 0;
    let restarts = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const first = offset === 0;
      const size = chunkDataSize(offset, maxPacketSize, first ? { id, len: total } : { id });
      if (size === 0) return err({ code: 'too-large', command: this.name(COMMANDS.keysCertStore), message: `${this.name(COMMANDS.keysCertStore)}: the board's buffer has no room for certificate data` });
      const data = der.subarray(offset, offset + size);
      const reply = await this.run(COMMANDS.keysCertStore, first ? { id, off: 0, len: total, data } : { id, off: offset, data }, options);
      if (!reply.ok) return reply;
      const next = reply.value.off as number;
      if (next === total && offset + data.length === total) {
        options.onProgress?.({ sent: total, total });
        return ok(undefined);
      }
      if (next === offset + data.length) {
        offset = next;
        options.onProgress?.({ sent: offset, total });
        continue;
      }
      // The board wants another offset: 0 when it lost the partial chain (a reboot), anything else is a fault.
      if (next !== 0 || ++restarts > MAX_RESTARTS) return this.badResponse(COMMANDS.keysCertStore, `the board expects offset ${next} after ${offset + data.length} bytes`);
      offset = 0;
    }
    return this.badResponse(COMMANDS.keysCertStore, 'the store did not finish');
  }

  /** Reads the certificate chain of key `id` in chunks; null when the key has none. */
  async readCertificate(id: number, options?: CallOptions): Promise<Result<Uint8Array | null, KeysError>> {
    const parts: Uint8Array[] = [];
    let offset = 0;
    let total: number | null = null;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const reply = await this.run(COMMANDS.keysCertRead, { id, off: offset }, options);
      if (!reply.ok) return reply;
      const { off, len, data } = reply.value as { off: number; len: number; data: Uint8Array };
      if (len === 0 && offset === 0) return ok(null);
      if (total !== null && len !== total) return this.badResponse(COMMANDS.keysCertRead, `the chain changed from ${total} to ${len} bytes while it was read`);
      total = len;
      if (off !== offset || offset + data.length > len || data.length === 0) {
        return this.badResponse(COMMANDS.keysCertRead, `chunk at ${off} with ${data.length} of ${len} bytes does not continue offset ${offset}`);
      }
      parts.push(data);
      offset += data.length;
      if (offset === len) return ok(concatBytes(...parts));
    }
    return this.badResponse(COMMANDS.keysCertRead, 'the read did not finish');
  }

  async readCounter(options?: CallOptions): Promise<Result<number, KeysError>> {
    const reply = await this.run(COMMANDS.keysCounter, {}, options);
    return reply.ok ? ok(Number(reply.value.value)) : reply;
  }

  /** Raises the session counter to `value` (the same value again is fine); lower is `counter-rollback`. */
  async setCounter(value: number, options?: CallOptions): Promise<Result<number, KeysError>> {
    const reply = await this.run(COMMANDS.keysCounterSet, { value }, options);
    if (reply.ok) return ok(Number(reply.value.value));
    // A v1 board says EINVAL for a rollback: our request is well-formed, so that is what it means.
    if (reply.error.code === 'mgmt' && reply.error.reason === 'bad-request') return err({ ...reply.error, reason: 'counter-rollback' });
    return reply;
  }

  /** Tamper events with sequence numbers from `since`, following the board's pages. */
  async tamperLog(since = 0, options?: CallOptions): Promise<Result<TamperEvent[], KeysError>> {
    const events: TamperEvent[] = [];
    let next = since;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const reply = await this.run(COMMANDS.keysTamperLog, { since: next }, options);
      if (!reply.ok) return reply;
      for (const raw of reply.value.events as unknown[]) {
        if (!isCborMap(raw) || typeof raw.seq !== 'number' || typeof raw.kind !== 'string' || typeof raw.boot !== 'number') {
          return this.badResponse(COMMANDS.keysTamperLog, 'a tamper event lacks seq, kind or boot');
        }
        events.push({
          seq: raw.seq,
          kind: raw.kind,
          boot: raw.boot,
          ...(typeof raw.id === 'number' ? { id: raw.id } : {}),
          ...(raw.value !== undefined ? { value: Number(raw.value) } : {}),
        });
      }
      const following = reply.value.next as number;
      if (reply.value.more !== true) return ok(events);
      if (following <= next) break;
      next = following;
    }
    return this.badResponse(COMMANDS.keysTamperLog, 'the board keeps saying "more" without moving on');
  }

  /** Ends provisioning: afterwards the board refuses import, destroy and counter writes. Irreversible. */
  async lock(options?: CallOptions): Promise<Result<void, KeysError>> {
    const reply = await this.run(COMMANDS.keysLock, {}, options);
    return reply.ok ? ok(undefined) : reply;
  }

  /** One command of the table, sent to this group's id, with the keys reason on refusals. */
  private async run(spec: CommandSpec, payload: CborMap, options?: CallOptions): Promise<Result<CborMap, KeysError>> {
    const reply = await runCommand(this.client, { ...spec, group: this.group }, payload, options);
    if (reply.ok) return reply;
    const reason = keysErrorReason(reply.error, this.group);
    return err(reason ? { ...reply.error, reason } : reply.error);
  }

  private name(spec: CommandSpec): string {
    return describeCommand(this.group, spec.command);
  }

  private badResponse(spec: CommandSpec, why: string): Result<never, KeysError> {
    const command = this.name(spec);
    return err({ code: 'bad-response', command, message: `${command}: ${why}` });
  }
}

/** `id`, `usage` and `replace` as the request carries them: left out when not given. */
function keyFields(request: { id?: number; usage?: number; replace?: boolean }): CborMap {
  const fields: CborMap = {};
  if (request.id !== undefined) fields.id = request.id;
  if (request.usage !== undefined) fields.usage = request.usage;
  if (request.replace) fields.replace = true;
  return fields;
}

function readEntry(raw: CborMap): KeyEntry | null {
  const { id, alg, usage, cert } = raw;
  if (typeof id !== 'number' || typeof alg !== 'string' || typeof usage !== 'number') return null;
  return { id, alg, usage, certBytes: typeof cert === 'number' ? cert : 0 };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
