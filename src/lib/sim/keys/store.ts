/**
 * The simulated board's secure storage, as flash: key records (private keys stay here), their
 * certificate chains, the session counter, the lock flag, the tamper log and the X25519
 * transport key. It survives reboots; the keys group keeps its volatile state elsewhere.
 *
 * Each key record carries a SHA-256 of its contents as written, so bit rot (`corrupt`, a test
 * hook) is found on the next read. Writes spend a byte budget when a fault plan sets one: the
 * write that crosses it fails part-way and commits nothing, as an atomic record store (PSA ITS)
 * does when flash fails under it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { KeyAlg, TamperKind } from '../../device/keys-ids';
import { concatBytes, equalBytes, utf8 } from '../../util/bytes';

/** Faults of the keys group, beside the link faults of `board.faults`. */
export interface KeysFaultPlan {
  /** Storage takes this many more bytes, then a write fails part-way (once): "storage failure". */
  failStorageAfterBytes?: number;
  /** New keys are refused with "slots full" whatever the slot count. */
  slotsFull?: boolean;
  /** The board reboots right after answering its N-th next keys-group request (1: the next one). */
  rebootBetweenSteps?: number;
}

export interface SimKeyRecord {
  id: number;
  alg: KeyAlg;
  usage: number;
  /** The private key or secret. Nothing sends it: no response field is made from it. */
  secret: Uint8Array;
  publicKey: Uint8Array | null;
  cert: Uint8Array | null;
  /** SHA-256 of the record as written; a mismatch on read is a storage integrity failure. */
  digest: Uint8Array;
  /** Set once the integrity failure has gone into the tamper log, so it is logged once. */
  corruptionLogged?: boolean;
}

export interface TamperRecord {
  seq: number;
  kind: TamperKind;
  boot: number;
  id?: number;
  value?: number | bigint;
  /** The refused command, for `locked` events. */
  cmd?: number;
}

export interface SimKeyStoreOptions {
  slots: number;
  certMax: number;
  tamperCapacity: number;
  transportSecret: Uint8Array;
}

/** Bytes a key record takes in flash besides its key material: id, usage, algorithm, digest. */
const RECORD_OVERHEAD = 4 + 4 + 1 + 32;

export class SimKeyStore {
  readonly slots: number;
  readonly certMax: number;
  readonly transportSecret: Uint8Array;
  faults: KeysFaultPlan = {};
  counter = 0n;
  locked = false;
  private readonly records = new Map<number, SimKeyRecord>();
  private readonly tamperLog: TamperRecord[] = [];
  private readonly tamperCapacity: number;
  private nextSeq = 0;

  constructor(options: SimKeyStoreOptions) {
    this.slots = options.slots;
    this.certMax = options.certMax;
    this.tamperCapacity = options.tamperCapacity;
    this.transportSecret = options.transportSecret;
  }

  get used(): number {
    return this.records.size;
  }

  /** Sequence number the next tamper event gets: the count of events since manufacture. */
  get tamperCount(): number {
    return this.nextSeq;
  }

  ids(): number[] {
    return [...this.records.keys()].sort((a, b) => a - b);
  }

  has(id: number): boolean {
    return this.records.has(id);
  }

  /** The record, checked against its digest: `corrupt` when flash no longer holds what was written. */
  read(id: number): SimKeyRecord | 'corrupt' | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    return equalBytes(digestOf(record), record.digest) ? record : 'corrupt';
  }

  /** Metadata without the integrity check, for `list`. */
  peek(id: number): SimKeyRecord | undefined {
    return this.records.get(id);
  }

  /** Writes a key record (replacing any at its id); false when the storage write failed and nothing changed. */
  putKey(record: Omit<SimKeyRecord, 'digest'>): boolean {
    if (!this.spend(RECORD_OVERHEAD + record.secret.length + (record.publicKey?.length ?? 0))) return false;
    const stored: SimKeyRecord = { ...record, digest: new Uint8Array(0) };
    stored.digest = digestOf(stored);
    this.records.set(record.id, stored);
    return true;
  }

  /** Commits a certificate chain already written chunk by chunk (its bytes were spent then). */
  commitCert(id: number, cert: Uint8Array): void {
    const record = this.records.get(id);
    if (!record) return;
    record.cert = cert;
    record.digest = digestOf(record);
  }

  remove(id: number): boolean {
    return this.records.delete(id);
  }

  /**
   * Spends `bytes` of flash writes; false when the fault plan's budget runs out part-way (the
   * fault is then used up, so a retry succeeds).
   */
  spend(bytes: number): boolean {
    const budget = this.faults.failStorageAfterBytes;
    if (budget === undefined) return true;
    if (bytes <= budget) {
      this.faults.failStorageAfterBytes = budget - bytes;
      return true;
    }
    this.faults.failStorageAfterBytes = undefined;
    return false;
  }

  recordTamper(event: Omit<TamperRecord, 'seq'>): void {
    this.tamperLog.push({ seq: this.nextSeq++, ...event });
    if (this.tamperLog.length > this.tamperCapacity) this.tamperLog.shift();
  }

  tamperSince(seq: number): TamperRecord[] {
    return this.tamperLog.filter((event) => event.seq >= seq);
  }

  /** Test hook: flips a bit of the stored key material, as bit rot or a glitch attack would. */
  corrupt(id: number): void {
    const record = this.records.get(id);
    if (record) record.secret = Uint8Array.from(record.secret, (byte, index) => (index === 0 ? byte ^ 0x01 : byte));
  }
}

function digestOf(record: Omit<SimKeyRecord, 'digest'>): Uint8Array {
  const numbers = new Uint8Array(8);
  new DataView(numbers.buffer).setUint32(0, record.id);
  new DataView(numbers.buffer).setUint32(4, record.usage);
  return sha256(concatBytes(numbers, utf8.encode(record.alg), record.secret, record.publicKey ?? new Uint8Array(0), record.cert ?? new Uint8Array(0)));
}
