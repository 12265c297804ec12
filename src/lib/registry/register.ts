/**
 * From a certificate chain to a registered device, offline: the chain must verify to the root the
 * operator chose (`verifyChain`: signatures, names, validity, CA flags, path length), the device
 * certificate must carry keyUsage digitalSignature and an uncompressed P-256 key, and the device
 * id comes from its subject. Pure: nothing is stored here (`store.ts` does that).
 */
import {
  type CertificateInput,
  certificateFingerprint,
  decodePemAs,
  type ParsedCertificate,
  spkiFingerprint,
  splitCertificateChain,
  verifyChain,
} from '../pki';
import { type Result, ok } from '../smp/result';
import { utf8 } from '../util/bytes';
import { type DeviceIdAttribute, deviceIdFromSubject, isDeviceId } from './device-id';
import { type RegistryError, registryFail } from './errors';

/** A chain as files and boards hand it over: leaf-first certificates, one PEM bundle, or DER back to back. */
export type ChainInput = readonly CertificateInput[] | Uint8Array | string;

export interface RegistrationInput {
  /** The device certificate first, then its issuers (the root may be repeated at the end). */
  chain: ChainInput;
  /** The trust anchor the chain must end at: our CA's root or one the operator imported. */
  root: CertificateInput;
  /** When validity is checked; now by default. */
  at?: Date;
  /** Subject attribute holding the device id; CN by default. */
  deviceIdFrom?: DeviceIdAttribute;
  /** Where the chain came from, for the record and the audit log: `file`, `board`, `provisioning`. */
  source?: string;
}

export interface RegisteredDevice {
  deviceId: string;
  /** The device certificate's subject, as openssl shows it. */
  subject: string;
  /** Device certificate DER. */
  certificate: Uint8Array;
  /** Its issuers up to (not including) the root, DER, issuing CA first. */
  issuers: Uint8Array[];
  root: Uint8Array;
  rootSubject: string;
  /** 65-byte SEC1 uncompressed P-256 point: what telemetry is verified with. */
  publicKey: Uint8Array;
  curve: 'P-256';
  /** SHA-256 of the SubjectPublicKeyInfo, hex: the audit log's key fingerprint. */
  keyFingerprint: string;
  certSerial: string;
  /** SHA-256 of the certificate DER, hex. */
  certFingerprint: string;
  notBefore: string;
  /** When the chain stops verifying (the earliest notAfter on it), ISO. */
  validUntil: string;
  registeredAt: string;
  source: string;
  /** An HMAC secret is held for the device (wrapped; see secrets.ts). */
  hmac: boolean;
}

/**
 * @example const checked = await checkRegistration({ chain: pemBundle, root: caRootDer });
 *   if (!checked.ok) show(checked.error.code, checked.error.message); // chain-expired, registry-key-usage, …
 */
export async function checkRegistration(input: RegistrationInput, now: Date = new Date()): Promise<Result<RegisteredDevice, RegistryError>> {
  const chain = readChain(input.chain);
  if (!chain.ok) return chain;
  const verified = await verifyChain({ chain: chain.value, root: input.root, ...(input.at ? { at: input.at } : {}), leaf: 'end-entity' });
  if (!verified.ok) return registryFail(verified.error.code, verified.error.message);
  const path = verified.value.path;
  const leaf = path[0]!;
  const root = path[path.length - 1]!;
  if (path.length < 2) return registryFail('registry-empty-chain', `the chain holds only the root '${root.subject.text}', no device certificate`);

  const usage = leaf.extensions.keyUsage;
  if (!usage || !usage.usages.includes('digitalSignature')) {
    return registryFail('registry-key-usage', `device certificate '${leaf.subject.text}' ${usage ? `has keyUsage ${usage.usages.join(', ') || 'empty'} without` : 'has no keyUsage extension; it needs'} digitalSignature to sign telemetry`);
  }
  if (leaf.publicKey.algorithm !== 'P-256' || !leaf.publicKey.point) {
    return registryFail('registry-unsupported-key', `device certificate '${leaf.subject.text}' holds a ${leaf.publicKey.algorithmOid} key (curve ${leaf.publicKey.parametersOid ?? 'none'}); the console verifies P-256 (ES256) only`);
  }
  const attribute = input.deviceIdFrom ?? 'CN';
  const deviceId = deviceIdFromSubject(leaf.subject, attribute);
  if (deviceId === null) return registryFail('registry-no-device-id', `device certificate '${leaf.subject.text}' has no ${attribute} to take the device id from`);
  if (!isDeviceId(deviceId)) {
    return registryFail('registry-bad-device-id', `device id ${JSON.stringify(deviceId)} (the ${attribute} of '${leaf.subject.text}') must be 1–64 of A–Z a–z 0–9 . _ : - and start with a letter or digit, to be one MQTT topic level`);
  }
  return ok({
    deviceId,
    subject: leaf.subject.text,
    certificate: leaf.der,
    issuers: path.slice(1, -1).map((certificate: ParsedCertificate) => certificate.der),
    root: root.der,
    rootSubject: root.subject.text,
    publicKey: leaf.publicKey.point,
    curve: 'P-256',
    keyFingerprint: await spkiFingerprint(leaf.publicKey.spki),
    certSerial: leaf.serialNumber,
    certFingerprint: await certificateFingerprint(leaf.der),
    notBefore: leaf.notBefore.toISOString(),
    validUntil: verified.value.validUntil.toISOString(),
    registeredAt: now.toISOString(),
    source: input.source ?? 'file',
    hmac: false,
  });
}

/** The certificates of a chain input, leaf first. */
export function readChain(input: ChainInput): Result<CertificateInput[], RegistryError> {
  let certificates: CertificateInput[];
  if (typeof input === 'string' || (input instanceof Uint8Array && looksLikeText(input))) {
    const pem = decodePemAs(typeof input === 'string' ? input : utf8.decode(input), 'CERTIFICATE');
    if (!pem.ok) return registryFail('chain-malformed', `the chain file: ${pem.error.message}`);
    certificates = pem.value;
  } else if (input instanceof Uint8Array) {
    if (input.length === 0) return registryFail('registry-empty-chain', 'the chain is empty');
    const parts = splitCertificateChain(input);
    if (!parts.ok) return registryFail('chain-malformed', parts.error.message);
    certificates = parts.value;
  } else certificates = [...input];
  if (certificates.length === 0) return registryFail('registry-empty-chain', 'no certificate was given');
  return ok(certificates);
}

/** PEM starts with text (`-----BEGIN`, or explanatory lines); DER starts with 0x30. */
function looksLikeText(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] !== 0x30;
}
