/**
 * Constants of Imprint's keys group (docs/protocol/keys-group.md), as named tables in the style
 * of `smp/ids.ts`. The client (`keys.ts`), the simulated board (`sim/groups/keys.ts`) and the
 * spec's examples all read them from here, so a number is written down once.
 */
import { MGMT_ERR, MGMT_GROUP_ID } from '../smp/ids';

/** Default group id: the first user-defined group (Zephyr `MGMT_GROUP_ID_PERUSER`); a device profile may choose another. */
export const KEYS_MGMT_GROUP_DEFAULT = MGMT_GROUP_ID.PERUSER;

/** Version of the keys group protocol this code speaks; `info` reports the board's (spec §info). */
export const KEYS_PROTOCOL_VERSION = 1;

/** Command ids (spec §Commands). `CERT` and `COUNTER` are read with op read, written with op write. */
export const KEYS_MGMT_ID = {
  INFO: 0,
  GENERATE: 1,
  IMPORT: 2,
  TRANSPORT_KEY: 3,
  PUBLIC: 4,
  LIST: 5,
  DESTROY: 6,
  CSR: 7,
  SIGN: 8,
  CERT: 9,
  COUNTER: 10,
  TAMPER_LOG: 11,
  LOCK: 12,
} as const;

/** v2 error codes, answered as `{err: {group, rc}}` (spec §Errors). */
export const KEYS_MGMT_ERR = {
  OK: 0,
  UNKNOWN: 1,
  BAD_REQUEST: 2,
  NO_SUCH_KEY: 3,
  SLOT_IN_USE: 4,
  SLOTS_FULL: 5,
  UNSUPPORTED_ALGORITHM: 6,
  BAD_WRAP: 7,
  COUNTER_ROLLBACK: 8,
  NOT_PERMITTED: 9,
  LOCKED: 10,
  STORAGE_FAILURE: 11,
  TOO_LARGE: 12,
} as const;
export type KeysMgmtErr = (typeof KEYS_MGMT_ERR)[keyof typeof KEYS_MGMT_ERR];

/** What a v1 request gets instead of each v2 code: a Zephyr `mcumgr_err_t` (spec §Errors). */
export const KEYS_MGMT_ERR_V1: Readonly<Record<KeysMgmtErr, number>> = {
  [KEYS_MGMT_ERR.OK]: MGMT_ERR.EOK,
  [KEYS_MGMT_ERR.UNKNOWN]: MGMT_ERR.EUNKNOWN,
  [KEYS_MGMT_ERR.BAD_REQUEST]: MGMT_ERR.EINVAL,
  [KEYS_MGMT_ERR.NO_SUCH_KEY]: MGMT_ERR.ENOENT,
  [KEYS_MGMT_ERR.SLOT_IN_USE]: MGMT_ERR.EBADSTATE,
  [KEYS_MGMT_ERR.SLOTS_FULL]: MGMT_ERR.ENOMEM,
  [KEYS_MGMT_ERR.UNSUPPORTED_ALGORITHM]: MGMT_ERR.ENOTSUP,
  [KEYS_MGMT_ERR.BAD_WRAP]: MGMT_ERR.ECORRUPT,
  [KEYS_MGMT_ERR.COUNTER_ROLLBACK]: MGMT_ERR.EINVAL,
  [KEYS_MGMT_ERR.NOT_PERMITTED]: MGMT_ERR.EACCESSDENIED,
  [KEYS_MGMT_ERR.LOCKED]: MGMT_ERR.EACCESSDENIED,
  [KEYS_MGMT_ERR.STORAGE_FAILURE]: MGMT_ERR.EUNKNOWN,
  [KEYS_MGMT_ERR.TOO_LARGE]: MGMT_ERR.EMSGSIZE,
};

/**
 * The keys error a client reads from a v1 `rc`. v1 folds some codes together (the more general
 * one is assumed), and `ENOTSUP` is left out: Zephyr also answers it for a group the board lacks.
 */
export const KEYS_MGMT_ERR_FROM_V1: Readonly<Record<number, KeysMgmtErr>> = {
  [MGMT_ERR.EUNKNOWN]: KEYS_MGMT_ERR.UNKNOWN,
  [MGMT_ERR.EINVAL]: KEYS_MGMT_ERR.BAD_REQUEST,
  [MGMT_ERR.ENOENT]: KEYS_MGMT_ERR.NO_SUCH_KEY,
  [MGMT_ERR.EBADSTATE]: KEYS_MGMT_ERR.SLOT_IN_USE,
  [MGMT_ERR.ENOMEM]: KEYS_MGMT_ERR.SLOTS_FULL,
  [MGMT_ERR.ECORRUPT]: KEYS_MGMT_ERR.BAD_WRAP,
  [MGMT_ERR.EACCESSDENIED]: KEYS_MGMT_ERR.NOT_PERMITTED,
  [MGMT_ERR.EMSGSIZE]: KEYS_MGMT_ERR.TOO_LARGE,
};

/** Algorithm names on the wire (spec §Algorithms). */
export const KEY_ALG = {
  P256: 'p256',
  X25519: 'x25519',
  ED25519: 'ed25519',
  HMAC_SHA256: 'hmac-sha256',
  AES_128: 'aes-128',
} as const;
export type KeyAlg = (typeof KEY_ALG)[keyof typeof KEY_ALG];
export const KEY_ALGS: readonly KeyAlg[] = Object.values(KEY_ALG);
export const GENERATE_ALGS: readonly KeyAlg[] = [KEY_ALG.P256, KEY_ALG.X25519, KEY_ALG.ED25519];
export const IMPORT_ALGS: readonly KeyAlg[] = [KEY_ALG.P256, KEY_ALG.X25519, KEY_ALG.HMAC_SHA256, KEY_ALG.AES_128];

/** Usage flags: PSA Crypto `psa_key_usage_t` bits (PSA Certified Crypto API 1.1, §9.5.4). */
export const KEY_USAGE = {
  EXPORT: 0x0001,
  COPY: 0x0002,
  ENCRYPT: 0x0100,
  DECRYPT: 0x0200,
  SIGN_MESSAGE: 0x0400,
  VERIFY_MESSAGE: 0x0800,
  SIGN_HASH: 0x1000,
  VERIFY_HASH: 0x2000,
  DERIVE: 0x4000,
} as const;

const SIGN_VERIFY = KEY_USAGE.SIGN_HASH | KEY_USAGE.SIGN_MESSAGE | KEY_USAGE.VERIFY_HASH | KEY_USAGE.VERIFY_MESSAGE;
/** Sign and verify whole messages: PureEdDSA, and a MAC (PSA computes MACs under the message-signing bits). */
const MESSAGE = KEY_USAGE.SIGN_MESSAGE | KEY_USAGE.VERIFY_MESSAGE;

/** Per algorithm: the usage a key gets when the request names none, and the bits it may have at all. */
export const KEY_ALG_USAGE: Readonly<Record<KeyAlg, { default: number; allowed: number }>> = {
  [KEY_ALG.P256]: { default: SIGN_VERIFY, allowed: SIGN_VERIFY | KEY_USAGE.DERIVE },
  [KEY_ALG.X25519]: { default: KEY_USAGE.DERIVE, allowed: KEY_USAGE.DERIVE },
  [KEY_ALG.ED25519]: { default: MESSAGE, allowed: SIGN_VERIFY },
  [KEY_ALG.HMAC_SHA256]: { default: MESSAGE, allowed: MESSAGE },
  [KEY_ALG.AES_128]: { default: KEY_USAGE.ENCRYPT | KEY_USAGE.DECRYPT, allowed: KEY_USAGE.ENCRYPT | KEY_USAGE.DECRYPT },
};

/** A key may sign (sign, csr, transport-key signature) when it has either signing bit. */
export const KEY_USAGE_SIGNS = KEY_USAGE.SIGN_HASH | KEY_USAGE.SIGN_MESSAGE;

/** PSA Crypto's user key id range (`PSA_KEY_ID_USER_MIN` .. `PSA_KEY_ID_USER_MAX`). */
export const KEY_ID_USER_MIN = 0x00000001;
export const KEY_ID_USER_MAX = 0x3fffffff;

export function isUserKeyId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= KEY_ID_USER_MIN && id <= KEY_ID_USER_MAX;
}

/** Public key sizes: SEC1 uncompressed for P-256, raw for the Montgomery/Edwards curves (spec §Algorithms). */
export const PUBLIC_KEY_SIZE: Readonly<Partial<Record<KeyAlg, number>>> = {
  [KEY_ALG.P256]: 65,
  [KEY_ALG.X25519]: 32,
  [KEY_ALG.ED25519]: 32,
};

/** Largest `msg` the board signs, and the longest CSR subject it takes (spec §sign, §csr). */
export const SIGN_MESSAGE_MAX = 1024;
export const SUBJECT_MAX = 256;

/** `sign`'s `fmt` (spec §sign): a raw signature (the default), or a tagged COSE_Sign1 (RFC 9052) around `msg`. */
export const SIGN_FORMAT = { RAW: 'raw', COSE: 'cose' } as const;
export type SignFormat = (typeof SIGN_FORMAT)[keyof typeof SIGN_FORMAT];
/** The COSE algorithm a board's COSE_Sign1 names for each signing key algorithm (RFC 9053: ES256 -7, EdDSA -8). */
export const SIGN_COSE_ALG: Readonly<Partial<Record<KeyAlg, number>>> = {
  [KEY_ALG.P256]: -7,
  [KEY_ALG.ED25519]: -8,
};

/**
 * Messages that start with this prefix are the board's own statements (the transport-key
 * signature); `sign` refuses them so it cannot be used to forge one.
 */
export const KEYS_CONTEXT_PREFIX = 'imprint keys ';
/** What the board signs to vouch for its transport key: this label, a zero byte, the 32-byte public key. */
export const TRANSPORT_KEY_SIGNATURE_LABEL = 'imprint keys transport-key v1';

/** HPKE suite of the import wrap (RFC 9180 §7): DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM. */
export const KEYS_HPKE_SUITE = { kem: 0x0020, kdf: 0x0001, aead: 0x0001 } as const;
/** First bytes of the HPKE `info` of an import (spec §import). */
export const IMPORT_INFO_LABEL = 'imprint keys import v1';

/** Tamper log event kinds (spec §tamper-log). */
export const TAMPER_KIND = {
  COUNTER_ROLLBACK: 'counter-rollback',
  BAD_WRAP: 'bad-wrap',
  STORAGE_WRITE: 'storage-write',
  STORAGE_INTEGRITY: 'storage-integrity',
  LOCKED: 'locked',
} as const;
export type TamperKind = (typeof TAMPER_KIND)[keyof typeof TAMPER_KIND];
