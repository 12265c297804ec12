/**
 * COSE_Sign1: the COSE working group's published examples (tests/fixtures/cose/, pass and fail)
 * through our decoder and verifier on both backends, then the refusals the console depends on
 * (critical headers, limits, shapes), python3 cryptography as an independent signer and
 * verifier, and fuzzing: nothing throws.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bodyProtected,
  COSE_ALG,
  COSE_HEADER,
  CoseVerifyKey,
  decodeCoseSign1,
  encodeCoseSign1,
  encodeHeaderMap,
  scanCbor,
  sigStructure,
  verifyCoseSign1,
  type CoseErrorCode,
  type CoseHeaderMap,
} from '../../src/lib/cose';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../../src/lib/util/bytes';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/cose/cose-wg');

interface Example {
  title: string;
  fail?: boolean;
  input: { sign0?: { key: Record<string, string>; external?: string }; sign?: { signers: { key: Record<string, string> }[] } };
  intermediates: { ToBeSign_hex?: string };
  output: { cbor: string };
}

function load(file: string): Example {
  return JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Example;
}

/** What our verifier says about each published example (see tests/fixtures/cose/README.md). */
const EXPECTED: Record<string, 'valid' | CoseErrorCode> = {
  'RFC8152/Appendix_C_2_1.json': 'valid',
  'sign1-tests/sign-pass-01.json': 'valid',
  'sign1-tests/sign-pass-02.json': 'valid',
  'sign1-tests/sign-pass-03.json': 'valid',
  'sign1-tests/sign-fail-01.json': 'cose-not-sign1',
  'sign1-tests/sign-fail-02.json': 'cose-bad-signature',
  'sign1-tests/sign-fail-03.json': 'cose-unsupported-algorithm',
  'sign1-tests/sign-fail-04.json': 'cose-unsupported-algorithm',
  'sign1-tests/sign-fail-06.json': 'cose-bad-signature',
  'sign1-tests/sign-fail-07.json': 'cose-bad-signature',
  'ecdsa-examples/ecdsa-sig-01.json': 'valid',
  'ecdsa-examples/ecdsa-sig-02.json': 'valid',
  'ecdsa-examples/ecdsa-sig-03.json': 'valid',
  'ecdsa-examples/ecdsa-sig-04.json': 'cose-algorithm-mismatch',
  'ecdsa-examples/ecdsa-01.json': 'cose-not-sign1',
};

function keyOf(example: Example): CoseVerifyKey {
  const jwk = example.input.sign0?.key ?? example.input.sign!.signers[0]!.key;
  const key = CoseVerifyKey.fromJwk(jwk);
  if (!key.ok) throw new Error(key.error.message);
  return key.value;
}

describe('COSE WG examples', () => {
  it('every copied file has an expectation, and every expectation a file', () => {
    const files = readdirSync(FIXTURES, { recursive: true }).filter((name) => String(name).endsWith('.json')).map((name) => String(name).split(path.sep).join('/'));
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [file, expected] of Object.entries(EXPECTED)) {
    for (const backend of ['webcrypto', 'noble'] as const) {
      it(`${file} (${backend}): ${expected}`, async () => {
        const example = load(file);
        expect(!!example.fail, 'the file says fail where we expect a refusal').toBe(expected !== 'valid' && file.startsWith('sign1-tests/'));
        const bytes = hexToBytes(example.output.cbor);
        const externalAad = example.input.sign0?.external ? hexToBytes(example.input.sign0.external) : undefined;
        const verified = await verifyCoseSign1(bytes, keyOf(example), { backend, ...(externalAad ? { externalAad } : {}) });
        if (expected === 'valid') {
          expect(verified.ok, verified.ok ? '' : verified.error.message).toBe(true);
          if (verified.ok) {
            expect(utf8.decode(verified.value.payload)).toBe('This is the content.');
            expect(verified.value.backend).toBe(backend);
          }
        } else {
          expect(verified.ok).toBe(false);
          if (!verified.ok) expect(verified.error.code).toBe(expected);
        }
      });
    }
  }

  it('our Sig_structure is the ToBeSign bytes the examples list', () => {
    for (const file of Object.keys(EXPECTED)) {
      const example = load(file);
      const decoded = decodeCoseSign1(hexToBytes(example.output.cbor));
      if (!decoded.ok || !example.intermediates.ToBeSign_hex || example.fail) continue;
      const aad = example.input.sign0?.external ? hexToBytes(example.input.sign0.external) : new Uint8Array();
      expect(bytesToHex(sigStructure(bodyProtected(decoded.value), aad, decoded.value.payload!)), file).toBe(example.intermediates.ToBeSign_hex.toLowerCase());
    }
  });

  it('sign-pass-02 needs its external AAD', async () => {
    const example = load('sign1-tests/sign-pass-02.json');
    const verified = await verifyCoseSign1(hexToBytes(example.output.cbor), keyOf(example));
    expect(verified.ok ? 'valid' : verified.error.code).toBe('cose-bad-signature');
  });

  it('sign-pass-01 (alg unprotected) is refused when the profile requires a protected alg', async () => {
    const example = load('sign1-tests/sign-pass-01.json');
    const verified = await verifyCoseSign1(hexToBytes(example.output.cbor), keyOf(example), { requireProtectedAlg: true });
    expect(verified.ok ? 'valid' : verified.error.code).toBe('cose-bad-header');
  });

  it('sign-pass-03 decodes as untagged, the RFC example as tagged', () => {
    const untagged = decodeCoseSign1(hexToBytes(load('sign1-tests/sign-pass-03.json').output.cbor));
    const tagged = decodeCoseSign1(hexToBytes(load('RFC8152/Appendix_C_2_1.json').output.cbor));
    expect(untagged.ok && !untagged.value.tagged).toBe(true);
    expect(tagged.ok && tagged.value.tagged).toBe(true);
    if (tagged.ok) expect(tagged.value.unprotectedHeader.get(COSE_HEADER.KID)).toEqual(utf8.encode('11'));
  });
});

// A P-256 key of our own, for messages the published set does not have.
const secret = hexToBytes('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
const point = p256.getPublicKey(secret, false);
const ourKey = (() => {
  const key = CoseVerifyKey.fromPoint('P-256', point);
  if (!key.ok) throw new Error(key.error.message);
  return key.value;
})();

function signed(protectedHeader: CoseHeaderMap, payload: Uint8Array, unprotected: CoseHeaderMap = new Map(), aad = new Uint8Array()): Uint8Array {
  const protectedBytes = protectedHeader.size === 0 ? new Uint8Array() : encodeHeaderMap(protectedHeader);
  const signature = p256.sign(sigStructure(protectedBytes, aad, payload), secret);
  return encodeCoseSign1({ protectedBytes, unprotectedHeader: unprotected, payload, signature });
}

async function codeOf(bytes: Uint8Array, options = {}): Promise<string> {
  const verified = await verifyCoseSign1(bytes, ourKey, options);
  return verified.ok ? 'valid' : verified.error.code;
}

describe('COSE_Sign1 refusals', () => {
  const payload = utf8.encode('telemetry');

  it('accepts our own ES256 message, tagged and untagged, on both backends', async () => {
    const bytes = signed(new Map([[COSE_HEADER.ALG, COSE_ALG.ES256]]), payload);
    expect(bytes[0]).toBe(0xd2);
    expect(await codeOf(bytes)).toBe('valid');
    expect(await codeOf(bytes, { backend: 'noble' })).toBe('valid');
    expect(await codeOf(bytes.subarray(1))).toBe('valid');
  });

  it('refuses a critical header parameter it does not understand, and honours one it does', async () => {
    expect(await codeOf(signed(new Map<number | string, never>([[COSE_HEADER.ALG, COSE_ALG.ES256 as never], [COSE_HEADER.CRIT, [99] as never], [99, 1 as never]]), payload))).toBe('cose-unknown-critical');
    expect(await codeOf(signed(new Map<number | string, never>([[COSE_HEADER.ALG, COSE_ALG.ES256 as never], [COSE_HEADER.CRIT, ['exp'] as never], ['exp', 1 as never]]), payload))).toBe('cose-unknown-critical');
    expect(await codeOf(signed(new Map<number | string, never>([[COSE_HEADER.ALG, COSE_ALG.ES256 as never], [COSE_HEADER.CRIT, [COSE_HEADER.CONTENT_TYPE] as never], [COSE_HEADER.CONTENT_TYPE, 60 as never]]), payload))).toBe('valid');
  });

  it('refuses malformed crit and overlapping buckets', async () => {
    const alg = (extra: [number, never][]) => new Map<number, never>([[COSE_HEADER.ALG, COSE_ALG.ES256 as never], ...extra]);
    expect(await codeOf(signed(alg([[COSE_HEADER.CRIT, [] as never]]), payload))).toBe('cose-bad-header');
    expect(await codeOf(signed(alg([[COSE_HEADER.CRIT, [COSE_HEADER.KID] as never]]), payload))).toBe('cose-bad-header');
    expect(await codeOf(signed(alg([]), payload, new Map([[COSE_HEADER.CRIT, [99]]])))).toBe('cose-bad-header');
    expect(await codeOf(signed(alg([]), payload, new Map([[COSE_HEADER.ALG, COSE_ALG.ES256]])))).toBe('cose-bad-header');
  });

  it('refuses bytes that are not CBOR, not a Sign1, too large or too deep', async () => {
    expect(await codeOf(new Uint8Array())).toBe('cose-not-cbor');
    expect(await codeOf(utf8.encode('{"not":"cbor"}'))).toBe('cose-not-cbor');
    expect(await codeOf(hexToBytes('ff'))).toBe('cose-not-cbor');
    expect(await codeOf(hexToBytes('d2'))).toBe('cose-not-cbor');
    expect(await codeOf(hexToBytes('83404040'))).toBe('cose-not-sign1');
    expect(await codeOf(hexToBytes('d2a0'))).toBe('cose-not-sign1');
    expect(await codeOf(hexToBytes('8440a04040'))).toBe('cose-unsupported-algorithm');
    const good = signed(new Map([[COSE_HEADER.ALG, COSE_ALG.ES256]]), payload);
    expect(await codeOf(concatBytes(good, new Uint8Array([0])))).toBe('cose-not-cbor');
    expect(await codeOf(new Uint8Array(1024 * 1024))).toBe('cose-too-large');
    const deep = concatBytes(new Uint8Array(10_000).fill(0x81), new Uint8Array([0]));
    expect(await codeOf(deep, { limits: { maxBytes: 1 << 20, maxDepth: 16, maxItems: 1 << 20 } })).toBe('cose-too-large');
    // A map claiming 2^32 entries in 10 bytes is malformed, not an allocation.
    expect(await codeOf(hexToBytes('d2845affffffff00'))).toBe('cose-not-cbor');
  });

  it('refuses a detached payload unless it is supplied, and checks the supplied one', async () => {
    const protectedBytes = encodeHeaderMap(new Map([[COSE_HEADER.ALG, COSE_ALG.ES256]]));
    const signature = p256.sign(sigStructure(protectedBytes, new Uint8Array(), payload), secret);
    const detached = concatBytes(hexToBytes('d284'), hexToBytes('43'), protectedBytes, hexToBytes('a0f6'), hexToBytes('5840'), signature);
    expect(await codeOf(detached)).toBe('cose-detached-payload');
    expect(await codeOf(detached, { detachedPayload: payload })).toBe('valid');
    expect(await codeOf(detached, { detachedPayload: utf8.encode('other') })).toBe('cose-bad-signature');
  });

  it('refuses a flipped bit anywhere in a valid message', async () => {
    const good = signed(new Map([[COSE_HEADER.ALG, COSE_ALG.ES256]]), payload);
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i]! ^= 0x01;
      expect(await codeOf(bad), `byte ${i}`).not.toBe('valid');
    }
  });

  it('reads keys from JWK, SPKI PEM and refuses points off the curve', () => {
    const jwk = { kty: 'EC', crv: 'P-256', x: Buffer.from(point.subarray(1, 33)).toString('base64url'), y: Buffer.from(point.subarray(33)).toString('base64url') };
    const fromJwk = CoseVerifyKey.fromText(JSON.stringify(jwk));
    expect(fromJwk.ok && bytesToHex(fromJwk.value.point)).toBe(bytesToHex(point));
    const spki = concatBytes(hexToBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200'), point);
    const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(spki).toString('base64')}\n-----END PUBLIC KEY-----\n`;
    const fromPem = CoseVerifyKey.fromText(pem);
    expect(fromPem.ok && bytesToHex(fromPem.value.point)).toBe(bytesToHex(point));
    const off = point.slice();
    off[64]! ^= 1;
    expect(CoseVerifyKey.fromPoint('P-256', off).ok).toBe(false);
    expect(CoseVerifyKey.fromText('not a key').ok).toBe(false);
  });

  it('never throws on arbitrary or mutated input', async () => {
    const good = signed(new Map([[COSE_HEADER.ALG, COSE_ALG.ES256]]), payload);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
        const bytes = good.slice();
        bytes[at]! ^= xor;
        return bytes;
      })), async (bytes) => {
        scanCbor(bytes);
        decodeCoseSign1(bytes);
        const verified = await verifyCoseSign1(bytes, ourKey);
        expect(typeof verified.ok).toBe('boolean');
      }),
      { numRuns: 400 },
    );
  });
});

const python = ['python3'].find((candidate) => spawnSync(candidate, ['-c', 'import cryptography'], { encoding: 'utf8' }).status === 0);

/** Signs and verifies with python3 `cryptography`: an implementation nobody here wrote. */
const PYTHON_ECDSA = String.raw`
import json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.exceptions import InvalidSignature
curves = {"P-256": (ec.SECP256R1(), hashes.SHA256(), 32), "P-384": (ec.SECP384R1(), hashes.SHA384(), 48), "P-521": (ec.SECP521R1(), hashes.SHA512(), 66)}
out = []
for job in json.load(sys.stdin):
    curve, digest, size = curves[job["curve"]]
    if job["op"] == "sign":
        key = ec.generate_private_key(curve)
        r, s = decode_dss_signature(key.sign(bytes.fromhex(job["tbs"]), ec.ECDSA(digest)))
        point = key.public_key().public_bytes(encoding=__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.X962, format=__import__("cryptography.hazmat.primitives.serialization", fromlist=["PublicFormat"]).PublicFormat.UncompressedPoint)
        out.append({"point": point.hex(), "sig": (r.to_bytes(size, "big") + s.to_bytes(size, "big")).hex()})
    else:
        key = ec.EllipticCurvePublicKey.from_encoded_point(curve, bytes.fromhex(job["point"]))
        sig = bytes.fromhex(job["sig"])
        try:
            key.verify(encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")), bytes.fromhex(job["tbs"]), ec.ECDSA(digest))
            out.append({"valid": True})
        except InvalidSignature:
            out.append({"valid": False})
json.dump(out, sys.stdout)
`;

function runPython(jobs: unknown[]): Record<string, unknown>[] {
  const run = spawnSync(python!, ['-c', PYTHON_ECDSA], { input: JSON.stringify(jobs), encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>[];
}

describe('cross-check with python3 cryptography', () => {
  it.skipIf(!python)(python ? 'python signs ES256/ES384/ES512 Sig_structures we build; we verify them (and refuse the wrong algorithm)' : 'skipped: python3 with cryptography is not installed', async () => {
    const cases = [
      { curve: 'P-256', alg: COSE_ALG.ES256 },
      { curve: 'P-384', alg: COSE_ALG.ES384 },
      { curve: 'P-521', alg: COSE_ALG.ES512 },
    ] as const;
    const payload = utf8.encode('cross-checked');
    const protectedFor = (alg: number) => encodeHeaderMap(new Map([[COSE_HEADER.ALG, alg]]));
    const answers = runPython(cases.map(({ curve, alg }) => ({ op: 'sign', curve, tbs: bytesToHex(sigStructure(protectedFor(alg), new Uint8Array(), payload)) })));
    for (const [i, { curve, alg }] of cases.entries()) {
      const key = CoseVerifyKey.fromPoint(curve, hexToBytes(answers[i]!.point as string));
      if (!key.ok) throw new Error(key.error.message);
      const message = encodeCoseSign1({ protectedBytes: protectedFor(alg), payload, signature: hexToBytes(answers[i]!.sig as string) });
      for (const backend of ['webcrypto', 'noble'] as const) {
        const verified = await verifyCoseSign1(message, key.value, { backend });
        expect(verified.ok, `${curve} ${backend}: ${verified.ok ? '' : verified.error.message}`).toBe(true);
      }
      const wrongAlg = encodeCoseSign1({ protectedBytes: protectedFor(alg === COSE_ALG.ES256 ? COSE_ALG.ES384 : COSE_ALG.ES256), payload, signature: hexToBytes(answers[i]!.sig as string) });
      const refused = await verifyCoseSign1(wrongAlg, key.value);
      expect(refused.ok ? 'valid' : refused.error.code).toBe('cose-algorithm-mismatch');
    }
  });

  it.skipIf(!python)(python ? 'python verifies the ES256 signatures our simulated board makes (noble), and refuses a changed one' : 'skipped: python3 with cryptography is not installed', () => {
    const tbs = sigStructure(encodeHeaderMap(new Map([[COSE_HEADER.ALG, COSE_ALG.ES256]])), new Uint8Array(), utf8.encode('board'));
    const sig = p256.sign(tbs, secret);
    const bad = sig.slice();
    bad[5]! ^= 1;
    const answers = runPython([
      { op: 'verify', curve: 'P-256', point: bytesToHex(point), tbs: bytesToHex(tbs), sig: bytesToHex(sig) },
      { op: 'verify', curve: 'P-256', point: bytesToHex(point), tbs: bytesToHex(tbs), sig: bytesToHex(bad) },
    ]);
    expect(answers).toEqual([{ valid: true }, { valid: false }]);
  });
});
