/**
 * The Field page's work on the connected board, composed from the tab's shared state: identify it
 * (an SMP echo with its round trip — MCUmgr has no blink command, so that is all a board can be
 * asked), read its identity and keys (`BoardKeys`), check each key's certificate chain against the
 * station's CAs, and rotate a key (`rotateKey` from the provisioning layer, written to the audit
 * log like every change the other pages make). Answers for a board since replaced are dropped.
 */
import type { Board } from '../device';
import type { AuditLog } from '../audit';
import { type CertificateAuthority, verifyEcdsaP256 } from '../pki';
import { type DeviceRegistry, openDeviceRegistry, registerProvisioned, registrationNote, type RegistryError } from '../registry';
import type { Result } from '../smp/result';
import { auditLogSink, freshChallenge, rotateKey, type CertificateSummary } from '../provisioning';
import { bytesToHex, hexToBytes } from '../util/bytes';
import type { AuditTrail } from './audit-trail.svelte';
import type { CertificateAuthorities } from './authorities.svelte';
import type { BoardKeys, KeyDetails } from './board-keys.svelte';
import { chainVerdict, type ChainVerdict } from './chain-verdict';
import type { Connection } from './connection.svelte';
import { spkiForKey } from './key-view';

export type FieldScope = 'identify' | 'read' | 'chain' | 'rotate';

/** What Identify can do on a board: echo only. A product with an LED command would add it here. */
export const IDENTIFY_METHOD = 'Echo only: MCUmgr has no blink command, so the board proves it is the one you reached by answering.';

export interface Identified {
  sent: string;
  reply: string;
  /** Round trip as the page measured it. */
  ms: number;
  at: Date;
}

/** Whether the board holds the private half of a key: it signed a fresh challenge that verifies with the public key it reports. */
export interface Possession {
  ok: boolean;
  text: string;
}

export interface RotationDone {
  oldKeyId: string;
  newKeyId: string;
  oldFingerprint: string | null;
  newFingerprint: string;
  /** The new chain in the device registry (as the Provision page does), or why not; null without a certificate. */
  registration: { ok: boolean; text: string } | null;
}

export class FieldSession {
  identified = $state.raw<Identified | null>(null);
  /** Verdict per key id (hex), for the keys read last. */
  verdicts = $state.raw<Record<string, ChainVerdict>>({});
  /** Proof of possession per P-256 key id (hex), for the keys read last. */
  possession = $state.raw<Record<string, Possession>>({});
  lastRotation = $state.raw<RotationDone | null>(null);
  errors = $state<Partial<Record<FieldScope, string>>>({});
  busy = $state<Partial<Record<FieldScope, boolean>>>({});
  /** The board `read` last read, so the page knows whether the verdicts describe the board connected now. */
  private readFrom = $state.raw<Board | null>(null);

  constructor(
    private readonly connection: Connection,
    private readonly keys: BoardKeys,
    private readonly authorities: CertificateAuthorities,
    private readonly audit: AuditTrail,
    private readonly clock: () => Date = () => new Date(),
    private readonly openRegistry: () => Promise<Result<DeviceRegistry, RegistryError>> = () => openDeviceRegistry(),
  ) {}

  /** Whether identity, keys and verdicts were read from the board connected now. */
  get current(): boolean {
    return !!this.connection.board && this.readFrom === this.connection.board;
  }

  /** The serial in the board's device certificate (`serialNumber`), which provisioning put there. */
  get boardSerial(): string | null {
    for (const key of this.keys.keys ?? []) {
      const serial = /(?:^|, )serialNumber=([^,]+)/.exec(key.certificates[0]?.subject ?? '')?.[1];
      if (serial) return serial;
    }
    return null;
  }

  /** Sends a fresh token and checks the board answers with it. */
  async identify(): Promise<boolean> {
    const board = this.connection.board;
    this.busy.identify = true;
    delete this.errors.identify;
    try {
      const token = `imprint-identify-${bytesToHex(crypto.getRandomValues(new Uint8Array(3)))}`;
      const started = performance.now();
      const reply = await this.connection.echo(token);
      if (this.connection.board !== board) return false;
      if (!reply.ok) return this.refuse('identify', reply.error.message);
      if (reply.value !== token) return this.refuse('identify', `The board answered “${reply.value}” to “${token}”: it is not echoing what it is sent.`);
      this.identified = { sent: token, reply: reply.value, ms: Math.round(performance.now() - started), at: this.clock() };
      return true;
    } finally {
      this.busy.identify = false;
    }
  }

  /** Reads the keys group (device id, keys, certificates, tamper log), then checks every chain. */
  async read(): Promise<boolean> {
    this.readFrom = this.connection.board;
    this.busy.read = true;
    delete this.errors.read;
    try {
      const read = await this.keys.refresh();
      if (!read) return this.refuse('read', this.keys.errors.read ?? 'The board did not answer.');
      await this.checkChains();
      return true;
    } finally {
      this.busy.read = false;
    }
  }

  /**
   * Judges each key's chain (as last read) against every CA the station holds, and has the board
   * sign a fresh challenge with each P-256 key: a certificate copied onto another board verifies
   * just as well, the signature does not.
   */
  async checkChains(): Promise<void> {
    const board = this.connection.board;
    this.busy.chain = true;
    delete this.errors.chain;
    try {
      await this.authorities.load();
      const anchors = this.authorities.list.map((ca) => ({ label: ca.label, root: ca.certificates.at(-1)!.der }));
      const verdicts: Record<string, ChainVerdict> = {};
      const possession: Record<string, Possession> = {};
      for (const key of this.keys.keys ?? []) {
        const publicKey = key.publicKey ? hexToBytes(key.publicKey) : null;
        verdicts[key.idHex] = await chainVerdict(key.certificates.map((certificate) => certificate.der), spkiForKey(key.alg, publicKey), anchors, this.clock());
        if (board && this.connection.isConnected && key.alg === 'p256' && publicKey) possession[key.idHex] = await provePossession(board, key.id, publicKey);
      }
      if (this.connection.board !== board) return;
      this.verdicts = verdicts;
      this.possession = possession;
    } finally {
      this.busy.chain = false;
    }
  }

  /**
   * Replaces `key` with a new one made on the board (certified by the active CA when the old one
   * had a certificate), then destroys the old one; every step is in the audit log.
   */
  async rotate(key: KeyDetails): Promise<boolean> {
    const board = this.connection.board;
    if (!board || !this.connection.isConnected) return this.refuse('rotate', 'Not connected: connect to a board first.');
    this.busy.rotate = true;
    delete this.errors.rotate;
    this.lastRotation = null;
    try {
      const log = await this.audit.open();
      if (!log) return this.refuse('rotate', `The audit log cannot be opened, so nothing was done: ${this.audit.errors.open ?? 'IndexedDB failed'}.`);
      const ca = key.certificates.length > 0 ? await this.authorities.activeAuthority() : null;
      const rotated = await rotateKey({
        board,
        key: { id: key.id, alg: key.alg, usage: key.usageFlags, fingerprint: key.fingerprint, certificate: key.certificates[0]?.der ?? null },
        deviceId: this.keys.deviceId,
        ca,
        audit: auditLogSink(log),
      });
      if (!rotated.ok) this.refuse('rotate', rotated.error.message);
      else {
        const { key: made, runId } = rotated.value;
        const registration = made.certificate && ca ? await this.register(made.certificate, ca, runId, log) : null;
        this.lastRotation = { oldKeyId: rotated.value.oldKeyId, newKeyId: made.keyId, oldFingerprint: key.fingerprint, newFingerprint: made.spkiFingerprint, registration };
      }
      await this.audit.refresh();
      if (this.connection.board !== board) return false;
      await this.read();
      return rotated.ok;
    } finally {
      this.busy.rotate = false;
    }
  }

  /** The console verifies telemetry with the registered key: the new chain replaces the old one there, as after provisioning. */
  private async register(certificate: CertificateSummary, ca: CertificateAuthority, runId: string, log: AuditLog): Promise<{ ok: boolean; text: string }> {
    const registered = await registerProvisioned(
      { certificatePem: certificate.pem, issuersPem: certificate.chainPem, root: ca.root.certificate },
      { boardSerial: this.boardSerial ?? this.keys.deviceId, deviceId: this.keys.deviceId, runId },
      { audit: log, openRegistry: this.openRegistry },
    );
    return { ok: registered.ok, text: registrationNote(registered) };
  }

  dismiss(scope: FieldScope): void {
    delete this.errors[scope];
  }

  private refuse(scope: FieldScope, message: string): false {
    this.errors[scope] = message;
    return false;
  }
}

/** The board signs a fresh challenge (`freshChallenge`) with key `id`; the signature must verify with `publicKey`. */
async function provePossession(board: Board, id: number, publicKey: Uint8Array): Promise<Possession> {
  const challenge = freshChallenge();
  const signed = await board.keys.sign(id, challenge);
  if (!signed.ok) return { ok: false, text: `The board did not sign a challenge with this key: ${signed.error.message}.` };
  const verified = await verifyEcdsaP256(publicKey, challenge, signed.value);
  return verified.ok
    ? { ok: true, text: 'The board signed a fresh challenge with this key: it holds the private key.' }
    : { ok: false, text: `The board's signature does not verify with the key it reports (${verified.error.message}): it does not hold that key.` };
}
