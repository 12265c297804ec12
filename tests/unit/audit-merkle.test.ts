/**
 * RFC 6962 Merkle hashing against published vectors first: transparency-dev/merkle's inclusion
 * and consistency probes (every file in ../shared/vectors/merkle, happy paths and mutations) and
 * the reference tree's known answers; then our proof generation against the happy paths, the
 * incremental frontier against the recursive definition, and generated proofs round-tripping.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_FRONTIER,
  emptyTreeRoot,
  frontierAppend,
  frontierRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from '../../src/lib/audit/merkle';
import { base64ToBytes, bytesToHex, hexToBytes, utf8 } from '../../src/lib/util/bytes';

const VECTORS = path.resolve(__dirname, '../../../shared/vectors/merkle');

interface InclusionProbe {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyProbe {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function jsonFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? jsonFiles(full) : entry.name.endsWith('.json') ? [full] : [];
  });
}

function load<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function b64(text: string): Uint8Array {
  const bytes = base64ToBytes(text);
  if (bytes === null) throw new Error(`vector has bad base64: ${text}`);
  return bytes;
}

const reference = load<{
  known_answers: Array<{ desc: string; input: { empty_tree?: true; leaf_hex?: string; leaf_ascii?: string; left_ascii?: string; right_ascii?: string }; hash: string }>;
  leaves_hex: string[];
  leaf_hashes_hex: string[];
  roots_by_size_hex: Record<string, string>;
}>(path.join(VECTORS, 'reference_tree.json'));

const inclusionFiles = jsonFiles(path.join(VECTORS, 'inclusion'));
const consistencyFiles = jsonFiles(path.join(VECTORS, 'consistency'));

describe('RFC 6962 vectors (transparency-dev/merkle testdata)', () => {
  it('finds every vector file the README lists (98 inclusion, 98 consistency)', () => {
    expect(inclusionFiles).toHaveLength(98);
    expect(consistencyFiles).toHaveLength(98);
    expect(inclusionFiles.filter((f) => !load<InclusionProbe>(f).wantErr)).toHaveLength(6);
    expect(consistencyFiles.filter((f) => !load<ConsistencyProbe>(f).wantErr)).toHaveLength(6);
  });

  it.each(reference.known_answers.map((answer) => [answer.desc, answer] as const))('hasher known answer: %s', (_desc, answer) => {
    const { input } = answer;
    const hash = input.empty_tree
      ? emptyTreeRoot()
      : input.leaf_hex !== undefined
        ? leafHash(hexToBytes(input.leaf_hex))
        : input.leaf_ascii !== undefined
          ? leafHash(utf8.encode(input.leaf_ascii))
          : nodeHash(utf8.encode(input.left_ascii!), utf8.encode(input.right_ascii!));
    expect(bytesToHex(hash)).toBe(answer.hash);
  });

  it('reference tree: the 8 leaf hashes and the roots of sizes 1..8', () => {
    const leaves = reference.leaves_hex.map((hex) => leafHash(hexToBytes(hex)));
    expect(leaves.map(bytesToHex)).toEqual(reference.leaf_hashes_hex);
    for (const [size, root] of Object.entries(reference.roots_by_size_hex)) {
      expect(bytesToHex(treeRoot(leaves.slice(0, Number(size)))), `size ${size}`).toBe(root);
    }
    expect(Object.keys(reference.roots_by_size_hex)).toHaveLength(8);
  });

  it.each(inclusionFiles.map((file) => [path.relative(VECTORS, file), file] as const))('inclusion %s', (_name, file) => {
    const probe = load<InclusionProbe>(file);
    const result = verifyInclusion(probe.leafIdx, probe.treeSize, b64(probe.leafHash), (probe.proof ?? []).map(b64), b64(probe.root));
    expect(result.ok, probe.desc).toBe(!probe.wantErr);
  });

  it.each(consistencyFiles.map((file) => [path.relative(VECTORS, file), file] as const))('consistency %s', (_name, file) => {
    const probe = load<ConsistencyProbe>(file);
    const result = verifyConsistency(probe.size1, probe.size2, b64(probe.root1), b64(probe.root2), (probe.proof ?? []).map(b64));
    expect(result.ok, probe.desc).toBe(!probe.wantErr);
  });
});

describe('proof generation reproduces the vectors', () => {
  const leaves = reference.leaves_hex.map((hex) => leafHash(hexToBytes(hex)));

  it.each(inclusionFiles.filter((f) => f.endsWith('happy-path.json')).map((f) => [path.relative(VECTORS, f), f] as const))('inclusion %s', (_name, file) => {
    const probe = load<InclusionProbe>(file);
    const tree = leaves.slice(0, probe.treeSize);
    expect(bytesToHex(tree[probe.leafIdx]!)).toBe(bytesToHex(b64(probe.leafHash)));
    expect(inclusionProof(tree, probe.leafIdx).map(bytesToHex)).toEqual((probe.proof ?? []).map((p) => bytesToHex(b64(p))));
    expect(bytesToHex(treeRoot(tree))).toBe(bytesToHex(b64(probe.root)));
  });

  it.each(consistencyFiles.filter((f) => f.endsWith('happy-path.json')).map((f) => [path.relative(VECTORS, f), f] as const))('consistency %s', (_name, file) => {
    const probe = load<ConsistencyProbe>(file);
    const tree = leaves.slice(0, probe.size2);
    expect(consistencyProof(tree, probe.size1).map(bytesToHex)).toEqual((probe.proof ?? []).map((p) => bytesToHex(b64(p))));
    expect(bytesToHex(treeRoot(tree.slice(0, probe.size1)))).toBe(bytesToHex(b64(probe.root1)));
    expect(bytesToHex(treeRoot(tree))).toBe(bytesToHex(b64(probe.root2)));
  });
});

/** RFC 6962 §2.1's MTH, written out recursively as the spec states it, to hold the frontier to. */
function specRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return emptyTreeRoot();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(specRoot(leaves.slice(0, k)), specRoot(leaves.slice(k)));
}

describe('frontier and proofs on trees of every size up to 70', () => {
  const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Uint8Array.of(i, i >> 8)));

  it('the frontier root equals the recursive MTH at every size', () => {
    let frontier = EMPTY_FRONTIER;
    expect(bytesToHex(frontierRoot(frontier))).toBe(bytesToHex(emptyTreeRoot()));
    for (let n = 1; n <= leaves.length; n++) {
      frontier = frontierAppend(frontier, leaves[n - 1]!);
      expect(frontier.nodes.length).toBe(n.toString(2).replace(/0/g, '').length);
      expect(bytesToHex(frontierRoot(frontier)), `size ${n}`).toBe(bytesToHex(specRoot(leaves.slice(0, n))));
    }
  });

  it('every generated inclusion and consistency proof verifies, and fails for a neighbour', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), (size, a, b) => {
        const tree = leaves.slice(0, size);
        const root = treeRoot(tree);
        const index = a % size;
        const proof = inclusionProof(tree, index);
        expect(verifyInclusion(index, size, tree[index]!, proof, root).ok).toBe(true);
        if (size > 1) expect(verifyInclusion((index + 1) % size, size, tree[index]!, proof, root).ok).toBe(false);
        const size1 = 1 + (b % size);
        const cproof = consistencyProof(tree, size1);
        expect(verifyConsistency(size1, size, treeRoot(tree.slice(0, size1)), root, cproof).ok).toBe(true);
        if (size1 < size) expect(verifyConsistency(size1, size, treeRoot(tree.slice(1, size1 + 1)), root, cproof).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
