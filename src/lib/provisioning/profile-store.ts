/**
 * The operator's own profiles in IndexedDB (idb 8, one `DBSchema`), beside the shipped ones.
 * A profile is checked (`validateProfile`) before it is stored and again when it is read back,
 * so a hand-edited database cannot smuggle in a malformed plan. Shipped ids are reserved: an
 * edited tfm-sample is saved under a new id. Writes are strict, like every store here.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import { type Result, ok, err } from '../smp/result';
import { type Profile, type ProfileError, validateProfile } from './profile';
import { BUILTIN_PROFILES, builtinProfile } from './profiles';

export const PROFILE_DB_NAME = 'imprint-profiles';
const PROFILE_DB_VERSION = 1;
const STRICT = { durability: 'strict' } as const;

interface ProfileDbSchema extends DBSchema {
  profiles: { key: string; value: Profile };
}

export interface ProfileStore {
  /** The shipped profiles, then the stored ones by id; a stored one that no longer validates is left out. */
  list(): Promise<Profile[]>;
  get(id: string): Promise<Profile | undefined>;
  /** Validates and stores (replacing the same id). Shipped ids are refused. */
  save(profile: unknown): Promise<Result<Profile, ProfileError>>;
  /** False when there was no stored profile with this id. */
  delete(id: string): Promise<boolean>;
  close(): void;
}

/**
 * @example const store = await openProfileStore(); const saved = await store.save(parseProfile(text)); (await store.list()).map((p) => p.name)
 */
export async function openProfileStore(name = PROFILE_DB_NAME): Promise<ProfileStore> {
  const db = await openDB<ProfileDbSchema>(name, PROFILE_DB_VERSION, {
    upgrade(database) {
      database.createObjectStore('profiles', { keyPath: 'id' });
    },
  });
  return new IdbProfileStore(db);
}

class IdbProfileStore implements ProfileStore {
  constructor(private readonly db: IDBPDatabase<ProfileDbSchema>) {}

  async list(): Promise<Profile[]> {
    const stored = (await this.db.getAll('profiles')).flatMap((value) => {
      const checked = validateProfile(value);
      return checked.ok ? [checked.value] : [];
    });
    return [...BUILTIN_PROFILES, ...stored];
  }

  async get(id: string): Promise<Profile | undefined> {
    const builtin = builtinProfile(id);
    if (builtin) return builtin;
    const stored = await this.db.get('profiles', id);
    const checked = stored === undefined ? null : validateProfile(stored);
    return checked?.ok ? checked.value : undefined;
  }

  async save(profile: unknown): Promise<Result<Profile, ProfileError>> {
    const checked = validateProfile(profile);
    if (!checked.ok) return checked;
    if (builtinProfile(checked.value.id)) {
      return err({ code: 'profile-duplicate', field: 'id', message: `profile: id: "${checked.value.id}" is a shipped profile; save the edited copy under another id` });
    }
    const tx = this.db.transaction('profiles', 'readwrite', STRICT);
    await Promise.all([tx.store.put(checked.value), tx.done]);
    return ok(checked.value);
  }

  async delete(id: string): Promise<boolean> {
    const tx = this.db.transaction('profiles', 'readwrite', STRICT);
    const existed = (await tx.store.getKey(id)) !== undefined;
    if (existed) await tx.store.delete(id);
    await tx.done;
    return existed;
  }

  close(): void {
    this.db.close();
  }
}
