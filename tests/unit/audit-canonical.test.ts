/**
 * Canonical bytes and the hash chain. The byte-annotated example in docs/audit-format.md is
 * read from the document and checked, so the spec cannot drift from the code; hashes are
 * recomputed with createHash (not the code under test). Our direct encoder is held to byte
 * equality with cborg's RFC 8949 §4.2.1 mode on generated values, inside its domain and outside
 * it (where it hands the value to cborg); both SHA-256 back ends are held to the FIPS 180-4
 * examples and to each other.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_FIELDS,
  type AuditRecord,
  canonicalCbor,
  canonicalRecordBytes,
  checkpointBytes,
  entryHash,
  GENESIS_PREV_HASH,
  leafHash,
  treeRoot,
  validateRecord,
} from '../../src/lib/audit';
import { nobleSha256OneShot, nodeSha256, sha256Concat } from '../../src/lib/audit/sha256';
import { bytesToHex, concatBytes } from '../../src/lib/util/bytes';

const DOC = fs.readFileSync(path.resolve(__dirname, '../../docs/audit-format.md'), 'utf8');

/** The code block after `<!-- example: NAME … -->`, without `# comments` and whitespace. */
function docExample(name: string): string {
  const match = new RegExp(`<!-- example: ${name}\\b[^>]*-->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  if (!match) throw new Error(`docs/audit-format.md has no example "${name}"`);
  return match[1]!;
}
const docHex = (name: string) => docExample(name).replace(/#.*$/gm, '').replace(/\s+/g, '');
const docValue = (name: string, key: string) => new RegExp(`${key}\\s*=\\s*([0-9a-f]{64})`).exec(docExample(name))?.[1];

function docJson(index: number): AuditRecord {
  const blocks = [...DOC.matchAll(/```json\n(.*)\n```/g)].map((m) => m[1]!);
  const record = validateRecord(JSON.parse(blocks[index]!));
  if (!record.ok) throw new Error(record.error.message);
  return record.value;
}

const sha256 = (...parts: Uint8Array[]) => new Uint8Array(createHash('sha256').update(concatBytes(...parts)).digest());

describe('the worked example in docs/audit-format.md', () => {
  const record1 = docJson(0);
  const record2 = docJson(1);

  it('record 1 encodes to the annotated bytes', () => {
    expect(bytesToHex(canonicalRecordBytes(record1))).toBe(docHex('record-1-cbor'));
  });

  it('record 2 (with details) encodes to the listed bytes', () => {
    expect(bytesToHex(canonicalRecordBytes(record2))).toBe(docHex('record-2-cbor'));
  });

  it('the entry hashes, leaf hashes and tree root are the listed ones (recomputed with node:crypto)', () => {
    const h1 = sha256(new Uint8Array(32), canonicalRecordBytes(record1));
    const h2 = sha256(h1, canonicalRecordBytes(record2));
    expect(bytesToHex(h1)).toBe(docValue('entry-hashes', 'entryHash_1'));
    expect(bytesToHex(h2)).toBe(docValue('entry-hashes', 'entryHash_2'));
    expect(bytesToHex(entryHash(GENESIS_PREV_HASH, record1))).toBe(bytesToHex(h1));
    expect(bytesToHex(entryHash(h1, record2))).toBe(bytesToHex(h2));
    const [l1, l2] = [sha256(Uint8Array.of(0), h1), sha256(Uint8Array.of(0), h2)];
    expect(bytesToHex(l1)).toBe(docValue('tree-root', 'leaf_1'));
    expect(bytesToHex(l2)).toBe(docValue('tree-root', 'leaf_2'));
    expect(bytesToHex(sha256(Uint8Array.of(1), l1, l2))).toBe(docValue('tree-root', 'root'));
    expect(bytesToHex(treeRoot([leafHash(h1), leafHash(h2)]))).toBe(docValue('tree-root', 'root'));
  });

  it('the checkpoint of that tree signs the annotated bytes', () => {
    const bytes = checkpointBytes({ stationId: '3f9a0c1d2e4b5a69', treeSize: 2, rootHash: docValue('tree-root', 'root')!, time: '2025-06-01T10:00:06.000Z' });
    expect(bytesToHex(bytes)).toBe(docHex('checkpoint-bytes'));
    expect(DOC).toContain(`signs these ${bytes.length} bytes`);
  });

  it('the field table lists every record field', () => {
    for (const field of AUDIT_FIELDS) expect(DOC, field).toContain(`| \`${field}\` |`);
  });
});

describe('canonical CBOR', () => {
  it('is RFC 8949 §4.2.1: the same bytes as cborg rfc8949EncodeOptions, for any text-keyed value', () => {
    const key = fc.oneof(fc.string({ maxLength: 30, unit: 'binary' }), fc.constantFrom('a'.repeat(23), 'b'.repeat(24), 'c'.repeat(255), 'd'.repeat(256), 'é', 'z', 'ß'));
    const leaf = fc.oneof(fc.string({ unit: 'binary' }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32));
    const value = fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, fc.string({ unit: 'binary' }))));
    fc.assert(
      fc.property(value, (map) => {
        expect(bytesToHex(canonicalCbor(map))).toBe(bytesToHex(encode(map, rfc8949EncodeOptions)));
      }),
      { numRuns: 1000 },
    );
  });

  it('hands values outside its domain to cborg: the same bytes for negative and fractional numbers, arrays, deeper maps', () => {
    const anything = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 })),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), anything, { maxKeys: 6 }), (map) => {
        expect(bytesToHex(canonicalCbor(map as never))).toBe(bytesToHex(encode(map, rfc8949EncodeOptions)));
      }),
      { numRuns: 500 },
    );
  });

  it('reuses a key order only for the same keys: records of alternating shapes keep their own bytes', () => {
    const shapes: Array<Record<string, number>> = [{ b: 1, a: 2 }, { a: 1, bb: 2 }, { bb: 1, a: 2, c: 3 }, { a: 1 }];
    for (let round = 0; round < 3; round++) {
      for (const shape of shapes) expect(bytesToHex(canonicalCbor(shape))).toBe(bytesToHex(encode(shape, rfc8949EncodeOptions)));
    }
  });

  it('does not depend on the order fields were set in, and decodes back to the record', () => {
    const record: AuditRecord = { seq: 7, time: '2025-06-01T10:00:00.000Z', stationId: '0123456789abcdef', appBuild: 'b', action: 'keys.generate', phase: 'outcome', intentSeq: 6, result: 'ok', counter: 4294967296, details: { z: '1', a: '2', mm: 'ü' } };
    const reversed = Object.fromEntries(Object.entries(record).reverse()) as unknown as AuditRecord;
    expect(bytesToHex(canonicalRecordBytes(reversed))).toBe(bytesToHex(canonicalRecordBytes(record)));
    expect(decode(canonicalRecordBytes(record))).toEqual(record);
  });
});

describe('SHA-256 back ends', () => {
  // FIPS 180-4 examples (NIST CSRC "SHA256.pdf"): "abc" and the two-block message.
  const examples = [
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ] as const;

  it('node:crypto is used here, and both back ends give the FIPS 180-4 digests', () => {
    expect(nodeSha256).not.toBeNull();
    for (const [message, digest] of examples) {
      const bytes = new TextEncoder().encode(message);
      expect(bytesToHex(nodeSha256!(bytes)), message).toBe(digest);
      expect(bytesToHex(nobleSha256OneShot(bytes)), message).toBe(digest);
      expect(bytesToHex(sha256Concat([bytes.subarray(0, 1), bytes.subarray(1)])), message).toBe(digest);
    }
  });

  it('sha256Concat of any parts is the digest of their concatenation, from either back end', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 1500 }), { maxLength: 4 }), (parts) => {
        const expected = bytesToHex(sha256(...parts));
        expect(bytesToHex(sha256Concat(parts))).toBe(expected);
        expect(bytesToHex(nobleSha256OneShot(concatBytes(...parts)))).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the chain', () => {
  const base: AuditRecord = { seq: 1, time: '2025-06-01T10:00:00.000Z', stationId: '0123456789abcdef', appBuild: 'b', action: 'keys.generate', phase: 'intent', boardSerial: 'SN-1' };

  it('starts from 32 zero bytes', () => {
    expect(bytesToHex(GENESIS_PREV_HASH)).toBe('00'.repeat(32));
  });

  it('any change to any field, or to the previous hash, changes the entry hash', () => {
    const reference = bytesToHex(entryHash(GENESIS_PREV_HASH, base));
    const changes: Array<Partial<AuditRecord>> = [{ seq: 2 }, { time: '2025-06-01T10:00:00.001Z' }, { stationId: '0123456789abcdee' }, { appBuild: 'c' }, { action: 'keys.destroy' }, { boardSerial: 'SN-2' }, { boardSerial: undefined }, { operator: 'x' }, { details: {} }];
    for (const change of changes) {
      const changed = Object.fromEntries(Object.entries({ ...base, ...change }).filter(([, v]) => v !== undefined)) as unknown as AuditRecord;
      expect(bytesToHex(entryHash(GENESIS_PREV_HASH, changed)), JSON.stringify(change)).not.toBe(reference);
    }
    const otherPrev = new Uint8Array(32);
    otherPrev[31] = 1;
    expect(bytesToHex(entryHash(otherPrev, base))).not.toBe(reference);
  });
});
