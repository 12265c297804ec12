/**
 * A provisioned board into the device registry: when a run ends ok with a certificate our CA
 * issued, the chain it stored on the board is registered (source `provisioning`), so the Registry
 * page and its exports have the certificate itself, not only its fingerprint. The caller hands in
 * plain PEM and DER (this module knows nothing of provisioning).
 *
 * It mirrors the console's registration: an audit intent `registry.register` before, an outcome
 * after (ok with the registered fingerprints, or failed with the registry's code and reason). A
 * refusal never fails the run that came before it: the board is provisioned either way, and the
 * log says why the registry does not hold it.
 */
import type { AuditError, AuditLog } from '../audit';
import { certificateFingerprint, decodePemOne } from '../pki';
import type { Result } from '../smp/result';
import type { DeviceIdAttribute } from './device-id';
import { caughtMessage, type RegistryError, registryFail } from './errors';
import type { DeviceRegistry, Registered } from './store';

export const REGISTER_ACTION = 'registry.register';
export const PROVISIONING_SOURCE = 'provisioning';

export interface IssuedChain {
  /** The device certificate, PEM. */
  certificatePem: string;
  /** Its issuers up to the root (excluded), PEM: what the run stored on the board with it. */
  issuersPem: readonly string[];
  /** The root of the CA that issued it, DER. */
  root: Uint8Array;
  /** Subject attribute holding the device id; CN when the profile does not say. */
  deviceIdFrom?: DeviceIdAttribute;
}

/** Who and what the audit records name: the run's board. */
export interface RegistrationContext {
  boardSerial: string;
  deviceId: string;
  operator?: string;
  runId: string;
}

export interface RegisterProvisionedDeps {
  audit: Pick<AuditLog, 'intent' | 'outcome'>;
  openRegistry: () => Promise<Result<DeviceRegistry, RegistryError>>;
  now?: Date;
}

/**
 * Registers a provisioned board's chain; the registry's refusal (or the log's) comes back as a
 * value for the caller to show, never thrown.
 * @example const registered = await registerProvisioned({ certificatePem: cert.pem, issuersPem: cert.chainPem, root: ca.root.certificate },
 *   { boardSerial, deviceId, runId }, { audit: log, openRegistry: () => openDeviceRegistry() });
 */
export async function registerProvisioned(chain: IssuedChain, context: RegistrationContext, deps: RegisterProvisionedDeps): Promise<Result<Registered, RegistryError>> {
  try {
    return await registerAndAudit(chain, context, deps);
  } catch (caught) {
    // A station's board must not turn FAIL, nor a page's run stay running, over its registration.
    return registryFail('registry-storage', `the registration stopped unexpectedly: ${caughtMessage(caught)}`);
  }
}

async function registerAndAudit(chain: IssuedChain, context: RegistrationContext, deps: RegisterProvisionedDeps): Promise<Result<Registered, RegistryError>> {
  const intent = await deps.audit.intent({
    action: REGISTER_ACTION,
    boardSerial: context.boardSerial,
    deviceId: context.deviceId,
    ...(context.operator ? { operator: context.operator } : {}),
    // The certificate's fingerprint in the intent too: after a crash, reconciliation looks it up in the registry.
    ...(await certificateFingerprintOf(chain.certificatePem)),
    details: { source: PROVISIONING_SOURCE, runId: context.runId, deviceIdFrom: chain.deviceIdFrom ?? 'CN' },
  });
  if (!intent.ok) return auditRefused(intent.error);
  const registered = await register(chain, deps);
  const closed = await deps.audit.outcome(
    intent.value.seq,
    registered.ok
      ? { result: 'ok', deviceId: registered.value.device.deviceId, keyFingerprint: registered.value.device.keyFingerprint, certSerial: registered.value.device.certSerial, certFingerprint: registered.value.device.certFingerprint, details: { change: registered.value.change } }
      : { result: 'failed', errorCode: registered.error.code, errorMessage: registered.error.message.slice(0, 1000) },
  );
  if (!closed.ok) return auditRefused(closed.error);
  return registered;
}

async function register(chain: IssuedChain, deps: RegisterProvisionedDeps): Promise<Result<Registered, RegistryError>> {
  const opened = await deps.openRegistry().catch((caught: unknown) => registryFail('registry-storage', `could not open the device registry: ${caughtMessage(caught)}`));
  if (!opened.ok) return opened;
  try {
    // The run just put this key on the board (a board that held keys is refused unless
    // re-provisioned), so a device id registered with another key now names a replaced board.
    return await opened.value.register(
      { chain: [chain.certificatePem, ...chain.issuersPem].join('\n'), root: chain.root, source: PROVISIONING_SOURCE, ...(chain.deviceIdFrom ? { deviceIdFrom: chain.deviceIdFrom } : {}) },
      { replace: true, ...(deps.now ? { now: deps.now } : {}) },
    );
  } catch (caught) {
    return registryFail('registry-storage', `could not register the device: ${caughtMessage(caught)}`);
  } finally {
    opened.value.close();
  }
}

async function certificateFingerprintOf(pem: string): Promise<{ certFingerprint?: string }> {
  const der = decodePemOne(pem, 'CERTIFICATE');
  return der.ok ? { certFingerprint: await certificateFingerprint(der.value) } : {};
}

function auditRefused(error: AuditError): { ok: false; error: RegistryError } {
  return registryFail('registry-audit-refused', `the audit log refused the registration record, so the device was not registered: ${error.message}`);
}

/** The sentence an operator reads after a run: registered, or why not. */
export function registrationNote(registered: Result<Registered, RegistryError>): string {
  if (!registered.ok) return `Not added to the device registry (${registered.error.code}): ${registered.error.message}`;
  const { device, change } = registered.value;
  return `Added ${device.deviceId} to the device registry (${change === 'new' ? 'new device' : change === 'renewed' ? 'same key, certificate renewed' : 'key replaced'}).`;
}
