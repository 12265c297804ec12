/**
 * Signed statements of the station about its log, both RFC 6962 tree heads:
 *
 * - a *checkpoint*: "my log had `treeSize` records with this root at `time`" (every N records,
 *   and one closing each export);
 * - an *export seal*, in the export's header: the same for the exported size, plus the header's
 *   own facts (app build, export time), so nothing in an export is left unsigned and an export
 *   cut exactly after one of its checkpoints still says how long it was.
 *
 * The signed bytes are the canonical CBOR (canonical.ts) of the statement plus a `format`
 * member naming its kind and version, so a signature over one kind is never valid as the other.
 * Signature: ECDSA P-256 SHA-256, IEEE P1363 `r ‖ s` (64 bytes, WebCrypto's form), hex in exports.
 */
import { type Result, ok, err } from '../smp/result';
import { bytesToHex, hexToBytes } from '../util/bytes';
import { canonicalCbor } from './canonical';
import { type AuditError, caughtError } from './errors';
import type { Station } from './station';

/** Domain separation and version of the signed bytes. */
export const CHECKPOINT_FORMAT = 'imprint-audit-checkpoint/1';
export const EXPORT_SEAL_FORMAT = 'imprint-audit-export/1';
const SIGNATURE_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** P-256 `r ‖ s`. */
export const SIGNATURE_BYTES = 64;

export interface Checkpoint {
  stationId: string;
  /** Records covered: seq 1..treeSize. */
  treeSize: number;
  /** RFC 6962 MTH over the leaves entryHash_1..entryHash_treeSize, 64 lowercase hex. */
  rootHash: string;
  time: string;
}

export interface SignedCheckpoint extends Checkpoint {
  /** ECDSA P-256 SHA-256 over `checkpointBytes`, `r ‖ s`, 128 lowercase hex. */
  signature: string;
}

/** What an export's header states and signs. */
export interface ExportSeal {
  stationId: string;
  appBuild: string;
  exportedAt: string;
  /** The export holds seq 1..treeSize. */
  treeSize: number;
  rootHash: string;
}

/** @example checkpointBytes({ stationId, treeSize: 100, rootHash, time }) // the bytes the station signs */
export function checkpointBytes(checkpoint: Checkpoint): Uint8Array {
  const { stationId, treeSize, rootHash, time } = checkpoint;
  return canonicalCbor({ format: CHECKPOINT_FORMAT, stationId, treeSize, rootHash, time });
}

export function exportSealBytes(seal: ExportSeal): Uint8Array {
  const { stationId, appBuild, exportedAt, treeSize, rootHash } = seal;
  return canonicalCbor({ format: EXPORT_SEAL_FORMAT, stationId, appBuild, exportedAt, treeSize, rootHash });
}

export async function signCheckpoint(station: Station, checkpoint: Checkpoint): Promise<Result<SignedCheckpoint, AuditError>> {
  const { stationId, treeSize, rootHash, time } = checkpoint;
  const signature = await sign(station, checkpointBytes(checkpoint), `the checkpoint at tree size ${treeSize}`);
  return signature.ok ? ok({ stationId, treeSize, rootHash, time, signature: signature.value }) : signature;
}

export async function signExportSeal(station: Station, seal: ExportSeal): Promise<Result<string, AuditError>> {
  return sign(station, exportSealBytes(seal), 'the export header');
}

/** True only for a well-formed signature by `publicKey` over exactly this checkpoint. Never throws. */
export function verifyCheckpointSignature(checkpoint: SignedCheckpoint, publicKey: CryptoKey): Promise<boolean> {
  return verify(checkpoint.signature, checkpointBytes(checkpoint), publicKey);
}

export function verifyExportSeal(seal: ExportSeal, signature: string, publicKey: CryptoKey): Promise<boolean> {
  return verify(signature, exportSealBytes(seal), publicKey);
}

// WebCrypto's BufferSource type wants ArrayBuffer-backed views, hence the `new Uint8Array(…)` copies.

async function sign(station: Station, bytes: Uint8Array, what: string): Promise<Result<string, AuditError>> {
  try {
    return ok(bytesToHex(new Uint8Array(await crypto.subtle.sign(SIGNATURE_ALGORITHM, station.keys.privateKey, new Uint8Array(bytes)))));
  } catch (caught) {
    return err(caughtError('audit-station-key', `could not sign ${what}`, caught));
  }
}

async function verify(signature: string, bytes: Uint8Array, publicKey: CryptoKey): Promise<boolean> {
  if (!/^[0-9a-f]*$/.test(signature) || signature.length !== SIGNATURE_BYTES * 2) return false;
  try {
    return await crypto.subtle.verify(SIGNATURE_ALGORITHM, publicKey, new Uint8Array(hexToBytes(signature)), new Uint8Array(bytes));
  } catch {
    return false;
  }
}
