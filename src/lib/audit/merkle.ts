/**
 * RFC 6962 Merkle trees (SHA-256), as Certificate Transparency uses them and as RFC 9162 §2.1
 * restates them: leaf hash `H(0x00 ‖ data)`, node hash `H(0x01 ‖ left ‖ right)`, and for n
 * leaves that are not a power of two the left subtree takes the largest power of two below n.
 *
 * The audit log's leaves are the records' entryHashes. The store keeps a *frontier* (the roots
 * of the perfect subtrees, left to right: one per set bit of the size) so that appending is
 * O(log n) and any checkpoint's root comes without reading the log again; the verifier walks a
 * whole export with the same frontier. Proof generation follows RFC 6962 §2.1.1/§2.1.2 and
 * verification RFC 9162 §2.1.3.2/§2.1.4.2, checked against transparency-dev's vectors.
 */
import { type Result, ok, err } from '../smp/result';
import { equalBytes } from '../util/bytes';
import { sha256Concat } from './sha256';

export const HASH_SIZE = 32;
/** RFC 6962 §2.1: domain separation of leaves and interior nodes. */
const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export type MerkleErrorCode = 'merkle-bad-size' | 'merkle-bad-hash' | 'merkle-bad-proof' | 'merkle-root-mismatch';
export interface MerkleError {
  code: MerkleErrorCode;
  message: string;
}

/** @example bytesToHex(leafHash(new Uint8Array())) === '6e340b9c…a01d' */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256Concat([LEAF_PREFIX, data]);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Concat([NODE_PREFIX, left, right]);
}

/** MTH({}) = SHA-256 of the empty string. */
export function emptyTreeRoot(): Uint8Array {
  return sha256Concat([]);
}

// ---------------------------------------------------------------------------------------------
// Frontier: incremental tree head

export interface MerkleFrontier {
  readonly size: number;
  /** Roots of the perfect subtrees covering leaves 0..size-1, largest (leftmost) first. */
  readonly nodes: readonly Uint8Array[];
}

export const EMPTY_FRONTIER: MerkleFrontier = { size: 0, nodes: [] };

/** Adds one leaf hash; merges equal-sized subtrees like a binary counter carries. */
export function frontierAppend(frontier: MerkleFrontier, leaf: Uint8Array): MerkleFrontier {
  const nodes = [...frontier.nodes, leaf];
  for (let carry = frontier.size; carry % 2 === 1; carry = Math.floor(carry / 2)) {
    const right = nodes.pop()!;
    const left = nodes.pop()!;
    nodes.push(nodeHash(left, right));
  }
  return { size: frontier.size + 1, nodes };
}

/** MTH of the leaves so far: the subtree roots folded from the right (RFC 6962 §2.1's split). */
export function frontierRoot(frontier: MerkleFrontier): Uint8Array {
  const { nodes } = frontier;
  if (nodes.length === 0) return emptyTreeRoot();
  let root = nodes[nodes.length - 1]!;
  for (let i = nodes.length - 2; i >= 0; i--) root = nodeHash(nodes[i]!, root);
  return root;
}

/** MTH(D[n]) of leaf hashes. @example bytesToHex(treeRoot([leafHash(new Uint8Array())])) === '6e340b9c…a01d' */
export function treeRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  return frontierRoot(leafHashes.reduce(frontierAppend, EMPTY_FRONTIER));
}

// ---------------------------------------------------------------------------------------------
// Proof generation (RFC 6962 §2.1.1 PATH, §2.1.2 PROOF/SUBPROOF)

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function subtreeRoot(leaves: readonly Uint8Array[], from: number, to: number): Uint8Array {
  return treeRoot(leaves.slice(from, to));
}

/** Audit path for leaf `index` in the tree of `leafHashes` (leaf-to-root order). */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  const path: Uint8Array[] = [];
  const walk = (m: number, from: number, to: number): void => {
    const n = to - from;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, from, from + k);
      path.push(subtreeRoot(leafHashes, from + k, to));
    } else {
      walk(m - k, from + k, to);
      path.push(subtreeRoot(leafHashes, from, from + k));
    }
  };
  walk(index, 0, leafHashes.length);
  return path;
}

/** Proof that the first `size1` leaves are a prefix of all of `leafHashes`. */
export function consistencyProof(leafHashes: readonly Uint8Array[], size1: number): Uint8Array[] {
  const proof: Uint8Array[] = [];
  const subproof = (m: number, from: number, to: number, complete: boolean): void => {
    const n = to - from;
    if (m === n) {
      if (!complete) proof.push(subtreeRoot(leafHashes, from, to));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, from, from + k, complete);
      proof.push(subtreeRoot(leafHashes, from + k, to));
    } else {
      subproof(m - k, from + k, to, false);
      proof.push(subtreeRoot(leafHashes, from, from + k));
    }
  };
  if (size1 > 0 && size1 < leafHashes.length) subproof(size1, 0, leafHashes.length, true);
  return proof;
}

// ---------------------------------------------------------------------------------------------
// Proof verification (RFC 9162 §2.1.3.2, §2.1.4.2)

function badHash(what: string, value: Uint8Array): MerkleError | null {
  return value.length === HASH_SIZE ? null : { code: 'merkle-bad-hash', message: `${what} is ${value.length} bytes, not ${HASH_SIZE}` };
}

function proofEntriesProblem(proof: readonly Uint8Array[]): MerkleError | null {
  for (const [i, entry] of proof.entries()) {
    const problem = badHash(`proof[${i}]`, entry);
    if (problem) return problem;
  }
  return null;
}

/** Checks that `leaf` (a leaf hash) is at `index` in the tree of `treeSize` leaves with head `root`. */
export function verifyInclusion(index: number, treeSize: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): Result<void, MerkleError> {
  if (!(index >= 0 && index < treeSize)) return err({ code: 'merkle-bad-size', message: `leaf index ${index} is not inside a tree of size ${treeSize}` });
  const problem = badHash('leaf hash', leaf) ?? proofEntriesProblem(proof);
  if (problem) return err(problem);
  const walk = { fn: index, sn: treeSize - 1 };
  let r = leaf;
  for (const p of proof) {
    if (walk.sn === 0) return err({ code: 'merkle-bad-proof', message: 'inclusion proof is longer than the tree is deep' });
    r = siblingOnLeft(walk) ? nodeHash(p, r) : nodeHash(r, p);
    halve(walk);
  }
  if (walk.sn !== 0) return err({ code: 'merkle-bad-proof', message: 'inclusion proof is shorter than the tree is deep' });
  if (!equalBytes(r, root)) return err({ code: 'merkle-root-mismatch', message: 'inclusion proof leads to a different root' });
  return ok(undefined);
}

/** Checks that the tree of `size1` leaves with head `root1` is a prefix of the tree of `size2` with head `root2`. */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): Result<void, MerkleError> {
  if (size1 < 1) return err({ code: 'merkle-bad-size', message: 'a consistency proof from the empty tree proves nothing' });
  if (size1 > size2) return err({ code: 'merkle-bad-size', message: `size1 ${size1} is larger than size2 ${size2}` });
  if (size1 === size2) {
    if (proof.length !== 0) return err({ code: 'merkle-bad-proof', message: 'equal sizes need an empty proof' });
    return equalBytes(root1, root2) ? ok(undefined) : err({ code: 'merkle-root-mismatch', message: 'equal sizes but different roots' });
  }
  if (proof.length === 0) return err({ code: 'merkle-bad-proof', message: 'an empty proof cannot show growth' });
  const problem = proofEntriesProblem(proof);
  if (problem) return err(problem);

  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  const walk = { fn: size1 - 1, sn: size2 - 1 };
  while (walk.fn % 2 === 1) halve(walk);
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (walk.sn === 0) return err({ code: 'merkle-bad-proof', message: 'consistency proof is too long' });
    if (siblingOnLeft(walk)) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
    } else {
      sr = nodeHash(sr, c);
    }
    halve(walk);
  }
  if (walk.sn !== 0) return err({ code: 'merkle-bad-proof', message: 'consistency proof is too short' });
  if (!equalBytes(fr, root1)) return err({ code: 'merkle-root-mismatch', message: 'consistency proof does not lead to root1' });
  if (!equalBytes(sr, root2)) return err({ code: 'merkle-root-mismatch', message: 'consistency proof does not lead to root2' });
  return ok(undefined);
}

/** RFC 9162's walk up the tree: `fn` is our node's index and `sn` the last node's, at the current level. */
interface Walk {
  fn: number;
  sn: number;
}

function halve(walk: Walk): void {
  walk.fn = Math.floor(walk.fn / 2);
  walk.sn = Math.floor(walk.sn / 2);
}

/**
 * Whether the next proof entry is our left sibling (`LSB(fn)` set, or we are the last node).
 * For a last node that is a left child, first climbs the levels where it has no sibling.
 */
function siblingOnLeft(walk: Walk): boolean {
  if (walk.fn % 2 === 0 && walk.fn !== walk.sn) return false;
  while (walk.fn % 2 === 0 && walk.fn !== 0) halve(walk);
  return true;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(Math.log2(n));
}
