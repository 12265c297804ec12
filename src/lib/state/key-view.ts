/**
 * A board's key as the Keys page shows it: id in hex, algorithm, PSA usage flags by name, the
 * public key and the SHA-256 of its SubjectPublicKeyInfo (the fingerprint the audit log records),
 * and the certificate chain the board holds for it, split into certificates.
 */
import { KEY_USAGE } from '../device';
import { spkiFingerprint, spkiFromP256Point, spkiFromX25519 } from '../pki';
import { concatBytes, hexToBytes } from '../util/bytes';

/**
 * SubjectPublicKeyInfo prefix for a raw Ed25519 key (RFC 8410 §4: id-Ed25519 1.3.101.112, no
 * parameters). The PKI layer builds P-256 and X25519 SPKIs; it has no Ed25519 helper (yet).
 */
const ED25519_SPKI_PREFIX = hexToBytes('302a300506032b6570032100');

/** The SubjectPublicKeyInfo DER of a key the board reported, or null for symmetric keys and odd sizes. */
export function spkiForKey(alg: string, publicKey: Uint8Array | null): Uint8Array | null {
  if (!publicKey) return null;
  if (alg === 'p256') return publicKey.length === 65 && publicKey[0] === 0x04 ? spkiFromP256Point(publicKey) : null;
  if (publicKey.length !== 32) return null;
  if (alg === 'x25519') return spkiFromX25519(publicKey);
  return alg === 'ed25519' ? concatBytes(ED25519_SPKI_PREFIX, publicKey) : null;
}

/** SHA-256 of the key's SPKI, hex; null when the key has no public half. */
export async function keyFingerprint(alg: string, publicKey: Uint8Array | null): Promise<string | null> {
  const spki = spkiForKey(alg, publicKey);
  return spki ? spkiFingerprint(spki) : null;
}

/** `0x00000001`: a PSA key id as the board, the spec and the audit log write it (the provisioning flow's form). */
export { formatKeyId as keyIdHex } from '../provisioning';

/** `sign-hash, verify-hash`: PSA usage bits by name (KEY_USAGE), any unknown bit as hex. */
export function usageNames(usage: number): string {
  const names: string[] = [];
  let rest = usage;
  for (const [name, bit] of Object.entries(KEY_USAGE)) {
    if ((usage & bit) === 0) continue;
    names.push(name.toLowerCase().replace(/_/g, '-'));
    rest &= ~bit;
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join(', ') : 'none';
}

/**
 * A certificate chain stored on the board (DER certificates back to back, the key's own first)
 * split into certificates by their outer SEQUENCE lengths; null when the bytes are not that.
 */
export function splitCertificateChain(chain: Uint8Array): Uint8Array[] | null {
  const parts: Uint8Array[] = [];
  let offset = 0;
  while (offset < chain.length) {
    const length = sequenceLength(chain, offset);
    if (length === null || offset + length > chain.length) return null;
    parts.push(chain.subarray(offset, offset + length));
    offset += length;
  }
  return parts.length ? parts : null;
}

/** Total length (header + content) of the DER SEQUENCE at `offset`; definite lengths only. */
function sequenceLength(bytes: Uint8Array, offset: number): number | null {
  if (bytes[offset] !== 0x30 || offset + 2 > bytes.length) return null;
  const first = bytes[offset + 1]!;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 3 || offset + 2 + count > bytes.length) return null;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
  return 2 + count + length;
}
