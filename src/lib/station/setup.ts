/**
 * What every board of the shift gets: the profile (key plan and subject template), the CA that
 * signs, an optional firmware image, the operator's name, and the values of keys the profile
 * imports. A station asks for it when a board is found, so a CA made active or an image chosen
 * meanwhile applies to the next board.
 *
 * Keys whose value comes from the operator (tfm-sample's "known" and "certified") either get a
 * fresh value per board, made in the browser and sealed to the board (the profile's `operator`
 * source becomes `browser`: the value exists only during the run), or the same values the operator
 * gave once for the shift, held in the tab only.
 */
import { parseMcubootImage } from '../device/mcuboot-image';
import type { CertificateAuthority } from '../pki';
import type { KnownValueInput, Profile } from '../provisioning';
import { type Result, ok, err } from '../smp/result';
import { bytesToHex } from '../util/bytes';
import { sha256 } from '@noble/hashes/sha2.js';
import { type StationError, stationError } from './errors';

export interface StationImage {
  name: string;
  bytes: Uint8Array;
  /** SHA-256 of the file, hex: what the upload resumes by and the audit records. */
  sha: string;
  version: string;
}

export interface StationSetup {
  profile: Profile;
  ca: CertificateAuthority | null;
  image: StationImage | null;
  operator: string;
  /** The operator-valued keys' values for one run (fresh copies: the flow zeroes what it reads). */
  knownValues(): Record<string, KnownValueInput>;
}

/**
 * `profile` with every operator-valued key made fresh in the browser for each board.
 * @example planProvisioning(freshValuesProfile(TFM_SAMPLE_PROFILE)).value.operatorValues // []
 */
export function freshValuesProfile(profile: Profile): Profile {
  if (profile.kind === 'settings') return profile.keySource === 'operator' ? { ...profile, keySource: 'browser' } : profile;
  return { ...profile, keys: profile.keys.map((key) => (key.source === 'operator' ? { ...key, source: 'browser' as const } : key)) };
}

/**
 * A firmware file checked as an MCUboot image before any board sees it.
 * @example const image = stationImage('app.signed.bin', bytes); if (!image.ok) show(image.error.message);
 */
export function stationImage(name: string, bytes: Uint8Array): Result<StationImage, StationError> {
  const parsed = parseMcubootImage(bytes);
  if (!parsed.ok) return err(stationError('setup-incomplete', `${name}: ${parsed.error.message}`));
  return ok({ name, bytes, sha: bytesToHex(sha256(bytes)), version: parsed.value.versionString });
}

/** The SMP group the profile's keys group answers at, for `connectBoard`. */
export function keysGroupOf(profile: Profile): number | undefined {
  return profile.kind === 'keys-group' ? profile.keysGroup : undefined;
}
