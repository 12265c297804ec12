/**
 * docs/protocol/telemetry.md cannot drift from the code: its example blocks are byte for byte what
 * the code makes today (regenerate: npx tsx scripts/telemetry-spec.ts), the examples are right
 * when read back from the document alone (the COSE_Sign1 verifies with the public key printed
 * there, also by python3 cryptography; the MAC with the secret printed there), and the reason
 * table is the console's.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeTelemetry, parseEcoWatt, REFUSAL_REASONS, verifyEcoWattMac } from '../../src/lib/console';
import { bodyProtected, CoseVerifyKey, decodeCoseSign1, sigStructure, verifyCoseSign1 } from '../../src/lib/cose';
import { bytesToHex, hexToBytes } from '../../src/lib/util/bytes';
import { blockBytes, TELEMETRY_EXAMPLE_BLOCK, TELEMETRY_SPEC, telemetryExamples, type TelemetryExamples } from '../../scripts/telemetry-spec';

const spec = readFileSync(TELEMETRY_SPEC, 'utf8');
const blocks = new Map([...spec.matchAll(TELEMETRY_EXAMPLE_BLOCK)].map((match) => [match[1]!, match[2]!.replace(/\n$/, '')]));
let examples: TelemetryExamples;

beforeAll(async () => {
  examples = await telemetryExamples();
});

describe('telemetry.md: the examples are what the code produces', () => {
  it('has exactly the payload, cose and ecowatt blocks, each as the code renders it today', () => {
    expect([...blocks.keys()].sort()).toEqual(['cose', 'ecowatt', 'payload']);
    for (const [name, block] of examples.blocks) expect(blocks.get(name), `${name} (regenerate: npx tsx scripts/telemetry-spec.ts)`).toBe(block);
    expect(bytesToHex(blockBytes(blocks.get('payload')!))).toBe(bytesToHex(examples.payload));
    expect(bytesToHex(blockBytes(blocks.get('cose')!))).toBe(bytesToHex(examples.cose));
  });

  it('is repeatable: the seeded board signs the same bytes again', async () => {
    const again = await telemetryExamples();
    expect(bytesToHex(again.cose)).toBe(bytesToHex(examples.cose));
  });
});

describe('telemetry.md: the examples are right, read from the document alone', () => {
  const payload = () => blockBytes(blocks.get('payload')!);
  const publicKey = () => hexToBytes(/public key \(P-256, SEC1\): ([0-9a-f]{130})/.exec(blocks.get('cose')!)![1]!);

  it('the payload decodes as telemetry', () => {
    const decoded = decodeTelemetry(payload());
    expect(decoded.ok && { deviceId: decoded.value.deviceId, counter: decoded.value.counter, time: decoded.value.time }).toEqual({ deviceId: 'be94903e5b1a22588ed9b4f58fb8b3f3', counter: 1n, time: 1767225600 });
  });

  it('the COSE_Sign1 verifies with the printed public key and carries the payload', async () => {
    const key = CoseVerifyKey.fromPoint('P-256', publicKey());
    if (!key.ok) throw new Error(key.error.message);
    const verified = await verifyCoseSign1(blockBytes(blocks.get('cose')!), key.value, { requireProtectedAlg: true });
    expect(verified.ok && bytesToHex(verified.value.payload)).toBe(bytesToHex(payload()));
  });

  const python = spawnSync('python3', ['-c', 'import cryptography'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!python)(python ? 'python3 cryptography verifies the COSE_Sign1 signature over its Sig_structure' : 'skipped: python3 with cryptography is not installed', () => {
    const message = decodeCoseSign1(blockBytes(blocks.get('cose')!));
    if (!message.ok) throw new Error(message.error.message);
    const tbs = sigStructure(bodyProtected(message.value), new Uint8Array(), message.value.payload!);
    const script = [
      'import sys',
      'from cryptography.hazmat.primitives import hashes',
      'from cryptography.hazmat.primitives.asymmetric import ec',
      'from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature',
      'point, tbs, sig = (bytes.fromhex(a) for a in sys.argv[1:4])',
      'key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)',
      'key.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")), tbs, ec.ECDSA(hashes.SHA256()))',
      'print("valid")',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script, bytesToHex(publicKey()), bytesToHex(tbs), bytesToHex(message.value.signature)], { encoding: 'utf8' });
    expect(run.stdout.trim(), run.stderr).toBe('valid');
  });

  it('the EcoWatt MAC verifies with the printed secret, over nonce ‖ the same payload', async () => {
    const block = blocks.get('ecowatt')!;
    const secret = hexToBytes(/# secret: ([0-9a-f]{64})/.exec(block)![1]!);
    const envelope = parseEcoWatt(blockBytes(block));
    if (!envelope.ok) throw new Error(envelope.error.message);
    expect(bytesToHex(envelope.value.payload)).toBe(bytesToHex(payload()));
    const key = await crypto.subtle.importKey('raw', new Uint8Array(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    expect(await verifyEcoWattMac(envelope.value, key)).toBe(true);
    expect(await verifyEcoWattMac({ ...envelope.value, nonce: 2n }, key)).toBe(false);
  });

  it('the reason table is the console\'s, in order, with the same words', () => {
    const rows = [...spec.matchAll(/^\| `([a-z-]+)` \| (.+) \|$/gm)].map((match) => [match[1]!, match[2]!]);
    expect(rows).toEqual(Object.entries(REFUSAL_REASONS));
  });
});
