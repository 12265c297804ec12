/**
 * The device registry in IndexedDB (idb 8, typed by `RegistrySchema`): device id → certificate →
 * public key, written only by `register`, which verifies the chain first (register.ts). Every
 * write is one `{ durability: 'strict' }` transaction.
 *
 * HMAC secrets (EcoWatt-style devices) are held only wrapped: AES-256-GCM under a wrapping key
 * that WebCrypto made non-extractable and IndexedDB keeps as a `CryptoKey`, with the device id as
 * additional data, so a wrapped secret cannot be moved to another device. A secret is unwrapped
 * straight into a non-extractable HMAC `CryptoKey` (`unwrapKey`): after `setHmacSecret` its bytes
 * never exist in JavaScript again, and no record or export carries them.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { type Result, ok } from '../smp/result';
import { utf8 } from '../util/bytes';
import { type RegistryError, caughtMessage, registryFail } from './errors';
import { checkRegistration, type RegisteredDevice, type RegistrationInput } from './register';

export const REGISTRY_DB_NAME = 'imprint-registry';
const REGISTRY_DB_VERSION = 1;
const STRICT: IDBTransactionOptions = { durability: 'strict' };

/** HMAC-SHA256 key sizes accepted: the keys group's import range (docs/protocol/keys-group.md §2). */
export const HMAC_SECRET_MIN = 16;
export const HMAC_SECRET_MAX = 64;
const WRAP_ALGORITHM = { name: 'AES-GCM', length: 256 } as const;
const HMAC_ALGORITHM = { name: 'HMAC', hash: 'SHA-256' } as const;
const WRAP_LABEL = 'imprint registry hmac secret v1';

interface WrappedSecret {
  deviceId: string;
  iv: Uint8Array<ArrayBuffer>;
  /** AES-GCM(secret) ‖ tag. */
  wrapped: Uint8Array<ArrayBuffer>;
  createdAt: string;
}

export interface RegistrySchema extends DBSchema {
  devices: { key: string; value: RegisteredDevice };
  secrets: { key: string; value: WrappedSecret };
  meta: { key: 'wrapping-key'; value: CryptoKey };
}

export interface RegisterOptions {
  /** Replace a device registered under the same id with a different key (a re-provisioned board). */
  replace?: boolean;
  now?: Date;
}

export interface Registered {
  device: RegisteredDevice;
  /** `new`, `renewed` (same key, new certificate or chain), or `replaced` (another key). */
  change: 'new' | 'renewed' | 'replaced';
}

/** @example const registry = await openDeviceRegistry(); if (registry.ok) await registry.value.register({ chain, root }) */
export async function openDeviceRegistry(name: string = REGISTRY_DB_NAME): Promise<Result<DeviceRegistry, RegistryError>> {
  try {
    const db = await openDB<RegistrySchema>(name, REGISTRY_DB_VERSION, {
      upgrade(upgrading) {
        upgrading.createObjectStore('devices', { keyPath: 'deviceId' });
        upgrading.createObjectStore('secrets', { keyPath: 'deviceId' });
        upgrading.createObjectStore('meta');
      },
    });
    return ok(new DeviceRegistry(db));
  } catch (caught) {
    return registryFail('registry-storage', `could not open the device registry: ${caughtMessage(caught)}`);
  }
}

export class DeviceRegistry {
  readonly #db: IDBPDatabase<RegistrySchema>;

  constructor(db: IDBPDatabase<RegistrySchema>) {
    this.#db = db;
  }

  /** Verifies the chain (register.ts) and stores the device; a refusal stores nothing. */
  async register(input: RegistrationInput, options: RegisterOptions = {}): Promise<Result<Registered, RegistryError>> {
    const checked = await checkRegistration(input, options.now);
    if (!checked.ok) return checked;
    const device = checked.value;
    try {
      const tx = this.#db.transaction(['devices', 'secrets'], 'readwrite', STRICT);
      const existing = await tx.objectStore('devices').get(device.deviceId);
      const sameKey = existing?.keyFingerprint === device.keyFingerprint;
      if (existing && !sameKey && !options.replace) {
        tx.abort();
        await tx.done.catch(() => undefined);
        return registryFail('registry-conflict', `device ${device.deviceId} is registered with another key (${existing.keyFingerprint.slice(0, 16)}…, registered ${existing.registeredAt}); replace it explicitly if the board was re-provisioned`);
      }
      // A renewal keeps the HMAC secret; a new key drops it (the secret belonged to the old board).
      const stored: RegisteredDevice = { ...device, hmac: sameKey ? existing.hmac : false };
      const writes: Promise<unknown>[] = [tx.objectStore('devices').put(stored)];
      if (existing && !sameKey) writes.push(tx.objectStore('secrets').delete(device.deviceId));
      await Promise.all([...writes, tx.done]);
      return ok({ device: stored, change: !existing ? 'new' : sameKey ? 'renewed' : 'replaced' });
    } catch (caught) {
      return registryFail('registry-storage', `could not store device ${device.deviceId}: ${caughtMessage(caught)}`);
    }
  }

  async get(deviceId: string): Promise<Result<RegisteredDevice | undefined, RegistryError>> {
    try {
      return ok(await this.#db.get('devices', deviceId));
    } catch (caught) {
      return registryFail('registry-storage', `could not read device ${deviceId}: ${caughtMessage(caught)}`);
    }
  }

  /** Every registered device, by id. */
  async list(): Promise<Result<RegisteredDevice[], RegistryError>> {
    try {
      return ok(await this.#db.getAll('devices'));
    } catch (caught) {
      return registryFail('registry-storage', `could not list the registry: ${caughtMessage(caught)}`);
    }
  }

  /** Removes a device and its secret. */
  async remove(deviceId: string): Promise<Result<boolean, RegistryError>> {
    try {
      const tx = this.#db.transaction(['devices', 'secrets'], 'readwrite', STRICT);
      const existed = (await tx.objectStore('devices').count(deviceId)) > 0;
      await Promise.all([tx.objectStore('devices').delete(deviceId), tx.objectStore('secrets').delete(deviceId), tx.done]);
      return ok(existed);
    } catch (caught) {
      return registryFail('registry-storage', `could not remove device ${deviceId}: ${caughtMessage(caught)}`);
    }
  }

  /**
   * Keeps `secret` for a registered device, wrapped, and ZEROES the caller's buffer: the bytes
   * are not to stay anywhere in the clear.
   * @example await registry.setHmacSecret('dev-1', hexToBytes(fromOperator));
   */
  async setHmacSecret(deviceId: string, secret: Uint8Array): Promise<Result<void, RegistryError>> {
    try {
      if (secret.length < HMAC_SECRET_MIN || secret.length > HMAC_SECRET_MAX) {
        return registryFail('registry-bad-secret', `an HMAC-SHA256 secret is ${HMAC_SECRET_MIN}–${HMAC_SECRET_MAX} bytes; this one is ${secret.length}`);
      }
      const device = await this.get(deviceId);
      if (!device.ok) return device;
      if (!device.value) return registryFail('registry-unknown-device', `device ${deviceId} is not registered: register its certificate chain before giving it a secret`);
      const wrappingKey = await this.#wrappingKey();
      const iv = crypto.getRandomValues(new Uint8Array(12));
      // Extractable only for the one wrapKey call; the handle is dropped right after.
      const hmacKey = await crypto.subtle.importKey('raw', new Uint8Array(secret), HMAC_ALGORITHM, true, ['sign']);
      const wrapped = new Uint8Array(await crypto.subtle.wrapKey('raw', hmacKey, wrappingKey, { name: 'AES-GCM', iv, additionalData: additionalData(deviceId) }));
      const tx = this.#db.transaction(['devices', 'secrets'], 'readwrite', STRICT);
      const current = await tx.objectStore('devices').get(deviceId);
      if (!current) {
        tx.abort();
        await tx.done.catch(() => undefined);
        return registryFail('registry-unknown-device', `device ${deviceId} was removed meanwhile`);
      }
      await Promise.all([
        tx.objectStore('secrets').put({ deviceId, iv, wrapped, createdAt: new Date().toISOString() }),
        tx.objectStore('devices').put({ ...current, hmac: true }),
        tx.done,
      ]);
      return ok(undefined);
    } catch (caught) {
      return registryFail('registry-storage', `could not store the secret of ${deviceId}: ${caughtMessage(caught)}`);
    } finally {
      secret.fill(0);
    }
  }

  /** The device's HMAC key as a non-extractable `CryptoKey` (sign only), or null when it has none. */
  async hmacKey(deviceId: string): Promise<Result<CryptoKey | null, RegistryError>> {
    try {
      const stored = await this.#db.get('secrets', deviceId);
      if (!stored) return ok(null);
      const wrappingKey = await this.#wrappingKey();
      return ok(await crypto.subtle.unwrapKey('raw', stored.wrapped, wrappingKey, { name: 'AES-GCM', iv: stored.iv, additionalData: additionalData(deviceId) }, HMAC_ALGORITHM, false, ['sign']));
    } catch (caught) {
      return registryFail('registry-storage', `could not unwrap the secret of ${deviceId}: ${caughtMessage(caught)}`);
    }
  }

  close(): void {
    this.#db.close();
  }

  /** The wrapping key, made on first use; if two tabs race, the first one stored wins. */
  async #wrappingKey(): Promise<CryptoKey> {
    const stored = await this.#db.get('meta', 'wrapping-key');
    if (stored) return stored;
    const fresh = await crypto.subtle.generateKey(WRAP_ALGORITHM, false, ['wrapKey', 'unwrapKey']);
    const tx = this.#db.transaction('meta', 'readwrite', STRICT);
    const raced = await tx.store.get('wrapping-key');
    if (!raced) await tx.store.put(fresh, 'wrapping-key');
    await tx.done;
    return raced ?? fresh;
  }
}

function additionalData(deviceId: string): Uint8Array<ArrayBuffer> {
  return utf8.encode(`${WRAP_LABEL}\0${deviceId}`) as Uint8Array<ArrayBuffer>;
}
