/**
 * What a provisioning run reports: progress events while it runs (a typed stream any view can
 * render), then either a result (what the board now holds, with every fingerprint) or a failure
 * (which step, why, and the state the board was left in). Public material only: no secret ever
 * appears in either.
 */
import type { KeySource } from './profile';
import type { ProvisioningError } from './errors';
import type { Plan, PlanStep } from './plan';

/** How a certified key got its certificate. */
export type CertificatePathTaken = 'generate-csr' | 'csr' | 'proof-of-possession' | 'browser-key';

export interface StepTiming {
  step: string;
  /** Wall-clock time of the step, ms. */
  ms: number;
  /** Waiting for the board: requests on the link and the board's own work, ms. */
  boardMs: number;
  /** Browser-side cryptography (key making, sealing, CSR and chain checks, issuing), ms. */
  cryptoMs: number;
  /** Writing audit records, ms. */
  auditMs: number;
  /** The board stopped answering (rebooted) during the step and the step went on after it came back. */
  recovered: boolean;
}

export interface RunTimings {
  totalMs: number;
  boardMs: number;
  cryptoMs: number;
  auditMs: number;
  steps: StepTiming[];
}

export type ProvisioningEvent =
  | { type: 'run-started'; runId: string; plan: Plan }
  | { type: 'step-started'; step: PlanStep; index: number }
  /** Bytes of a certificate chain sent so far. */
  | { type: 'step-progress'; step: PlanStep; index: number; sent: number; total: number }
  /** The board stopped answering; the run waits for it to come back (a reboot). */
  | { type: 'step-recovering'; step: PlanStep; index: number; reason: string }
  | { type: 'step-done'; step: PlanStep; index: number; timing: StepTiming; detail: string }
  | { type: 'step-skipped'; step: PlanStep; index: number; reason: string }
  | { type: 'step-failed'; step: PlanStep; index: number; timing: StepTiming; error: ProvisioningError }
  /** A cleanup action after a failure: a key destroyed, a setting deleted, or why not. */
  | { type: 'cleanup'; report: CleanupReport }
  | { type: 'run-done'; result: ProvisioningResult }
  | { type: 'run-failed'; failure: ProvisioningFailure };

export interface CertificateSummary {
  pem: string;
  /** SHA-256 of the DER, hex. */
  fingerprint: string;
  /** Lowercase hex. */
  serialNumber: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  /** The issuer chain stored with it (intermediate first, root excluded), PEM. */
  chainPem: string[];
}

export interface ProvisionedKey {
  label: string;
  /** The PSA key id; null for a key written through the settings group. */
  id: number | null;
  /** `0x00000001`, or the settings name the key was written to. */
  keyId: string;
  alg: string;
  usage: number;
  source: KeySource;
  /** As the board reported it: SEC1 uncompressed (P-256) or raw (X25519), hex. */
  publicKey: string;
  /** SubjectPublicKeyInfo, PEM. */
  publicKeyPem: string;
  /** SHA-256 of the SubjectPublicKeyInfo, hex. */
  spkiFingerprint: string;
  path: CertificatePathTaken | null;
  certificate: CertificateSummary | null;
  /** A key that was there before was replaced (re-provisioning). */
  replaced: boolean;
}

export interface ProvisioningResult {
  runId: string;
  profileId: string;
  kind: 'keys-group' | 'settings';
  /** Hex of the keys group's device id; for settings boards, what the operator gave (or the board serial). */
  deviceId: string;
  boardSerial: string;
  firmware: string | null;
  keys: ProvisionedKey[];
  /** The key whose certificate is the board's certificate (the first certified one). */
  primaryKey: string | null;
  certificate: CertificateSummary | null;
  /** The path the primary key's certificate took. */
  path: CertificatePathTaken | null;
  /** The session counter after the run, or null when the profile leaves it alone. */
  counter: number | null;
  /** Secrets crossed the cable unencrypted (settings profiles). */
  clearTextSecrets: boolean;
  /** Settings names written (settings profiles). */
  settings: string[];
  reprovisioned: boolean;
  timings: RunTimings;
}

export interface CleanupReport {
  what: 'key' | 'setting';
  /** Key label or settings name. */
  name: string;
  keyId?: string;
  removed: boolean;
  message: string;
}

/**
 * `unchanged`: the run failed before it changed anything. `cleaned`: what it made was removed.
 * `needs-attention`: something it made could not be removed (reported in `cleanup`).
 */
export type BoardState = 'unchanged' | 'cleaned' | 'needs-attention';

export interface ProvisioningFailure {
  runId: string;
  error: ProvisioningError;
  /** The step that failed; null when the run could not start. */
  step: PlanStep | null;
  cleanup: CleanupReport[];
  boardState: BoardState;
  /** One paragraph for the operator: the step, why, and what the board holds now. */
  message: string;
  /** What the operator can do next. */
  next: 'retry' | 'reprovision' | 'fix-and-retry';
  timings: RunTimings;
}
