/**
 * The secrets a flow is holding right now (a wrapped key's plaintext, an HMAC/AES secret, a
 * passphrase), kept in memory only so the audit guard can refuse any record that would carry one
 * of them, and so tests can search an export for them. A secret is looked for in the forms it
 * travels in: lowercase and uppercase hex, base64 and base64url (without padding), and as text.
 * Never persisted. Several runs may hold the same secret at once (a station importing one known
 * value into four boards in parallel), so each form is counted: `remove()` forgets a run's hold
 * only, `clear()` everything.
 */
import { bytesToBase64, bytesToHex, utf8 } from '../util/bytes';

/** Shorter secrets would match by chance inside fingerprints and ids (and block provisioning). */
export const MIN_SECRET_BYTES = 8;

export class KnownSecrets {
  /** Hex forms, matched case-insensitively (against lowercased text), with their label and hold count. */
  readonly #hex = new Map<string, Held>();
  /** Base64, base64url and text forms, matched exactly. */
  readonly #exact = new Map<string, Held>();

  /**
   * Registers a secret. Returns false, registering nothing, for secrets shorter than 8 bytes
   * (as UTF-8 for text): the caller must not rely on the guard for those.
   * @example secrets.add(hmacKey, 'hmac-sha256 key for slot 3')
   */
  add(secret: Uint8Array | string, label = 'a registered secret'): boolean {
    const forms = secretForms(secret);
    if (!forms) return false;
    hold(this.#hex, forms.hex, label);
    for (const form of forms.exact) hold(this.#exact, form, label);
    return true;
  }

  /** Releases one hold of a secret added before; its forms are forgotten once nobody holds them. */
  remove(secret: Uint8Array | string): void {
    const forms = secretForms(secret);
    if (!forms) return;
    release(this.#hex, forms.hex);
    for (const form of forms.exact) release(this.#exact, form);
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
    for (const [form, held] of this.#hex) if (lower.includes(form)) return held.label;
    for (const [form, held] of this.#exact) if (text.includes(form)) return held.label;
    return null;
  }
}

interface Held {
  label: string;
  count: number;
}

function secretForms(secret: Uint8Array | string): { hex: string; exact: Set<string> } | null {
  const bytes = typeof secret === 'string' ? utf8.encode(secret) : secret;
  if (bytes.length < MIN_SECRET_BYTES) return null;
  const base64 = bytesToBase64(bytes).replace(/=+$/, '');
  const exact = new Set([base64, base64.replace(/\+/g, '-').replace(/\//g, '_')]);
  const text = typeof secret === 'string' ? secret : printableText(bytes);
  if (text !== null) exact.add(text);
  return { hex: bytesToHex(bytes), exact };
}

function hold(map: Map<string, Held>, form: string, label: string): void {
  const held = map.get(form);
  if (held) held.count++;
  else map.set(form, { label, count: 1 });
}

function release(map: Map<string, Held>, form: string): void {
  const held = map.get(form);
  if (!held) return;
  if (--held.count <= 0) map.delete(form);
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
