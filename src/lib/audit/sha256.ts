/**
 * Synchronous SHA-256 of concatenated parts, for the hash chain and the Merkle tree.
 *
 * Synchronous on purpose: the store hashes inside an IndexedDB transaction, which would commit
 * under an `await crypto.subtle.digest(…)`. In the browser that means @noble/hashes. In Node
 * (the `audit:verify` CLI, the bench, the unit tests) `node:crypto`'s one-shot `hash()` gives
 * the same digests about 2.5× faster, and the verifier spends most of its time hashing, so it is
 * used when the runtime offers it. `process.getBuiltinModule` (Node ≥ 20.16) reaches it without
 * an import a browser bundle would have to resolve.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

type OneShotHash = (algorithm: 'sha256', data: Uint8Array, outputEncoding: 'buffer') => Uint8Array;

/** `node:crypto`'s `hash`, or null outside Node (and in Node releases without it). */
export const nodeSha256: ((data: Uint8Array) => Uint8Array) | null = (() => {
  const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = runtime?.getBuiltinModule?.('node:crypto') as { hash?: OneShotHash } | undefined;
  const hash = crypto?.hash;
  return typeof hash === 'function' ? (data: Uint8Array) => hash('sha256', data, 'buffer') : null;
})();

export const nobleSha256OneShot = (data: Uint8Array): Uint8Array => nobleSha256(data);

const digest = nodeSha256 ?? nobleSha256OneShot;

/** The parts are copied into one reused buffer: one hash call per digest, no garbage per part. */
let scratch = new Uint8Array(1024);

/** @example bytesToHex(sha256Concat([Uint8Array.of(0x61, 0x62, 0x63)])) === 'ba7816bf…15ad' */
export function sha256Concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  if (total > scratch.length) scratch = new Uint8Array(Math.max(total, scratch.length * 2));
  let offset = 0;
  for (const part of parts) {
    scratch.set(part, offset);
    offset += part.length;
  }
  // A copy: node's Buffer may be a view into a shared slab, and callers keep these hashes.
  return new Uint8Array(digest(scratch.subarray(0, total)));
}
