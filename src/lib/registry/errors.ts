/**
 * Registry errors as values. A refused registration says why with a `code` (the chain's own
 * reason when the chain does not verify, so `chain-expired` stays `chain-expired`) and names
 * the certificate and field in `message`. Nothing in `registry/` throws at its callers.
 */
import type { ChainErrorCode } from '../pki';
import { err } from '../smp/result';

export type RegistryErrorCode =
  /** The chain does not verify to the chosen root: the code is verifyChain's (docs/pki.md). */
  | ChainErrorCode
  /** No certificate was given, or the files hold no certificate. */
  | 'registry-empty-chain'
  /** The device certificate has no keyUsage, or one without digitalSignature. */
  | 'registry-key-usage'
  /** The device key is not an uncompressed P-256 point (the keys group's p256). */
  | 'registry-unsupported-key'
  /** The subject has no CN / serialNumber to take the device id from. */
  | 'registry-no-device-id'
  /** The id is not usable as one MQTT topic level (`[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`). */
  | 'registry-bad-device-id'
  /** The device id is registered with a different key, and `replace` was not asked for. */
  | 'registry-conflict'
  /** No device with this id is registered. */
  | 'registry-unknown-device'
  /** An HMAC secret outside 16..64 bytes. */
  | 'registry-bad-secret'
  /** IndexedDB or WebCrypto failed. */
  | 'registry-storage'
  /** The audit log refused the record of a registration, so none was made. */
  | 'registry-audit-refused';

export interface RegistryError {
  code: RegistryErrorCode;
  message: string;
}

export function registryFail(code: RegistryErrorCode, message: string): { ok: false; error: RegistryError } {
  return err({ code, message });
}

export function caughtMessage(caught: unknown): string {
  return caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
}
