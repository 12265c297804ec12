/**
 * Imprint's keys group on the simulated board: the executable form of docs/protocol/keys-group.md.
 * Every command, every error in both SMP versions, and the faults a provisioning flow must
 * survive (slots full, a storage write failing part-way, a reboot between steps). Keys, chains,
 * counter, lock and tamper log live in `SimKeyStore` (flash: they survive reboots); a chain
 * being stored lives in RAM (`keys/cert.ts`) and a reboot forgets it. Shared refusals and
 * lookups: `keys/context.ts`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { x25519 } from '@noble/curves/ed25519.js';
import {
  GENERATE_ALGS,
  IMPORT_ALGS,
  KEY_ALG_USAGE,
  KEY_USAGE,
  KEY_USAGE_SIGNS,
  KEYS_CONTEXT_PREFIX,
  KEYS_HPKE_SUITE,
  KEYS_MGMT_ERR,
  KEYS_MGMT_GROUP_DEFAULT,
  KEYS_MGMT_ID,
  KEYS_PROTOCOL_VERSION,
  KEY_ALG,
  KEY_ID_USER_MIN,
  SIGN_FORMAT,
  SIGN_MESSAGE_MAX,
  TAMPER_KIND,
  TRANSPORT_KEY_SIGNATURE_LABEL,
  isUserKeyId,
  type KeyAlg,
} from '../../device/keys-ids';
import { importInfo, openImportWrap } from '../../device/keys-wrap';
import { isCborMap } from '../../smp/cbor';
import { concatBytes, equalBytes, utf8 } from '../../util/bytes';
import { SimFailure, type CommandHandlers, type Handler, type SimulatedBoard } from '../board';
import { certHandlers } from '../keys/cert';
import { createKeysContext, fitPage, isUint } from '../keys/context';
import { coseSign1 } from '../keys/cose';
import { type RandomSource, algorithmOps, systemRandom } from '../keys/crypto';
import { buildCsr, parseSubject, type SubjectAttribute } from '../keys/csr';
import { type KeysFaultPlan, SimKeyStore, type SimKeyRecord } from '../keys/store';

export interface SimKeysOptions {
  /** Group id; default 64. */
  group?: number;
  /** Key slots; default 8. */
  slots?: number;
  /** Largest certificate chain per key, bytes; default 4096. */
  certMax?: number;
  /** Tamper events kept (the oldest go first); default 32. */
  tamperCapacity?: number;
  firmware?: string;
  /** Default: the platform CSPRNG. A seeded source makes keys (and so the spec's examples) repeatable. */
  random?: RandomSource;
}

/** The keys group of one simulated board: its storage, and the switch for its faults. */
export interface SimKeys {
  group: number;
  store: SimKeyStore;
  deviceId: Uint8Array;
  /** Adds to the keys fault plan (see `KeysFaultPlan`). */
  inject(plan: KeysFaultPlan): void;
  clearFaults(): void;
}

export const SIM_KEYS_FIRMWARE = 'imprint-sim 1.0.0';

export function registerKeysGroup(board: SimulatedBoard, options: SimKeysOptions = {}): SimKeys {
  const group = options.group ?? KEYS_MGMT_GROUP_DEFAULT;
  const random = options.random ?? systemRandom;
  const store = new SimKeyStore({
    slots: options.slots ?? 8,
    certMax: options.certMax ?? 4096,
    tamperCapacity: options.tamperCapacity ?? 32,
    transportSecret: random(32),
  });
  const deviceId = sha256(utf8.encode(`imprint-sim device ${board.serialNumber}`)).slice(0, 16);
  const firmware = options.firmware ?? SIM_KEYS_FIRMWARE;
  const context = createKeysContext(board, store, group);
  const { fail, tamper, refuseIfLocked, storageFailed, lookup, responseBudget } = context;
  const cert = certHandlers(context);

  /** The request's `alg` when this command takes it: else BAD_REQUEST (not text) or UNSUPPORTED_ALGORITHM. */
  const readAlg = (value: unknown, accepted: readonly KeyAlg[]): KeyAlg | SimFailure => {
    if (typeof value !== 'string') return fail(KEYS_MGMT_ERR.BAD_REQUEST);
    return accepted.includes(value as KeyAlg) ? (value as KeyAlg) : fail(KEYS_MGMT_ERR.UNSUPPORTED_ALGORITHM);
  };

  /** Where a new key goes: its id (given or the lowest free), usage, and whether that is allowed now. */
  const place = (payload: Record<string, unknown>, alg: KeyAlg, command: number): { id: number; usage: number } | SimFailure => {
    const { id, usage, replace } = payload;
    if (id !== undefined && !isUserKeyId(id)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
    if (replace !== undefined && typeof replace !== 'boolean') return fail(KEYS_MGMT_ERR.BAD_REQUEST);
    const policy = KEY_ALG_USAGE[alg];
    const flags = usage === undefined ? policy.default : usage;
    // psa_key_usage_t is 32 bits (and JS bit operators below would wrap a larger value).
    if (typeof flags !== 'number' || !Number.isInteger(flags) || flags <= 0 || flags > 0xffffffff) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
    if (flags & KEY_USAGE.EXPORT) return fail(KEYS_MGMT_ERR.NOT_PERMITTED); // private keys never leave the board
    if ((flags & ~policy.allowed) !== 0) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
    const target = id ?? lowestFreeId(store);
    if (store.has(target)) {
      if (replace !== true) return fail(KEYS_MGMT_ERR.SLOT_IN_USE);
      const locked = refuseIfLocked(command, target); // replacing destroys the old key
      if (locked) return locked;
    } else if (store.faults.slotsFull || store.used >= store.slots) {
      return fail(KEYS_MGMT_ERR.SLOTS_FULL);
    }
    return { id: target, usage: flags };
  };

  const handlers: Record<number, CommandHandlers> = {
    [KEYS_MGMT_ID.INFO]: {
      read: () => ({
        v: KEYS_PROTOCOL_VERSION,
        device: deviceId,
        fw: firmware,
        gen: [...GENERATE_ALGS],
        imp: [...IMPORT_ALGS],
        slots: store.slots,
        used: store.used,
        cert_max: store.certMax,
        counter: store.counter,
        tamper: store.tamperCount,
        locked: store.locked,
      }),
    },

    [KEYS_MGMT_ID.GENERATE]: {
      write: ({ payload }) => {
        const alg = readAlg(payload.alg, GENERATE_ALGS);
        if (alg instanceof SimFailure) return alg;
        const placed = place(payload, alg, KEYS_MGMT_ID.GENERATE);
        if (placed instanceof SimFailure) return placed;
        // A CSR is checked before the key exists: a refused request leaves nothing behind.
        let subject: SubjectAttribute[] | null = null;
        if (payload.csr !== undefined) {
          if (!isCborMap(payload.csr) || typeof payload.csr.subject !== 'string') return fail(KEYS_MGMT_ERR.BAD_REQUEST);
          if (!canSign(alg, placed.usage)) return fail(KEYS_MGMT_ERR.NOT_PERMITTED);
          const parsed = parseSubject(payload.csr.subject);
          if (!parsed.ok) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
          subject = parsed.value;
        }
        const ops = algorithmOps(alg);
        const secret = ops.generate(random);
        const publicKey = ops.publicKey(secret)!;
        if (!store.putKey({ id: placed.id, alg, usage: placed.usage, secret, publicKey, cert: null })) return storageFailed(placed.id);
        const csr = subject ? { csr: buildCsr(alg, secret, publicKey, subject) } : {};
        return { id: placed.id, alg, usage: placed.usage, pub: publicKey, ...csr };
      },
    },

    [KEYS_MGMT_ID.IMPORT]: {
      write: async ({ payload }) => {
        const locked = refuseIfLocked(KEYS_MGMT_ID.IMPORT, payload.id);
        if (locked) return locked;
        const { enc, ct } = payload;
        if (!(enc instanceof Uint8Array) || !(ct instanceof Uint8Array)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        const alg = readAlg(payload.alg, IMPORT_ALGS);
        if (alg instanceof SimFailure) return alg;
        const placed = place(payload, alg, KEYS_MGMT_ID.IMPORT);
        if (placed instanceof SimFailure) return placed;
        const info = importInfo(payload.id as number | undefined, payload.usage as number | undefined, alg);
        const secret = await openImportWrap(store.transportSecret, enc, ct, info);
        if (!secret) {
          tamper({ kind: TAMPER_KIND.BAD_WRAP, ...(isUserKeyId(payload.id) ? { id: payload.id } : {}) });
          return fail(KEYS_MGMT_ERR.BAD_WRAP);
        }
        const ops = algorithmOps(alg);
        if (!ops.valid(secret)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        const publicKey = ops.publicKey(secret);
        if (!store.putKey({ id: placed.id, alg, usage: placed.usage, secret, publicKey, cert: null })) return storageFailed(placed.id);
        return { id: placed.id, alg, usage: placed.usage, ...(publicKey ? { pub: publicKey } : {}) };
      },
    },

    [KEYS_MGMT_ID.TRANSPORT_KEY]: {
      read: ({ payload }) => {
        const pub = x25519.getPublicKey(store.transportSecret);
        const answer = { pub, suite: [KEYS_HPKE_SUITE.kem, KEYS_HPKE_SUITE.kdf, KEYS_HPKE_SUITE.aead] };
        if (payload.id === undefined) return answer;
        const record = lookup(payload.id);
        if (record instanceof SimFailure) return record;
        if (!canSign(record.alg, record.usage)) return fail(KEYS_MGMT_ERR.NOT_PERMITTED);
        const sig = algorithmOps(record.alg).sign(record.secret, concatBytes(utf8.encode(TRANSPORT_KEY_SIGNATURE_LABEL), new Uint8Array([0]), pub))!;
        return { ...answer, id: record.id, sig };
      },
    },

    [KEYS_MGMT_ID.PUBLIC]: {
      read: ({ payload }) => {
        const record = lookup(payload.id);
        if (record instanceof SimFailure) return record;
        return { ...entry(record), ...(record.publicKey ? { pub: record.publicKey } : {}) };
      },
    },

    [KEYS_MGMT_ID.LIST]: {
      read: ({ payload }) => {
        const after = payload.after ?? 0;
        if (!isUint(after)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        const keys = store.ids().filter((id) => id > after).map((id) => entry(store.peek(id)!));
        return fitPage(keys, (items, more) => ({ keys: items, ...(more ? { more: true } : {}) }), responseBudget);
      },
    },

    [KEYS_MGMT_ID.DESTROY]: {
      write: ({ payload }) => {
        const locked = refuseIfLocked(KEYS_MGMT_ID.DESTROY, payload.id);
        if (locked) return locked;
        if (!isUserKeyId(payload.id)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        if (!store.remove(payload.id)) return fail(KEYS_MGMT_ERR.NO_SUCH_KEY);
        cert.forget(payload.id);
        return {};
      },
    },

    [KEYS_MGMT_ID.CSR]: {
      write: ({ payload }) => {
        if (typeof payload.subject !== 'string') return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        const record = lookup(payload.id);
        if (record instanceof SimFailure) return record;
        if (!canSign(record.alg, record.usage)) return fail(KEYS_MGMT_ERR.NOT_PERMITTED);
        const subject = parseSubject(payload.subject);
        if (!subject.ok) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        return { csr: buildCsr(record.alg, record.secret, record.publicKey!, subject.value) };
      },
    },

    [KEYS_MGMT_ID.SIGN]: {
      write: ({ payload }) => {
        const msg = payload.msg;
        if (!(msg instanceof Uint8Array)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        const record = lookup(payload.id);
        if (record instanceof SimFailure) return record;
        const fmt = payload.fmt ?? SIGN_FORMAT.RAW;
        if (fmt !== SIGN_FORMAT.RAW && fmt !== SIGN_FORMAT.COSE) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        if (msg.length > SIGN_MESSAGE_MAX) return fail(KEYS_MGMT_ERR.TOO_LARGE);
        // The board's own statements start with the context prefix: never sign one on request.
        const prefix = utf8.encode(KEYS_CONTEXT_PREFIX);
        if (msg.length >= prefix.length && equalBytes(msg.subarray(0, prefix.length), prefix)) return fail(KEYS_MGMT_ERR.NOT_PERMITTED);
        if (fmt === SIGN_FORMAT.COSE) {
          const cose = (record.usage & KEY_USAGE_SIGNS) !== 0 ? coseSign1(record.alg, record.secret, msg) : null;
          return cose ? { sig: cose } : fail(KEYS_MGMT_ERR.NOT_PERMITTED);
        }
        const sig = signIfAllowed(record, msg);
        return sig ? { sig } : fail(KEYS_MGMT_ERR.NOT_PERMITTED);
      },
    },

    [KEYS_MGMT_ID.CERT]: { read: cert.read, write: cert.write },

    [KEYS_MGMT_ID.COUNTER]: {
      read: () => ({ value: store.counter }),
      write: ({ payload }) => {
        const locked = refuseIfLocked(KEYS_MGMT_ID.COUNTER);
        if (locked) return locked;
        const value = payload.value;
        if (!isUint(value) && !(typeof value === 'bigint' && value >= 0n && value < 1n << 64n)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        const wanted = BigInt(value);
        if (wanted < store.counter) {
          tamper({ kind: TAMPER_KIND.COUNTER_ROLLBACK, value: wanted });
          return fail(KEYS_MGMT_ERR.COUNTER_ROLLBACK);
        }
        if (wanted > store.counter) {
          if (!store.spend(8)) return storageFailed();
          store.counter = wanted;
        }
        return { value: store.counter };
      },
    },

    [KEYS_MGMT_ID.TAMPER_LOG]: {
      read: ({ payload }) => {
        const since = payload.since ?? 0;
        if (!isUint(since)) return fail(KEYS_MGMT_ERR.BAD_REQUEST);
        const events = store.tamperSince(since).map(({ seq, kind, boot, id, value, cmd }) => ({
          seq,
          kind,
          boot,
          ...(id !== undefined ? { id } : {}),
          ...(value !== undefined ? { value } : {}),
          ...(cmd !== undefined ? { cmd } : {}),
        }));
        return fitPage(events, (items, more) => ({
          events: items,
          next: items.length > 0 ? items[items.length - 1]!.seq + 1 : Math.max(since, store.tamperCount),
          ...(more ? { more: true } : {}),
        }), responseBudget);
      },
    },

    [KEYS_MGMT_ID.LOCK]: {
      write: () => {
        if (!store.locked) {
          if (!store.spend(1)) return storageFailed();
          store.locked = true;
        }
        return { locked: true };
      },
    },
  };

  for (const [command, { read, write }] of Object.entries(handlers)) {
    board.register(group, Number(command), { read: read && step(read), write: write && step(write) });
  }

  /** Runs a handler, then reboots the board if the fault plan says this was the step to reboot after. */
  function step(handler: Handler): Handler {
    return async (context) => {
      const result = await handler(context);
      const left = store.faults.rebootBetweenSteps;
      if (left !== undefined) {
        store.faults.rebootBetweenSteps = left > 1 ? left - 1 : undefined;
        // The answer still goes out (it is on its way); what the board held in RAM is gone.
        if (left <= 1) board.reboot();
      }
      return result;
    };
  }

  return {
    group,
    store,
    deviceId,
    inject: (plan) => (store.faults = { ...store.faults, ...plan }),
    clearFaults: () => (store.faults = {}),
  };
}

function entry(record: SimKeyRecord): Record<string, unknown> {
  return { id: record.id, alg: record.alg, usage: record.usage, cert: record.cert?.length ?? 0 };
}

function canSign(alg: KeyAlg, usage: number): boolean {
  return (alg === KEY_ALG.P256 || alg === KEY_ALG.ED25519) && (usage & KEY_USAGE_SIGNS) !== 0;
}

/** The signature (or MAC) of `message` when the key's algorithm and usage allow signing. */
function signIfAllowed(record: SimKeyRecord, message: Uint8Array): Uint8Array | null {
  if ((record.usage & KEY_USAGE_SIGNS) === 0) return null;
  return algorithmOps(record.alg).sign(record.secret, message);
}

function lowestFreeId(store: SimKeyStore): number {
  let id = KEY_ID_USER_MIN;
  for (const used of store.ids()) {
    if (used !== id) break;
    id++;
  }
  return id;
}
