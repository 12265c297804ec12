/**
 * The hash chain: `entryHash_n = SHA-256(entryHash_{n-1} ‖ canonicalRecordBytes(record_n))`, with
 * 32 zero bytes before the first record. Each station has its own chain (its records' seq 1, 2, 3 …).
 * SHA-256 is synchronous on purpose (sha256.ts).
 */
import { canonicalRecordBytes } from './canonical';
import { HASH_SIZE } from './merkle';
import { sha256Concat } from './sha256';
import type { AuditRecord } from './record';

/** A record as the log holds and exports it: with its place in the chain. */
export interface StoredRecord extends AuditRecord {
  /** SHA-256(previous entryHash ‖ canonical bytes of this record), 64 lowercase hex. */
  entryHash: string;
}

/** The `prevHash` of a station's first record (seq 1). */
export const GENESIS_PREV_HASH: Uint8Array = new Uint8Array(HASH_SIZE);

/** @example entryHash(GENESIS_PREV_HASH, record) // 32 bytes */
export function entryHash(prevHash: Uint8Array, record: AuditRecord): Uint8Array {
  return chainHash(prevHash, canonicalRecordBytes(record));
}

/** The same, over canonical bytes the caller already has. */
export function chainHash(prevHash: Uint8Array, canonicalBytes: Uint8Array): Uint8Array {
  return sha256Concat([prevHash, canonicalBytes]);
}
