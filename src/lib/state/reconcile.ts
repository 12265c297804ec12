/**
 * Reconciling an interrupted run: an audit intent that never got its outcome (cable pulled, tab
 * closed) is closed with what the board really holds now, read afresh — never with a guess.
 * The board's keys list tells whether a key the intent was about is there (and whether it has a
 * certificate); when the list cannot answer the question the step asked, or the board is another
 * device than the intent's, the outcome says `unknown` and why. A `registry.register` intent is
 * not about the board at all: the device registry is what tells whether it happened.
 */
import type { AuditRecord, OutcomeDraft, StoredRecord } from '../audit';
import type { Board, KeyEntry } from '../device';
import { type DeviceRegistry, openDeviceRegistry, REGISTER_ACTION, type RegistryError } from '../registry';
import type { Result } from '../smp/result';
import { bytesToHex } from '../util/bytes';
import { keyIdHex } from './key-view';

/** What the board said when it was re-read. */
export interface BoardSnapshot {
  deviceId: string;
  keys: KeyEntry[];
  counter: number;
  locked: boolean;
}

/** Re-reads the board's identity, keys and counter; the error message when it cannot. */
export async function readBoardSnapshot(board: Board): Promise<{ ok: true; value: BoardSnapshot } | { ok: false; message: string }> {
  const info = await board.keys.info();
  if (!info.ok) return { ok: false, message: info.error.message };
  const keys = await board.keys.list();
  if (!keys.ok) return { ok: false, message: keys.error.message };
  return { ok: true, value: { deviceId: bytesToHex(info.value.deviceId), keys: keys.value, counter: info.value.counter, locked: info.value.locked } };
}

/** `0x00000001 p256 +cert, 0x00000002 x25519`: the board's keys in a few words, cut to the details limit. */
export function describeKeys(keys: readonly KeyEntry[]): string {
  const text = keys.length === 0 ? 'none' : keys.map((key) => `${keyIdHex(key.id)} ${key.alg}${key.certBytes > 0 ? ' +cert' : ''}`).join(', ');
  return text.length > 256 ? `${text.slice(0, 255)}…` : text;
}

/** Whether the step an intent announced left its mark on the board: true/false, or null when the keys list cannot tell. */
function stepLanded(intent: AuditRecord, board: BoardSnapshot): boolean | null {
  const id = parseKeyId(intent.keyId);
  const key = id === null ? undefined : board.keys.find((entry) => entry.id === id);
  const action = intent.action;
  // A rotation destroys the old key last, so the old key gone means the rotation finished.
  if (id !== null && /(^|\.)(destroy|rotate)$/.test(action)) return key === undefined;
  if (id !== null && /cert/.test(action)) return key !== undefined && key.certBytes > 0;
  // Replacing a key: the old one at that id looks the same in the list, so the list cannot tell.
  if (id !== null && /(^|\.)(generate|import)$/.test(action)) return intent.details?.replace === 'true' ? null : key !== undefined;
  if (/counter/.test(action) && intent.counter !== undefined) return board.counter >= intent.counter;
  if (/(^|\.)lock$/.test(action)) return board.locked;
  return null;
}

/**
 * The outcome that closes `intent`, from what the board holds now.
 * @example reconcileOutcome(intent, snapshot) // { result: 'ok', details: { reconciled: 'board-read', boardKeys: '0x00000001 p256 +cert' } }
 */
export function reconcileOutcome(intent: StoredRecord, board: BoardSnapshot): OutcomeDraft {
  const details = { reconciled: 'board-read', boardKeys: describeKeys(board.keys) };
  if (intent.deviceId && intent.deviceId !== board.deviceId) {
    return {
      result: 'unknown',
      errorCode: 'reconcile-other-device',
      errorMessage: `the connected board is device ${board.deviceId}, not ${intent.deviceId}: this intent cannot be checked on it`,
      details,
    };
  }
  const landed = stepLanded(intent, board);
  if (landed === null) {
    return { result: 'unknown', errorCode: 'reconcile-cannot-tell', errorMessage: `re-reading the board cannot tell whether ${intent.action} happened`, deviceId: board.deviceId, details, counter: board.counter };
  }
  if (landed) return { result: 'ok', deviceId: board.deviceId, details, counter: board.counter };
  return {
    result: 'failed',
    deviceId: board.deviceId,
    errorCode: 'reconcile-not-on-board',
    errorMessage: `re-read after the interruption: the board does not show the result of ${intent.action}${intent.keyId ? ` for key ${intent.keyId}` : ''}`,
    details,
    counter: board.counter,
  };
}

/** What the device registry holds, as reconciliation needs it; null when it could not be read. */
export type RegisteredCertificates = ReadonlyArray<{ deviceId: string; certFingerprint: string }> | null;

/** Whether an intent is answered by the device registry rather than by a board. */
export function isRegistryIntent(intent: AuditRecord): boolean {
  return intent.action === REGISTER_ACTION;
}

/**
 * The outcome that closes a `registry.register` intent: ok when the registry holds the
 * certificate the intent named, failed when it does not.
 * @example registryOutcome(intent, [{ deviceId: 'dev-1', certFingerprint: intent.certFingerprint }]) // { result: 'ok', deviceId: 'dev-1', … }
 */
export function registryOutcome(intent: AuditRecord, registered: RegisteredCertificates): OutcomeDraft {
  const details = { reconciled: 'registry-read' };
  if (registered === null) return { result: 'unknown', errorCode: 'reconcile-registry-unavailable', errorMessage: 'the device registry could not be read to tell whether the registration happened', details };
  if (!intent.certFingerprint) return { result: 'unknown', errorCode: 'reconcile-cannot-tell', errorMessage: 'the intent names no certificate to look for in the device registry', details };
  const found = registered.find((device) => device.certFingerprint === intent.certFingerprint);
  if (found) return { result: 'ok', deviceId: found.deviceId, certFingerprint: found.certFingerprint, details };
  return { result: 'failed', errorCode: 'reconcile-not-registered', errorMessage: `re-read after the interruption: the device registry does not hold certificate ${intent.certFingerprint.slice(0, 16)}…`, details };
}

/** The registry's devices and certificate fingerprints; null when it cannot be opened or read. */
export async function readRegisteredCertificates(openRegistry: () => Promise<Result<DeviceRegistry, RegistryError>> = openDeviceRegistry): Promise<RegisteredCertificates> {
  try {
    const opened = await openRegistry();
    if (!opened.ok) return null;
    try {
      const listed = await opened.value.list();
      return listed.ok ? listed.value.map(({ deviceId, certFingerprint }) => ({ deviceId, certFingerprint })) : null;
    } finally {
      opened.value.close();
    }
  } catch {
    return null;
  }
}

/** The outcome for an intent that cannot be checked on any board (it is gone, or another station's board). */
export function unknownOutcome(reason: string): OutcomeDraft {
  return { result: 'unknown', errorCode: 'reconcile-board-unavailable', errorMessage: reason, details: { reconciled: 'operator' } };
}

function parseKeyId(text: string | undefined): number | null {
  if (!text) return null;
  const value = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text.slice(2), 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}
