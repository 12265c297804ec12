/**
 * The verification console: signed telemetry from MQTT checked against the device registry,
 * replays refused with a persisted window, refusals sent back on the device's error topic.
 * Wire format: docs/protocol/telemetry.md; design: docs/console.md.
 */
export { asUint64, COUNTER_MAX, decodeTelemetry, encodeTelemetry, type Telemetry, type TelemetryError, TELEMETRY_KEY, toJsonValue } from './telemetry';
export { ECOWATT_FIRST_BYTE, type EcoWattEnvelope, type EcoWattError, ecoWattMacInput, encodeEcoWatt, HMAC_MAC_BYTES, isEcoWatt, parseEcoWatt, verifyEcoWattMac } from './hmac';
export { REFUSAL_CODES, REFUSAL_REASONS, type RefusalReason, reasonForCose } from './reasons';
export {
  acceptCounter,
  checkCounter,
  CONSOLE_DB_NAME,
  type CounterClaim,
  DEFAULT_MAX_BATCH,
  EMPTY_WINDOW,
  REPLAY_WINDOW_SIZE,
  ReplayCommitter,
  type ReplayError,
  ReplayStore,
  type ReplayVerdict,
  type ReplayWindow,
} from './replay';
export { type Accepted, DEFAULT_TELEMETRY_TOPIC, type DeviceDirectory, type MessageFormat, type Refused, TelemetryVerifier, type Verdict, type VerifierOptions } from './verifier';
export { type ConsoleLink, DEFAULT_ERROR_TOPIC, errorTopicFor, type LinkError, type LinkOptions, type LinkStatus, openConsoleLink, refusalNotice } from './mqtt';
