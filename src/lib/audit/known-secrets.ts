/**
 * The secrets a flow is holding right now (a wrapped key's plaintext, an HMAC/AES secret, a
 * passphrase), kept in memory only so the audit guard can refuse any record that would carry one
 * of them, and so tests can search an export for them. A secret is looked for in the forms it
 * travels in: lowercase and uppercase hex, base64 and base64url (without padding), and as text.
 * Never persisted; `clear()` when the run is over.
 */
import { bytesToBase64, bytesToHex, utf8 } from '../util/bytes';

/** Shorter secrets would match by chance inside fingerprints and ids (and block provisioning). */
export const MIN_SECRET_BYTES = 8;

export class KnownSecrets {
  /** Hex forms, matched case-insensitively (against lowercased text). */
  readonly #hex = new Map<string, string>();
  /** Base64, base64url and text forms, matched exactly. */
  readonly #exact = new Map<string, string>();

  /**
   * Registers a secret. Returns false, registering nothing, for secrets shorter than 8 bytes
   * (as UTF-8 for text): the caller must not rely on the guard for those.
   * @example secrets.add(hmacKey, 'hmac-sha256 key for slot 3')
   */
  add(secret: Uint8Array | string, label = 'a registered secret'): boolean {
    const bytes = typeof secret === 'string' ? utf8.encode(secret) : secret;
    if (bytes.length < MIN_SECRET_BYTES) return false;
    this.#hex.set(bytesToHex(bytes), label);
    const base64 = bytesToBase64(bytes).replace(/=+$/, '');
    this.#exact.set(base64, label);
    this.#exact.set(base64.replace(/\+/g, '-').replace(/\//g, '_'), label);
    const text = typeof secret === 'string' ? secret : printableText(bytes);
    if (text !== null) this.#exact.set(text, label);
    return true;
  }

  get size(): number {
    return this.#hex.size + this.#exact.size;
  }

  clear(): void {
    this.#hex.clear();
    this.#exact.clear();
  }

  /** The label of the first registered secret found in `text`, or null. */
  findIn(text: string): string | null {
    if (this.size === 0) return null;
    const lower = text.toLowerCase();
    for (const [form, label] of this.#hex) if (lower.includes(form)) return label;
    for (const [form, label] of this.#exact) if (text.includes(form)) return label;
    return null;
  }
}

/** Bytes that are printable UTF-8 text (a passphrase handed over as bytes) as that text, else null. */
function printableText(bytes: Uint8Array): string | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  return /^[^\p{C}]+$/u.test(text) ? text : null;
}
