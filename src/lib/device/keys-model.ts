/**
 * The keys group's vocabulary: its refusals by reason (read from v2 `{err: {group, rc}}` or v1
 * `{rc}`) and the values its commands return (docs/protocol/keys-group.md). The client that
 * speaks the commands is keys.ts.
 */
import type { SmpError } from '../smp/errors';
import { registerGroupErrorNames } from '../smp/errors';
import { MGMT_ERR, registerGroupNames } from '../smp/ids';
import { KEYS_HPKE_SUITE, KEYS_MGMT_ERR, KEYS_MGMT_ERR_FROM_V1, KEYS_MGMT_ID, type KeyAlg, type KeysMgmtErr, type TamperKind } from './keys-ids';
import type { ImportWrap } from './keys-wrap';

/** Keys-group reasons: the v2 codes by name, plus `not-supported` for a v1 `rc` 8 (no such command, or an algorithm in v1). */
export type KeysErrorReason =
  | 'unknown'
  | 'bad-request'
  | 'no-such-key'
  | 'slot-in-use'
  | 'slots-full'
  | 'unsupported-algorithm'
  | 'bad-wrap'
  | 'counter-rollback'
  | 'not-permitted'
  | 'locked'
  | 'storage-failure'
  | 'too-large'
  | 'not-supported';

export interface KeysError extends SmpError {
  /** Set when the board refused the request with a keys-group code (v2) or a v1 `rc` we can read as one. */
  reason?: KeysErrorReason;
}

const REASONS: Readonly<Record<number, KeysErrorReason>> = Object.fromEntries(
  Object.entries(KEYS_MGMT_ERR)
    .filter(([, rc]) => rc !== KEYS_MGMT_ERR.OK)
    .map(([name, rc]) => [rc, name.toLowerCase().replace(/_/g, '-') as KeysErrorReason]),
);

/** The reason a keys-group refusal carries, v2 or v1. */
export function keysErrorReason(error: SmpError, group: number): KeysErrorReason | undefined {
  if (error.code === 'group' && error.group === group && error.rc !== undefined) return REASONS[error.rc];
  if (error.code !== 'mgmt' || error.rc === undefined) return undefined;
  const code: KeysMgmtErr | undefined = KEYS_MGMT_ERR_FROM_V1[error.rc];
  if (code !== undefined) return REASONS[code];
  return error.rc === MGMT_ERR.ENOTSUP ? 'not-supported' : undefined;
}

/** Names the group's commands and v2 error codes for logs and messages, at the id a profile chose. */
export function registerKeysGroupNames(group: number): void {
  registerGroupNames(group, 'keys', KEYS_MGMT_ID);
  registerGroupErrorNames(group, Object.fromEntries(Object.entries(REASONS).map(([rc, reason]) => [rc, reason.replace(/-/g, ' ')])));
}

export interface KeysInfo {
  /** Keys group protocol version of the board. */
  version: number;
  deviceId: Uint8Array;
  firmware: string;
  generateAlgs: string[];
  importAlgs: string[];
  slots: number;
  used: number;
  /** Largest certificate chain a key can hold, bytes. */
  certMax: number;
  counter: number;
  /** Tamper events the board recorded since manufacture (the next sequence number). */
  tamperEvents: number;
  locked: boolean;
}

export interface KeyEntry {
  id: number;
  alg: KeyAlg | (string & {});
  /** PSA usage flags (`KEY_USAGE`). */
  usage: number;
  /** Bytes of certificate chain stored for the key; 0 for none. */
  certBytes: number;
}

export interface PublicKey extends KeyEntry {
  /** SEC1 uncompressed (P-256) or raw (X25519, Ed25519); null for symmetric keys. */
  publicKey: Uint8Array | null;
}

export interface GenerateRequest {
  alg: 'p256' | 'x25519' | 'ed25519';
  /** PSA user range; the board picks the lowest free id when left out. */
  id?: number;
  usage?: number;
  /** Overwrite a key already at `id` (else `slot-in-use`). */
  replace?: boolean;
  /** Also have the board build a CSR for this subject while it holds the new key (`CN=…,O=…`). */
  csrSubject?: string;
}

export interface GeneratedKey {
  id: number;
  alg: string;
  usage: number;
  publicKey: Uint8Array;
  /** DER PKCS#10, when `csrSubject` was given. */
  csr?: Uint8Array;
}

export interface ImportRequest {
  alg: 'p256' | 'x25519' | 'hmac-sha256' | 'aes-128';
  /** The same id and usage the wrap's `info` bound (see `wrapKeyForImport`). */
  id?: number;
  usage?: number;
  replace?: boolean;
  wrap: ImportWrap;
}

export interface ImportedKey {
  id: number;
  alg: string;
  usage: number;
  /** For P-256 and X25519; null for symmetric keys. */
  publicKey: Uint8Array | null;
}

export interface TransportKey {
  publicKey: Uint8Array;
  /** HPKE KEM, KDF and AEAD ids (RFC 9180 §7). */
  suite: { kem: number; kdf: number; aead: number };
  /** Present when asked for: the signature over `TRANSPORT_KEY_SIGNATURE_LABEL ‖ 0 ‖ publicKey`, and who made it. */
  signature?: Uint8Array;
  signer?: number;
}

export interface TamperEvent {
  seq: number;
  kind: TamperKind | (string & {});
  /** Boot count of the board when it happened. */
  boot: number;
  id?: number;
  value?: number;
}

export type CertificateProgress = { sent: number; total: number };

/** The suite this client wraps with; a board reporting another one cannot take our imports. */
export function isKeysHpkeSuite(suite: TransportKey['suite']): boolean {
  return suite.kem === KEYS_HPKE_SUITE.kem && suite.kdf === KEYS_HPKE_SUITE.kdf && suite.aead === KEYS_HPKE_SUITE.aead;
}
