/**
 * Wycheproof (C2SP, ../shared/vectors/wycheproof/) through the PKI layer's signature and key
 * agreement paths, each run twice: WebCrypto (Node's) and the @noble/curves fallback. Every
 * `valid` case must be accepted with the listed output, every `invalid` one rejected; an
 * `acceptable` case may go either way but, when accepted, must give the listed output. The counts
 * per file and backend are printed so the closing report can quote them.
 */
import { readFileSync, existsSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ecdhP256, type AgreeBackend, verifyEcdsaP256, verifyEcdsaP256Der, x25519, type EcdsaBackend } from '../../src/lib/pki';
import { base64ToBytes, bytesToHex, concatBytes, hexToBytes } from '../../src/lib/util/bytes';

const DIR = new URL('../../../shared/vectors/wycheproof/', import.meta.url);
const available = existsSync(new URL('ecdsa_secp256r1_sha256_p1363_test.json', DIR));

interface Vector {
  tcId: number;
  comment: string;
  flags: string[];
  result: 'valid' | 'invalid' | 'acceptable';
  [field: string]: unknown;
}
interface Group {
  tests: Vector[];
  publicKey?: { uncompressed: string };
}
function load(name: string): { groups: Group[]; total: number } {
  const file = JSON.parse(readFileSync(new URL(name, DIR), 'utf8')) as { testGroups: Group[]; numberOfTests: number };
  return { groups: file.testGroups, total: file.numberOfTests };
}

interface Tally {
  valid: number;
  invalid: number;
  acceptable: number;
  acceptableAccepted: number;
  failures: string[];
}
const tallies = new Map<string, Tally>();
function tally(key: string): Tally {
  let entry = tallies.get(key);
  if (!entry) tallies.set(key, (entry = { valid: 0, invalid: 0, acceptable: 0, acceptableAccepted: 0, failures: [] }));
  return entry;
}
function record(key: string, vector: Vector, accepted: boolean, outputMatches = true): void {
  const entry = tally(key);
  entry[vector.result]++;
  if (vector.result === 'acceptable' && accepted) entry.acceptableAccepted++;
  const wrong =
    (vector.result === 'valid' && (!accepted || !outputMatches)) || (vector.result === 'invalid' && accepted) || (vector.result === 'acceptable' && accepted && !outputMatches);
  if (wrong) entry.failures.push(`tcId ${vector.tcId} (${vector.result}, ${vector.comment}): ${accepted ? 'accepted' : 'rejected'}${accepted && !outputMatches ? ' with a different output' : ''}`);
}

afterAll(() => {
  const lines = [...tallies.entries()].map(
    ([key, t]) => `${key}: valid ${t.valid}, invalid ${t.invalid}, acceptable ${t.acceptable} (accepted ${t.acceptableAccepted}), wrong ${t.failures.length}`,
  );
  if (lines.length) console.log(`Wycheproof counts\n  ${lines.join('\n  ')}`);
});

/**
 * Runs every vector of `file` through `check`, tallies the outcomes under `key`, and fails on any
 * wrong outcome. `output` (hex), when given, must equal the vector's `shared`.
 */
async function runFile(file: string, key: string, check: (vector: Vector, group: Group) => Promise<{ accepted: boolean; output?: string }>): Promise<void> {
  const { groups, total } = load(file);
  for (const group of groups) {
    for (const vector of group.tests) {
      const { accepted, output } = await check(vector, group);
      record(key, vector, accepted, output === undefined || output === vector.shared);
    }
  }
  const t = tally(key);
  expect(t.valid + t.invalid + t.acceptable).toBe(total);
  expect(t.failures).toEqual([]);
}

/** Private scalars are written as big-endian integers, sometimes with a sign byte: 32 bytes here. */
function scalar32(hex: string): Uint8Array {
  const bytes = hexToBytes(hex);
  if (bytes.length > 32 && bytes.subarray(0, bytes.length - 32).every((b) => b === 0)) return bytes.slice(bytes.length - 32);
  return bytes.length < 32 ? concatBytes(new Uint8Array(32 - bytes.length), bytes) : bytes;
}

function base64url(text: string): Uint8Array | null {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/');
  return base64ToBytes(padded + '='.repeat((4 - (padded.length % 4)) % 4));
}

describe.skipIf(!available)(available ? 'Wycheproof vectors' : 'Wycheproof vectors not found in ../shared/vectors/wycheproof', () => {
  for (const backend of ['webcrypto', 'noble'] as const satisfies readonly EcdsaBackend[]) {
    it(`ecdsa_secp256r1_sha256_p1363_test.json through verifyEcdsaP256 (${backend})`, () =>
      runFile('ecdsa_secp256r1_sha256_p1363_test.json', `ecdsa_secp256r1_sha256_p1363 [${backend}]`, async (vector, group) => {
        const verified = await verifyEcdsaP256(hexToBytes(group.publicKey!.uncompressed), hexToBytes(vector.msg as string), hexToBytes(vector.sig as string), { backend });
        if (verified.ok) expect(verified.value.backend).toBe(backend);
        return { accepted: verified.ok };
      }));

    it(`ecdsa_secp256r1_sha256_test.json (DER signatures) through verifyEcdsaP256Der (${backend})`, () =>
      runFile('ecdsa_secp256r1_sha256_test.json', `ecdsa_secp256r1_sha256 DER [${backend}]`, async (vector, group) => {
        const verified = await verifyEcdsaP256Der(hexToBytes(group.publicKey!.uncompressed), hexToBytes(vector.msg as string), hexToBytes(vector.sig as string), { backend });
        return { accepted: verified.ok };
      }));
  }

  for (const backend of ['webcrypto', 'noble'] as const satisfies readonly AgreeBackend[]) {
    it(`ecdh_secp256r1_ecpoint_test.json through ecdhP256 (${backend})`, () =>
      runFile('ecdh_secp256r1_ecpoint_test.json', `ecdh_secp256r1_ecpoint [${backend}]`, async (vector) => {
        const agreed = await ecdhP256(scalar32(vector.private as string), hexToBytes(vector.public as string), { backend });
        if (agreed.ok) expect(agreed.value.backend).toBe(backend);
        return agreed.ok ? { accepted: true, output: bytesToHex(agreed.value.secret) } : { accepted: false };
      }));

    it(`x25519_test.json through x25519 (${backend})`, () =>
      runFile('x25519_test.json', `x25519 [${backend}]`, async (vector) => {
        const agreed = await x25519(hexToBytes(vector.private as string), hexToBytes(vector.public as string), { backend });
        if (agreed.ok) expect(agreed.value.backend).toBe(backend);
        return agreed.ok ? { accepted: true, output: bytesToHex(agreed.value.secret) } : { accepted: false };
      }));
  }

  it('ecdh_secp256r1_webcrypto_test.json: JWK keys imported by WebCrypto, agreement through ecdhP256 with a CryptoKey', () =>
    runFile('ecdh_secp256r1_webcrypto_test.json', 'ecdh_secp256r1_webcrypto [webcrypto, CryptoKey]', async (vector) => {
      const peer = vector.public as JsonWebKey;
      try {
        // The JWK is the input format here: WebCrypto's own import is the first line of defence,
        // and the point it accepts must then pass ecdhP256's checks.
        const privateKey = await crypto.subtle.importKey('jwk', vector.private as JsonWebKey, { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
        const x = base64url(peer.x ?? '');
        const y = base64url(peer.y ?? '');
        if (peer.kty !== 'EC' || peer.crv !== 'P-256' || !x || !y || x.length !== 32 || y.length !== 32) return { accepted: false };
        const agreed = await ecdhP256(privateKey, concatBytes(new Uint8Array([4]), x, y), { backend: 'webcrypto' });
        return agreed.ok ? { accepted: true, output: bytesToHex(agreed.value.secret) } : { accepted: false };
      } catch {
        return { accepted: false };
      }
    }));

  it('auto backend falls back to noble when WebCrypto refuses the key (and uses WebCrypto otherwise)', async () => {
    const { groups } = load('ecdsa_secp256r1_sha256_p1363_test.json');
    const group = groups[0]!;
    const vector = group.tests.find((test) => test.result === 'valid')!;
    const args = [hexToBytes(group.publicKey!.uncompressed), hexToBytes(vector.msg as string), hexToBytes(vector.sig as string)] as const;
    expect(await verifyEcdsaP256(...args)).toEqual({ ok: true, value: { backend: 'webcrypto' } });
    const refuse = vi.spyOn(crypto.subtle, 'importKey').mockRejectedValue(new DOMException('not supported here', 'NotSupportedError'));
    try {
      expect(await verifyEcdsaP256(...args)).toEqual({ ok: true, value: { backend: 'noble' } });
      const bad = await verifyEcdsaP256(args[0], args[1], new Uint8Array(64).fill(1));
      expect(bad.ok ? 'verified' : bad.error.code).toBe('ecdsa-bad-signature');
      const x = load('x25519_test.json').groups[0]!.tests[0]!;
      const agreed = await x25519(hexToBytes(x.private as string), hexToBytes(x.public as string));
      expect(agreed.ok && [agreed.value.backend, bytesToHex(agreed.value.secret)]).toEqual(['noble', x.shared]);
      const forced = await verifyEcdsaP256(...args, { backend: 'webcrypto' });
      expect(forced.ok ? 'verified' : forced.error.code).toBe('ecdsa-bad-public-key');
    } finally {
      refuse.mockRestore();
    }
  });

  it('auto backend uses WebCrypto and agrees with noble on a fresh key pair', async () => {
    const own = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const peer = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as CryptoKeyPair;
    const peerPublic = new Uint8Array(await crypto.subtle.exportKey('raw', peer.publicKey));
    const d = base64url((await crypto.subtle.exportKey('jwk', own.privateKey)).d!)!;
    const viaWebCrypto = await ecdhP256(own.privateKey, peerPublic);
    const viaNoble = await ecdhP256(d, peerPublic, { backend: 'noble' });
    expect(viaWebCrypto.ok && viaNoble.ok).toBe(true);
    if (viaWebCrypto.ok && viaNoble.ok) {
      expect(viaWebCrypto.value.backend).toBe('webcrypto');
      expect(bytesToHex(viaWebCrypto.value.secret)).toBe(bytesToHex(viaNoble.value.secret));
    }
    const compressed = await ecdhP256(d, peerPublic.subarray(0, 33));
    expect(compressed.ok ? 'accepted' : compressed.error.code).toBe('agree-bad-public-key');
  });
});
