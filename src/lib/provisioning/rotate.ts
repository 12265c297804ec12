/**
 * Key rotation, as the keys group defines it (docs/protocol/keys-group.md, destroy): generate a
 * new key at a new id, certify it and store its chain, and only then destroy the old key — so a
 * board is never left without a usable key. The new key is made by the ordinary provisioning run
 * (a one-key plan: generate on the board, CSR or proof of possession, issue, store, read back,
 * verify), so it gets every check and audit record a provisioning run writes. The rotation as a
 * whole is one more intent/outcome pair (`keys.rotate`, keyed by the old key's id) around it.
 */
import { KEY_USAGE } from '../device/keys-ids';
import type { Board } from '../device';
import { type CertificateAuthority, NAME_ATTRIBUTES, parseCertificate } from '../pki';
import { type Result, ok, err } from '../smp/result';
import type { AuditFields, AuditSink } from './audit';
import { formatKeyId, planProvisioning } from './plan';
import { DEFAULT_SUBJECT_TEMPLATE, type KeysGroupProfile, PROFILE_FORMAT, type ProfileKeyAlg } from './profile';
import { runProvisioning } from './run';
import type { ProvisionedKey, ProvisioningEvent, ProvisioningFailure } from './result';

export const ROTATION_PROFILE_ID = 'key-rotation';
/** Ten years, like the shipped profiles: the certificate is cut at the issuing CA's end anyway. */
const ROTATION_VALIDITY_DAYS = 3650;
/** Errors after which the board may or may not have done what was asked. */
const LINK_ERRORS = ['timeout', 'disconnected', 'not-connected'];

/** The key being replaced, as the board reports it. */
export interface KeyToRotate {
  id: number;
  alg: string;
  usage: number;
  /** SHA-256 of its SPKI, hex; null when the board did not give its public key. */
  fingerprint: string | null;
  /** Its device certificate (DER), when it has one: the new certificate names the same subject. */
  certificate: Uint8Array | null;
}

export interface RotateKeyInput {
  board: Board;
  key: KeyToRotate;
  /** The board's device id (keys `info`), for the audit records. */
  deviceId: string;
  /** Issues the new key's certificate; needed only when the old key had one. */
  ca: CertificateAuthority | null;
  audit: AuditSink;
  operator?: string;
  onEvent?: (event: ProvisioningEvent) => void;
  now?: () => Date;
}

export type RotateErrorCode = 'rotate-unsupported' | 'rotate-ca-missing' | 'rotate-new-key-failed' | 'rotate-old-key-kept' | 'audit-failed';

export interface RotateError {
  code: RotateErrorCode;
  message: string;
  /** The provisioning run's failure, when making the new key failed. */
  run?: ProvisioningFailure;
}

export interface RotatedKey {
  oldKeyId: string;
  /** The run that made the new key (its audit records carry it). */
  runId: string;
  /** The new key as the run made it: id, public key, fingerprint, certificate. */
  key: ProvisionedKey;
}

/**
 * @example
 *   const rotated = await rotateKey({ board, key: { id: 3, alg: 'p256', usage, fingerprint, certificate }, deviceId, ca, audit });
 *   if (rotated.ok) show(`${rotated.value.oldKeyId} → ${rotated.value.key.keyId}`); else show(rotated.error.message);
 */
export async function rotateKey(input: RotateKeyInput): Promise<Result<RotatedKey, RotateError>> {
  const { key } = input;
  const oldKeyId = formatKeyId(key.id);
  if (key.alg !== 'p256' && key.alg !== 'x25519') {
    return err({ code: 'rotate-unsupported', message: `Key ${oldKeyId} is ${key.alg}: rotation makes a new p256 or x25519 key on the board. Nothing was changed.` });
  }
  const certified = key.certificate !== null && key.alg === 'p256';
  if (certified && !input.ca) return err({ code: 'rotate-ca-missing', message: `Key ${oldKeyId} has a certificate, so its successor needs one too: create or import a CA first. Nothing was changed.` });

  const subject = subjectFrom(key.certificate);
  const boardSerial = subject.serial ?? input.deviceId;
  const base: AuditFields = {
    ...(input.operator ? { operator: input.operator } : {}),
    boardSerial,
    deviceId: input.deviceId,
    keyId: oldKeyId,
    ...(key.fingerprint ? { keyFingerprint: key.fingerprint } : {}),
  };
  const intent = await input.audit.intent('keys.rotate', { ...base, details: { alg: key.alg } });
  if (!intent.ok) return err({ code: 'audit-failed', message: `The audit log refused the rotation's intent, so nothing was done: ${intent.error.message}` });
  const close = async (result: 'ok' | 'failed' | 'unknown', fields: AuditFields): Promise<string> => {
    const closed = await input.audit.outcome(intent.value, result, { ...base, ...fields });
    return closed.ok ? '' : ` (the audit log did not record the outcome: ${closed.error.message})`;
  };

  const profile = rotationProfile(input.board.keys.group, key.alg, key.usage, certified, subject.template);
  const plan = planProvisioning(profile);
  if (!plan.ok) {
    const note = await close('failed', { errorCode: plan.error.code, errorMessage: plan.error.message });
    return err({ code: 'rotate-new-key-failed', message: `The new key could not be planned: ${plan.error.message}. Nothing was changed.${note}` });
  }
  const run = await runProvisioning({ board: input.board, plan: plan.value, ca: input.ca, boardSerial, ...(input.operator ? { operator: input.operator } : {}), audit: input.audit, onEvent: input.onEvent, now: input.now });
  if (!run.ok) {
    const failure = run.error;
    const note = await close(failure.boardState === 'needs-attention' ? 'unknown' : 'failed', { errorCode: failure.error.code, errorMessage: failure.message });
    return err({ code: 'rotate-new-key-failed', message: `${failure.message} The old key ${oldKeyId} is still in use.${note}`, run: failure });
  }
  const made = run.value.keys[0]!;

  const destroyFields: AuditFields = { ...base, details: { reason: 'rotated', replacedBy: made.keyId } };
  const destroyIntent = await input.audit.intent('keys.destroy', destroyFields);
  if (!destroyIntent.ok) {
    const note = await close('failed', { errorCode: 'audit-failed', errorMessage: destroyIntent.error.message, details: { newKeyId: made.keyId } });
    return err({ code: 'audit-failed', message: `New key ${made.keyId} is ready, but the audit log refused the intent to destroy ${oldKeyId}, so both are on the board: ${destroyIntent.error.message}${note}` });
  }
  const destroyed = await input.board.keys.destroy(key.id);
  const destroyResult = destroyed.ok ? 'ok' : LINK_ERRORS.includes(destroyed.error.code) ? 'unknown' : 'failed';
  const errorFields: AuditFields = destroyed.ok ? {} : { errorCode: destroyed.error.reason ? `keys-${destroyed.error.reason}` : destroyed.error.code, errorMessage: destroyed.error.message };
  const destroyClosed = await input.audit.outcome(destroyIntent.value, destroyResult, { ...destroyFields, ...errorFields });
  const destroyNote = destroyClosed.ok ? '' : ` (the audit log did not record the destroy's outcome: ${destroyClosed.error.message})`;
  const newKey = { newKeyId: made.keyId, newKeyFingerprint: made.spkiFingerprint, ...(made.certificate ? { newCertSerial: made.certificate.serialNumber } : {}) };
  if (!destroyed.ok) {
    const note = await close(destroyResult, { ...errorFields, details: newKey });
    return err({ code: 'rotate-old-key-kept', message: `New key ${made.keyId} is ready, but destroying the old key ${oldKeyId} failed: ${destroyed.error.message}. Both are on the board; destroy ${oldKeyId} from the Keys page.${destroyNote}${note}` });
  }
  const note = destroyNote + (await close('ok', { details: newKey }));
  if (note) return err({ code: 'audit-failed', message: `Key ${oldKeyId} was replaced by ${made.keyId}${note}` });
  return ok({ oldKeyId, runId: run.value.runId, key: made });
}

/** A one-key plan: generate at the next free id with the old key's algorithm and usage, certified like the old one. */
function rotationProfile(keysGroup: number, alg: ProfileKeyAlg, usage: number, certified: boolean, subjectTemplate: string): KeysGroupProfile {
  return {
    format: PROFILE_FORMAT,
    id: ROTATION_PROFILE_ID,
    name: 'Key rotation',
    kind: 'keys-group',
    subjectTemplate,
    caId: null,
    validityDays: ROTATION_VALIDITY_DAYS,
    counter: null,
    keysGroup,
    keys: [{ label: 'rotated', id: null, alg, usage: usage || (alg === 'x25519' ? KEY_USAGE.DERIVE : undefined), source: 'board', certificate: certified ? 'auto' : 'none' }],
    lock: false,
  };
}

/**
 * The old certificate's subject as a template (so the new certificate names the same device), and
 * its serialNumber (the board serial the audit records carry). A subject with attributes a template
 * cannot write falls back to the default template.
 */
export function subjectFrom(certificate: Uint8Array | null): { template: string; serial: string | null } {
  const parsed = certificate ? parseCertificate(certificate) : null;
  if (!parsed?.ok) return { template: DEFAULT_SUBJECT_TEMPLATE, serial: null };
  const attributes = parsed.value.subject.attributes.map(({ oid, value }) => ({ type: TEMPLATE_TYPES.get(oid) ?? null, value }));
  const serial = attributes.find((attribute) => attribute.type === 'serialNumber')?.value ?? null;
  const writable = attributes.length > 0 && attributes.every(({ type, value }) => type !== null && !/[{},=]/.test(value));
  return { template: writable ? attributes.map(({ type, value }) => `${type}=${value}`).join(', ') : DEFAULT_SUBJECT_TEMPLATE, serial };
}

/** The attributes a subject template can write, by OID. */
const TEMPLATE_TYPES = new Map<string, string>(Object.entries(NAME_ATTRIBUTES).map(([type, { oid }]) => [oid, type]));
