/**
 * The EcoWatt envelope for devices that hold a shared HMAC-SHA256 secret instead of a signing
 * key (docs/protocol/telemetry.md §4): JSON `{"nonce": n, "payload": "<base64>", "mac": "<hex>"}`,
 * where `mac` = HMAC-SHA256(secret, nonce as 8 bytes big-endian ‖ payload) and `payload` is the
 * same CBOR telemetry map a COSE_Sign1 carries (its counter must equal the nonce). The MAC is
 * recomputed with the device's non-extractable key and compared in constant time.
 */
import { type Result, ok, err } from '../smp/result';
import { arrayBufferView as viewOf, base64ToBytes, bytesToBase64, bytesToHex, concatBytes, constantTimeEqual, hexToBytes, utf8 } from '../util/bytes';
import { asUint64 } from './telemetry';

export const HMAC_MAC_BYTES = 32;
/** The first byte of a JSON envelope (`{`): a COSE_Sign1 starts with d2 or 84, so the two never mix. */
export const ECOWATT_FIRST_BYTE = 0x7b;

export interface EcoWattEnvelope {
  nonce: bigint;
  payload: Uint8Array;
  mac: Uint8Array;
}

export interface EcoWattError {
  code: 'ecowatt-malformed';
  message: string;
}

export function isEcoWatt(bytes: Uint8Array): boolean {
  return bytes[0] === ECOWATT_FIRST_BYTE;
}

/** @example const envelope = parseEcoWatt(bytes); if (envelope.ok) await verifyEcoWattMac(envelope.value, key) */
export function parseEcoWatt(bytes: Uint8Array): Result<EcoWattEnvelope, EcoWattError> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return malformed('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed('not a JSON object');
  const { nonce, payload, mac } = value as Record<string, unknown>;
  const counter = asUint64(typeof nonce === 'string' && /^\d{1,20}$/.test(nonce) ? BigInt(nonce) : nonce);
  if (counter === null) return malformed('"nonce" must be an unsigned integer below 2^64 (a number, or decimal text above 2^53)');
  const payloadBytes = typeof payload === 'string' ? base64ToBytes(payload) : null;
  if (!payloadBytes || payloadBytes.length === 0) return malformed('"payload" must be non-empty standard base64');
  if (typeof mac !== 'string' || !/^[0-9a-fA-F]{64}$/.test(mac)) return malformed('"mac" must be 64 hex characters (HMAC-SHA256)');
  return ok({ nonce: counter, payload: payloadBytes, mac: hexToBytes(mac) });
}

/** nonce (uint64 big-endian) ‖ payload: the bytes the MAC covers. */
export function ecoWattMacInput(nonce: bigint, payload: Uint8Array): Uint8Array {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setBigUint64(0, nonce);
  return concatBytes(head, payload);
}

/** Recomputes the MAC with `key` (HMAC-SHA256, usage sign) and compares in constant time. */
export async function verifyEcoWattMac(envelope: EcoWattEnvelope, key: CryptoKey): Promise<boolean> {
  const expected = new Uint8Array(await crypto.subtle.sign('HMAC', key, viewOf(ecoWattMacInput(envelope.nonce, envelope.payload))));
  return constantTimeEqual(expected, envelope.mac);
}

/** The envelope as a device sends it (for publishers and tests). */
export async function encodeEcoWatt(nonce: bigint, payload: Uint8Array, key: CryptoKey): Promise<Uint8Array> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, viewOf(ecoWattMacInput(nonce, payload))));
  const nonceJson = nonce <= BigInt(Number.MAX_SAFE_INTEGER) ? nonce.toString() : JSON.stringify(nonce.toString());
  return utf8.encode(`{"nonce":${nonceJson},"payload":"${bytesToBase64(payload)}","mac":"${bytesToHex(mac)}"}`);
}


function malformed(message: string): { ok: false; error: EcoWattError } {
  return err({ code: 'ecowatt-malformed', message: `EcoWatt envelope: ${message}` });
}
