/**
 * Why the console refused a message: one code each, as data. The code is what the error topic
 * carries to the device, what the audit log stores and what the counters are keyed by; the text
 * is what the page shows. docs/protocol/telemetry.md §5 lists the same table.
 */
import type { CoseErrorCode } from '../cose';

export const REFUSAL_REASONS = {
  'not-cose': 'not a COSE_Sign1 or an EcoWatt envelope (not CBOR, another tag, the wrong shape)',
  'too-large': 'larger or more deeply nested than the console accepts',
  malformed: 'a COSE_Sign1 or envelope whose header or telemetry payload is malformed',
  'unknown-critical': 'a header parameter marked critical that the console does not understand',
  'unknown-device': 'no registered device with this id',
  'no-hmac-secret': 'an EcoWatt (HMAC) message from a device the console holds no secret for',
  'unsupported-algorithm': 'an algorithm the console does not implement',
  'algorithm-mismatch': 'an algorithm other than the registered key\'s (ES256 for P-256)',
  'bad-signature': 'the signature does not verify with the registered key',
  'bad-mac': 'the HMAC does not verify with the device\'s secret',
  'topic-mismatch': 'the payload names another device than the topic',
  replay: 'a counter this device already used',
  'too-old': 'a counter more than 64 below the highest one accepted',
  storage: 'the replay window could not be stored, so the message was not accepted',
} as const;

export type RefusalReason = keyof typeof REFUSAL_REASONS;
export const REFUSAL_CODES = Object.keys(REFUSAL_REASONS) as RefusalReason[];

/** A COSE verification error as the reason the console gives. */
export function reasonForCose(code: CoseErrorCode): RefusalReason {
  switch (code) {
    case 'cose-not-cbor':
    case 'cose-not-sign1':
      return 'not-cose';
    case 'cose-too-large':
      return 'too-large';
    case 'cose-unknown-critical':
      return 'unknown-critical';
    case 'cose-unsupported-algorithm':
      return 'unsupported-algorithm';
    case 'cose-algorithm-mismatch':
      return 'algorithm-mismatch';
    case 'cose-bad-signature':
    case 'cose-bad-key':
      return 'bad-signature';
    case 'cose-bad-header':
    case 'cose-detached-payload':
      return 'malformed';
  }
}
