/**
 * The telemetry payload (docs/protocol/telemetry.md): a CBOR map with text keys — `device` (the
 * device id of its certificate), `counter` (64-bit, the anti-replay window runs over it), `time`
 * (the device's clock, seconds since 1970) and `data` (the readings, any CBOR) — signed as the
 * payload of a COSE_Sign1, or MACed in the EcoWatt envelope (hmac.ts). Unknown keys are ignored,
 * so devices may add fields. Decoding uses the strict COSE decoder and never throws.
 */
import { encode } from 'cborg';
import { type CborLimits, type CoseCborValue, DEFAULT_CBOR_LIMITS, decodeCoseCbor, isCoseMap } from '../cose';
import { isDeviceId } from '../registry';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex } from '../util/bytes';

/** The payload's keys (docs/protocol/telemetry.md §2). */
export const TELEMETRY_KEY = { DEVICE: 'device', COUNTER: 'counter', TIME: 'time', DATA: 'data' } as const;
export const COUNTER_MAX = (1n << 64n) - 1n;

export interface Telemetry {
  deviceId: string;
  counter: bigint;
  /** Seconds since 1970-01-01T00:00:00Z by the device's clock; 0 when it has none. */
  time: number;
  data: CoseCborValue;
}

export interface TelemetryError {
  code: 'telemetry-malformed';
  message: string;
}

/**
 * The payload bytes (cborg's encoder: keys in length-first order, RFC 8949 §4.2.3; integers and
 * floats in their shortest form).
 * @example encodeTelemetry({ deviceId: 'dev-1', counter: 1n, time: 1767225600, data: { t: 21.5 } })
 */
export function encodeTelemetry(telemetry: Omit<Telemetry, 'data'> & { data: unknown }): Uint8Array {
  const counter = telemetry.counter <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(telemetry.counter) : telemetry.counter;
  return encode({ [TELEMETRY_KEY.DEVICE]: telemetry.deviceId, [TELEMETRY_KEY.COUNTER]: counter, [TELEMETRY_KEY.TIME]: telemetry.time, [TELEMETRY_KEY.DATA]: telemetry.data });
}

/** @example const telemetry = decodeTelemetry(verified.payload); if (telemetry.ok) telemetry.value.counter */
export function decodeTelemetry(bytes: Uint8Array, limits: CborLimits = DEFAULT_CBOR_LIMITS): Result<Telemetry, TelemetryError> {
  const decoded = decodeCoseCbor(bytes, limits);
  if (!decoded.ok) return malformed(`the payload is not CBOR we accept: ${decoded.error.message}`);
  const map = decoded.value;
  if (!isCoseMap(map)) return malformed('the payload must be a CBOR map');
  const device = map.get(TELEMETRY_KEY.DEVICE);
  const counter = map.get(TELEMETRY_KEY.COUNTER);
  const time = map.get(TELEMETRY_KEY.TIME);
  if (!map.has(TELEMETRY_KEY.DATA)) return malformed('the payload has no "data"');
  if (!isDeviceId(device)) return malformed('"device" must be a device id (1–64 of A–Z a–z 0–9 . _ : -)');
  const count = asUint64(counter);
  if (count === null) return malformed('"counter" must be an unsigned integer below 2^64');
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) return malformed('"time" must be an unsigned integer (seconds since 1970)');
  return ok({ deviceId: device, counter: count, time, data: map.get(TELEMETRY_KEY.DATA)! });
}

export function asUint64(value: unknown): bigint | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'bigint' && value >= 0n && value <= COUNTER_MAX) return value;
  return null;
}

/** `data` as JSON-friendly values for the table and the command line: maps to objects, bytes to hex, big integers to text. */
export function toJsonValue(value: CoseCborValue): unknown {
  if (value instanceof Uint8Array) return { hex: bytesToHex(value) };
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (isCoseMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value) out[typeof key === 'string' ? key : String(typeof key === 'object' ? JSON.stringify(toJsonValue(key)) : key)] = toJsonValue(item);
    return out;
  }
  return value;
}

function malformed(message: string): { ok: false; error: TelemetryError } {
  return err({ code: 'telemetry-malformed', message });
}
