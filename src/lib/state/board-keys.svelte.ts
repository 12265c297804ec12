/**
 * The connected board's keys group as state the Keys page renders: `info` (device id, lock,
 * counter, tamper count), every key with its public key, fingerprint and stored certificate chain,
 * and the tamper log. Reads follow the connection's board; answers from a board that has since
 * been replaced are dropped. Destroy goes to the board, which refuses it once locked — the
 * board's own message is what the page shows — and, like every step that changes a board, is
 * written to the audit log as an intent before and an outcome after.
 */
import type { Board, KeyEntry, KeysError, KeysInfo, TamperEvent } from '../device';
import { bytesToHex } from '../util/bytes';
import { describeCertificate, type CertificateView } from './certificate-view';
import { isLinkError } from './identity';
import type { AuditTrail } from './audit-trail.svelte';
import type { Connection } from './connection.svelte';
import { keyFingerprint, keyIdHex, splitCertificateChain, usageNames } from './key-view';

export type KeysScope = 'read' | 'destroy';

export interface KeyDetails {
  id: number;
  idHex: string;
  alg: string;
  /** PSA usage flags by name, for reading. */
  usage: string;
  /** The PSA usage bits themselves (a rotated key gets the same). */
  usageFlags: number;
  /** Hex; null for symmetric keys (the board never shows those). */
  publicKey: string | null;
  /** SHA-256 of the SubjectPublicKeyInfo, hex. */
  fingerprint: string | null;
  /** The chain the board holds for the key, its own certificate first; empty when none. */
  certificates: CertificateView[];
  /** A part the board did not answer (public key or certificate), with its message. */
  problem: string | null;
}

export class BoardKeys {
  info = $state.raw<KeysInfo | null>(null);
  deviceId = $state('');
  /** Null until read. */
  keys = $state.raw<KeyDetails[] | null>(null);
  tamperLog = $state.raw<TamperEvent[] | null>(null);
  errors = $state<Partial<Record<KeysScope, string>>>({});
  busy = $state<Partial<Record<KeysScope, boolean>>>({});
  notice = $state<string | null>(null);
  /** The board the fields above describe. */
  private readFrom: Board | null = null;

  constructor(
    private readonly connection: Connection,
    /** The audit log destroy writes through; none in tests that do not care. */
    private readonly audit: Pick<AuditTrail, 'open' | 'refreshIntents'> | null = null,
  ) {}

  /** Whether the fields describe the board connected now. */
  get current(): boolean {
    return !!this.connection.board && this.readFrom === this.connection.board;
  }

  /** Reads info, keys (with public keys and certificates) and the tamper log from the connected board. */
  async refresh(): Promise<boolean> {
    const board = this.connection.board;
    if (!board || !this.connection.isConnected) return this.refuse('read', 'Not connected: connect to a board first.');
    if (board !== this.readFrom) this.clear();
    this.readFrom = board;
    this.busy.read = true;
    delete this.errors.read;
    try {
      const info = await board.keys.info();
      if (this.connection.board !== board) return false;
      if (!info.ok) return this.refuse('read', info.error.message);
      this.info = info.value;
      this.deviceId = bytesToHex(info.value.deviceId);
      const list = await board.keys.list();
      if (this.connection.board !== board) return false;
      if (!list.ok) return this.refuse('read', list.error.message);
      const keys: KeyDetails[] = [];
      for (const entry of list.value) keys.push(await this.details(board, entry));
      const tamper = await board.keys.tamperLog();
      if (this.connection.board !== board) return false;
      this.keys = keys;
      if (!tamper.ok) return this.refuse('read', tamper.error.message);
      this.tamperLog = tamper.value;
      return true;
    } finally {
      this.busy.read = false;
    }
  }

  /** Deletes key `id` and its certificate chain on the board (intent and outcome in the audit log), then reads the keys again. */
  async destroy(id: number): Promise<boolean> {
    const board = this.connection.board;
    if (!board || !this.connection.isConnected) return this.refuse('destroy', 'Not connected: connect to a board first.');
    this.busy.destroy = true;
    delete this.errors.destroy;
    this.notice = null;
    try {
      const key = this.keys?.find((entry) => entry.id === id);
      const log = (await this.audit?.open()) ?? null;
      const intent = log
        ? await log.intent({ action: 'keys.destroy', keyId: keyIdHex(id), ...(this.deviceId ? { deviceId: this.deviceId } : {}), ...(key?.fingerprint ? { keyFingerprint: key.fingerprint } : {}) })
        : null;
      if (intent && !intent.ok) return this.refuse('destroy', `The audit log refused the intent, so nothing was done: ${intent.error.message}`);
      const destroyed = await board.keys.destroy(id);
      // A refusal is a known outcome; a lost link is not: that intent stays open for reconciliation.
      if (intent?.ok && log && (destroyed.ok || !isLinkError(destroyed.error.code))) {
        const closed = await log.outcome(intent.value.seq, destroyed.ok ? { result: 'ok' } : { result: 'failed', errorCode: errorCode(destroyed.error), errorMessage: destroyed.error.message });
        if (!closed.ok) this.refuse('destroy', `The audit log did not record the outcome: ${closed.error.message}`);
      }
      await this.audit?.refreshIntents();
      if (this.connection.board !== board) return false;
      if (!destroyed.ok) {
        this.refuse('destroy', destroyed.error.message);
        await this.refresh();
        return false;
      }
      this.notice = `Key ${keyIdHex(id)} and its certificates were destroyed on the board.`;
      await this.refresh();
      return true;
    } finally {
      this.busy.destroy = false;
    }
  }

  dismiss(scope: KeysScope): void {
    delete this.errors[scope];
  }

  private async details(board: Board, entry: KeyEntry): Promise<KeyDetails> {
    const base: KeyDetails = { id: entry.id, idHex: keyIdHex(entry.id), alg: entry.alg, usage: usageNames(entry.usage), usageFlags: entry.usage, publicKey: null, fingerprint: null, certificates: [], problem: null };
    const problems: string[] = [];
    const publicKey = await board.keys.publicKey(entry.id);
    if (publicKey.ok && publicKey.value.publicKey) {
      base.publicKey = bytesToHex(publicKey.value.publicKey);
      base.fingerprint = await keyFingerprint(entry.alg, publicKey.value.publicKey);
    } else if (!publicKey.ok) {
      problems.push(`public key: ${publicKey.error.message}`);
    }
    if (entry.certBytes > 0) {
      const chain = await board.keys.readCertificate(entry.id);
      if (!chain.ok) problems.push(`certificate: ${chain.error.message}`);
      else if (chain.value) base.certificates = await this.certificates(chain.value, problems);
    }
    base.problem = problems.length ? problems.join('; ') : null;
    return base;
  }

  private async certificates(chain: Uint8Array, problems: string[]): Promise<CertificateView[]> {
    const parts = splitCertificateChain(chain);
    if (!parts) {
      problems.push(`certificate: the ${chain.length} bytes the board holds are not DER certificates`);
      return [];
    }
    const views: CertificateView[] = [];
    for (const [index, der] of parts.entries()) {
      const view = await describeCertificate(der, index === 0 ? 'Device' : `Chain ${index}`);
      if (view.ok) views.push(view.value);
      else problems.push(`certificate ${index + 1}: ${view.error.message}`);
    }
    return views;
  }

  private clear(): void {
    this.info = null;
    this.deviceId = '';
    this.keys = null;
    this.tamperLog = null;
    this.errors = {};
    this.notice = null;
  }

  private refuse(scope: KeysScope, message: string): false {
    this.errors[scope] = message;
    return false;
  }
}

/** `keys-locked` for a keys-group refusal, else the SMP error code (`timeout`, `disconnected`). */
function errorCode(error: KeysError): string {
  return error.reason ? `keys-${error.reason}` : error.code;
}
