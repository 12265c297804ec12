/**
 * docs/protocol/keys-group.md cannot drift from the code: every byte-exact example block equals
 * what the scenario (src/lib/device/keys-examples.ts) produces against the seeded simulated board
 * today, byte for byte; the command and error tables match keys-ids.ts; and the examples are
 * themselves right — the CSR verifies with openssl, the signature with the public key the
 * board gave, the imported key's public key with the secret that was sealed.
 * Regenerate the blocks with `npx tsx scripts/keys-spec.ts`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { CoseVerifyKey, verifyCoseSign1 } from '../../src/lib/cose';
import {
  EXAMPLE_CHALLENGE,
  EXAMPLE_IMPORTED_SECRET,
  KEYS_EXAMPLE_BLOCK,
  type KeysExample,
  parseKeysExampleBlock,
  renderKeysExample,
} from '../../src/lib/device/keys-examples';
import { KEYS_MGMT_ERR, KEYS_MGMT_ERR_V1, KEYS_MGMT_ID } from '../../src/lib/device/keys-ids';
import { importInfo } from '../../src/lib/device/keys-wrap';
import { keysSpecExamples } from '../../src/lib/sim/keys/spec-examples';
import { decodeCborMap } from '../../src/lib/smp/cbor';
import { decodeHeader, SMP_HEADER_SIZE } from '../../src/lib/smp/header';
import { MGMT_ERR } from '../../src/lib/smp/ids';
import { bytesToBase64, bytesToHex } from '../../src/lib/util/bytes';

const SPEC_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/protocol/keys-group.md');
const spec = readFileSync(SPEC_PATH, 'utf8');
const blocks = new Map<string, string>();
const blockNames: string[] = [];
for (const match of spec.matchAll(KEYS_EXAMPLE_BLOCK)) {
  blockNames.push(match[1]!);
  blocks.set(match[1]!, match[2]!.replace(/\n$/, ''));
}

let examples: KeysExample[] = [];
const byName = (name: string) => examples.find((example) => example.name === name)!;
const payloadOf = (packet: Uint8Array) => {
  const decoded = decodeCborMap(packet.subarray(SMP_HEADER_SIZE));
  if (!decoded.ok) throw new Error(decoded.error.message);
  return decoded.value;
};

beforeAll(async () => {
  examples = await keysSpecExamples();
});

describe('keys-group.md: the examples are what the code produces', () => {
  it('names every example the code makes, once each, and no other', () => {
    expect(blockNames.length).toBeGreaterThanOrEqual(14);
    expect(new Set(blockNames).size).toBe(blockNames.length);
    expect([...blockNames].sort()).toEqual(examples.map((example) => example.name).sort());
  });

  it('each block is byte for byte the encoded request and the board\'s response (regenerate: npx tsx scripts/keys-spec.ts)', () => {
    for (const example of examples) {
      const block = blocks.get(example.name);
      expect(block, example.name).toBeDefined();
      const [request, response] = parseKeysExampleBlock(block!);
      expect(bytesToHex(request), `${example.name} request`).toBe(bytesToHex(example.request));
      expect(bytesToHex(response), `${example.name} response`).toBe(bytesToHex(example.response));
      expect(block, `${example.name} comments`).toBe(renderKeysExample(example));
    }
  });

  it('covers every command id, both ops of cert and counter, and answers to each request', () => {
    const seen = new Set<string>();
    for (const example of examples) {
      const request = decodeHeader(example.request);
      const response = decodeHeader(example.response);
      if (!request.ok || !response.ok) throw new Error(`${example.name}: bad header`);
      expect(response.value).toMatchObject({ group: 64, seq: request.value.seq, command: request.value.command, op: request.value.op + 1, version: request.value.version });
      seen.add(`${request.value.command}/${request.value.op}`);
    }
    for (const id of Object.values(KEYS_MGMT_ID)) expect([...seen].some((key) => key.startsWith(`${id}/`)), `command ${id}`).toBe(true);
    for (const id of [KEYS_MGMT_ID.CERT, KEYS_MGMT_ID.COUNTER]) expect(seen.has(`${id}/0`) && seen.has(`${id}/2`)).toBe(true);
  });

  it('shows errors in both forms', () => {
    expect(payloadOf(byName('public-no-such-key').response)).toEqual({ err: { group: 64, rc: KEYS_MGMT_ERR.NO_SUCH_KEY } });
    expect(payloadOf(byName('public-no-such-key-v1').response)).toEqual({ rc: MGMT_ERR.ENOENT });
    for (const [name, code] of [
      ['generate-slot-in-use', KEYS_MGMT_ERR.SLOT_IN_USE],
      ['import-bad-wrap', KEYS_MGMT_ERR.BAD_WRAP],
      ['counter-rollback', KEYS_MGMT_ERR.COUNTER_ROLLBACK],
      ['destroy-locked', KEYS_MGMT_ERR.LOCKED],
    ] as const) {
      expect(payloadOf(byName(name).response), name).toEqual({ err: { group: 64, rc: code } });
    }
  });

  it('is repeatable: a second run gives the same bytes', async () => {
    const again = await keysSpecExamples();
    expect(again.map((example) => bytesToHex(example.response))).toEqual(examples.map((example) => bytesToHex(example.response)));
  });
});

describe('keys-group.md: the examples are right', () => {
  it('the signature verifies against the public key generate returned', () => {
    const pub = payloadOf(byName('generate-csr').response).pub as Uint8Array;
    const sig = payloadOf(byName('sign').response).sig as Uint8Array;
    expect(p256.verify(sig, EXAMPLE_CHALLENGE, pub, { lowS: false })).toBe(true);
  });

  it('the COSE_Sign1 (fmt "cose") verifies with that public key and carries the challenge', async () => {
    const pub = payloadOf(byName('generate-csr').response).pub as Uint8Array;
    const key = CoseVerifyKey.fromPoint('P-256', pub);
    if (!key.ok) throw new Error(key.error.message);
    const verified = await verifyCoseSign1(payloadOf(byName('sign-cose').response).sig as Uint8Array, key.value, { requireProtectedAlg: true });
    expect(verified.ok && verified.value.message.tagged && verified.value.algorithm.name).toBe('ES256');
    expect(verified.ok && bytesToHex(verified.value.payload)).toBe(bytesToHex(EXAMPLE_CHALLENGE));
  });

  it('the imported key is the one that was sealed', () => {
    expect(payloadOf(byName('import').response).pub).toEqual(p256.getPublicKey(EXAMPLE_IMPORTED_SECRET, false));
  });

  it('the info bytes the text spells out are importInfo(3, -, p256)', () => {
    expect(spec).toContain('`696d7072696e74206b65797320696d706f7274207631 00 00000003 00000000 70323536`');
    expect(bytesToHex(importInfo(3, undefined, 'p256'))).toBe('696d7072696e74206b65797320696d706f7274207631' + '00' + '00000003' + '00000000' + '70323536');
  });

  const openssl = ['/usr/bin/openssl', 'openssl'].find((candidate) => spawnSync(candidate, ['version']).status === 0);
  it.skipIf(!openssl)(openssl ? 'both CSRs verify with openssl req -verify' : 'both CSRs verify with openssl — skipped, openssl is not installed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-spec-'));
    try {
      for (const name of ['generate-csr', 'csr']) {
        const der = payloadOf(byName(name).response).csr as Uint8Array;
        const file = path.join(dir, `${name}.pem`);
        writeFileSync(file, `-----BEGIN CERTIFICATE REQUEST-----\n${bytesToBase64(der).match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`);
        const run = spawnSync(openssl!, ['req', '-in', file, '-verify', '-noout']);
        expect(run.status, `${name}: ${run.stderr.toString()}`).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('keys-group.md: the tables match keys-ids.ts', () => {
  it('the command table gives each command its id and op', () => {
    const rows = [...spec.matchAll(/^\| ([a-z-]+(?: \((?:store|read|write)\))?) \| (\d+) \| (read|write) \|/gm)].map((match) => [match[1]!, Number(match[2]), match[3]!]);
    const expected: [string, number, string][] = [
      ['info', KEYS_MGMT_ID.INFO, 'read'],
      ['generate', KEYS_MGMT_ID.GENERATE, 'write'],
      ['import', KEYS_MGMT_ID.IMPORT, 'write'],
      ['transport-key', KEYS_MGMT_ID.TRANSPORT_KEY, 'read'],
      ['public', KEYS_MGMT_ID.PUBLIC, 'read'],
      ['list', KEYS_MGMT_ID.LIST, 'read'],
      ['destroy', KEYS_MGMT_ID.DESTROY, 'write'],
      ['csr', KEYS_MGMT_ID.CSR, 'write'],
      ['sign', KEYS_MGMT_ID.SIGN, 'write'],
      ['cert (store)', KEYS_MGMT_ID.CERT, 'write'],
      ['cert (read)', KEYS_MGMT_ID.CERT, 'read'],
      ['counter (read)', KEYS_MGMT_ID.COUNTER, 'read'],
      ['counter (write)', KEYS_MGMT_ID.COUNTER, 'write'],
      ['tamper-log', KEYS_MGMT_ID.TAMPER_LOG, 'read'],
      ['lock', KEYS_MGMT_ID.LOCK, 'write'],
    ];
    expect(rows).toEqual(expected);
  });

  it('the error table gives each code its v2 rc and v1 rc', () => {
    const rows = [...spec.matchAll(/^\| (\d+) \| `([A-Z_]+)` \| (\d+)/gm)].map((match) => [match[2]!, Number(match[1]), Number(match[3])]);
    const expected = Object.entries(KEYS_MGMT_ERR).map(([name, rc]) => [name, rc, KEYS_MGMT_ERR_V1[rc]]);
    expect(rows).toEqual(expected);
  });
});
