/**
 * The byte-exact examples of docs/protocol/keys-group.md, made by code so the document cannot
 * drift: a scenario of keys-group requests (one or more per command, and the errors), each
 * encoded with our header and CBOR encoder and sent to a board through `exchange`; the answers
 * are recorded as they came. Run against the seeded simulated board (`sim/keys/spec-examples.ts`)
 * the scenario is repeatable to the byte; tests/unit/keys-spec.test.ts checks the document's
 * blocks against it, and `npx tsx scripts/keys-spec.ts` rewrites them.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { type CborMap, type CborValue, decodeCborMap, encodeCbor } from '../smp/cbor';
import { decodeHeader, encodeHeader, SMP_HEADER_SIZE } from '../smp/header';
import { describeCommand, MGMT_OP, SMP_VERSION, type SmpVersion } from '../smp/ids';
import { bytesToHex, concatBytes, hexToBytes, utf8 } from '../util/bytes';
import { KEY_ALG, KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID, SIGN_FORMAT } from './keys-ids';
import { registerKeysGroupNames } from './keys-model';
import { wrapKeyForImport } from './keys-wrap';

/** Sends one request packet (header + CBOR) and resolves with the board's response packet. */
export type PacketExchange = (packet: Uint8Array) => Promise<Uint8Array>;

export interface KeysExample {
  /** The name the document's block carries: `<!-- keys-example: NAME -->`. */
  name: string;
  request: Uint8Array;
  response: Uint8Array;
}

type Answers = ReadonlyMap<string, CborMap>;

interface ExampleStep {
  name: string;
  command: number;
  op: 'read' | 'write';
  version?: SmpVersion;
  payload: CborMap | ((answers: Answers) => Promise<CborMap>);
}

/** The challenge the `sign` example signs: 32 bytes a host would draw fresh. */
export const EXAMPLE_CHALLENGE = sha256(utf8.encode('imprint keys example challenge'));
/** The P-256 private key the `import` example wraps (its public key is in the answer). */
export const EXAMPLE_IMPORTED_SECRET = sha256(utf8.encode('imprint keys example imported key'));
/** Stand-in for a certificate chain: 40 bytes in two chunks (a real chain is DER certificates back to back). */
export const EXAMPLE_CHAIN = concatBytes(new Uint8Array([0x30, 0x26]), sha256(utf8.encode('imprint keys example chain')), new Uint8Array(6).fill(0x5a));
const EXAMPLE_EPHEMERAL_SEED = sha256(utf8.encode('imprint keys example ephemeral'));

const ID = KEYS_MGMT_ID;

async function importPayload(answers: Answers, tamper: boolean): Promise<CborMap> {
  const transportPublicKey = answers.get('transport-key')!.pub as Uint8Array;
  const id = tamper ? 4 : 3;
  const wrap = await wrapKeyForImport({ transportPublicKey, alg: KEY_ALG.P256, secret: EXAMPLE_IMPORTED_SECRET, id, exampleEphemeralSeed: EXAMPLE_EPHEMERAL_SEED });
  if (!wrap.ok) throw new Error(wrap.error.message);
  const ct = wrap.value.ct.slice();
  if (tamper) ct[0]! ^= 0x01;
  return { alg: KEY_ALG.P256, id, enc: wrap.value.enc, ct };
}

/** The scenario, in order: later steps use the keys and the transport key earlier ones made. */
export const KEYS_EXAMPLE_STEPS: readonly ExampleStep[] = [
  { name: 'info', command: ID.INFO, op: 'read', payload: {} },
  { name: 'transport-key', command: ID.TRANSPORT_KEY, op: 'read', payload: {} },
  { name: 'generate-csr', command: ID.GENERATE, op: 'write', payload: { alg: KEY_ALG.P256, id: 1, csr: { subject: 'CN=imprint-sim-0001,serialNumber=SIM-0001' } } },
  { name: 'generate-auto-id', command: ID.GENERATE, op: 'write', payload: { alg: KEY_ALG.X25519 } },
  { name: 'generate-slot-in-use', command: ID.GENERATE, op: 'write', payload: { alg: KEY_ALG.P256, id: 1 } },
  { name: 'public', command: ID.PUBLIC, op: 'read', payload: { id: 1 } },
  { name: 'public-no-such-key', command: ID.PUBLIC, op: 'read', payload: { id: 7 } },
  { name: 'public-no-such-key-v1', command: ID.PUBLIC, op: 'read', version: SMP_VERSION.V1, payload: { id: 7 } },
  { name: 'list', command: ID.LIST, op: 'read', payload: {} },
  { name: 'sign', command: ID.SIGN, op: 'write', payload: { id: 1, msg: EXAMPLE_CHALLENGE } },
  { name: 'csr', command: ID.CSR, op: 'write', payload: { id: 1, subject: 'CN=imprint-sim-0001,O=Example' } },
  { name: 'transport-key-signed', command: ID.TRANSPORT_KEY, op: 'read', payload: { id: 1 } },
  { name: 'cert-store-first', command: ID.CERT, op: 'write', payload: { id: 1, off: 0, len: EXAMPLE_CHAIN.length, data: EXAMPLE_CHAIN.subarray(0, 24) } },
  { name: 'cert-store-last', command: ID.CERT, op: 'write', payload: { id: 1, off: 24, data: EXAMPLE_CHAIN.subarray(24) } },
  { name: 'cert-read', command: ID.CERT, op: 'read', payload: { id: 1, off: 0 } },
  { name: 'import', command: ID.IMPORT, op: 'write', payload: (answers) => importPayload(answers, false) },
  { name: 'import-bad-wrap', command: ID.IMPORT, op: 'write', payload: (answers) => importPayload(answers, true) },
  { name: 'counter-set', command: ID.COUNTER, op: 'write', payload: { value: 1000 } },
  { name: 'counter', command: ID.COUNTER, op: 'read', payload: {} },
  { name: 'counter-rollback', command: ID.COUNTER, op: 'write', payload: { value: 999 } },
  { name: 'tamper-log', command: ID.TAMPER_LOG, op: 'read', payload: { since: 0 } },
  { name: 'destroy', command: ID.DESTROY, op: 'write', payload: { id: 2 } },
  { name: 'lock', command: ID.LOCK, op: 'write', payload: {} },
  { name: 'destroy-locked', command: ID.DESTROY, op: 'write', payload: { id: 3 } },
  // Last, so adding it moved no earlier example: sign still works after lock.
  { name: 'sign-cose', command: ID.SIGN, op: 'write', payload: { id: 1, msg: EXAMPLE_CHALLENGE, fmt: SIGN_FORMAT.COSE } },
];

/** Runs the scenario through `exchange`, numbering requests from seq 0. */
export async function buildKeysExamples(exchange: PacketExchange, group: number = KEYS_MGMT_GROUP_DEFAULT): Promise<KeysExample[]> {
  registerKeysGroupNames(group); // so the comments say keys/info, not group64/0
  const examples: KeysExample[] = [];
  const answers = new Map<string, CborMap>();
  for (const [seq, step] of KEYS_EXAMPLE_STEPS.entries()) {
    const payload = typeof step.payload === 'function' ? await step.payload(answers) : step.payload;
    const body = encodeCbor(payload);
    const header = encodeHeader({
      version: step.version ?? SMP_VERSION.V2,
      op: step.op === 'read' ? MGMT_OP.READ : MGMT_OP.WRITE,
      flags: 0,
      length: body.length,
      group,
      seq,
      command: step.command,
    });
    const request = concatBytes(header, body);
    const response = await exchange(request);
    const decoded = decodeCborMap(response.subarray(SMP_HEADER_SIZE));
    if (!decoded.ok) throw new Error(`${step.name}: the board's answer does not decode (${decoded.error.message})`);
    answers.set(step.name, decoded.value);
    examples.push({ name: step.name, request, response });
  }
  return examples;
}

/** An example block in the document: `<!-- keys-example: NAME -->`, then a fenced `text` block (its body is group 2). */
export const KEYS_EXAMPLE_BLOCK = /<!-- keys-example: ([a-z0-9-]+) -->\n```text\n([\s\S]*?)```/g;

/** Byte strings longer than this are shortened in the diagnostic comment (the hex has them whole). */
const DIAG_BYTES_SHOWN = 16;
const HEX_BYTES_PER_LINE = 16;

/**
 * The document's block for one example: per packet a comment line, the 8 header bytes, the CBOR
 * in lines of 16 bytes, and the payload in CBOR diagnostic notation (RFC 8949 §8).
 */
export function renderKeysExample(example: KeysExample): string {
  return [...renderPacket('request', example.request), ...renderPacket('response', example.response)].join('\n');
}

function renderPacket(label: string, packet: Uint8Array): string[] {
  const header = decodeHeader(packet);
  if (!header.ok) throw new Error(`${label}: ${header.error.message}`);
  const { version, op, length, group, seq, command } = header.value;
  const opName = ['read', 'read response', 'write', 'write response'][op];
  const body = packet.subarray(SMP_HEADER_SIZE);
  const payload = decodeCborMap(body);
  const lines = [`# ${label}: ${describeCommand(group, command)}, ${opName}, SMP v${version + 1}, seq ${seq}, ${length} bytes of CBOR`];
  lines.push(hexLine(packet.subarray(0, SMP_HEADER_SIZE)));
  for (let offset = 0; offset < body.length; offset += HEX_BYTES_PER_LINE) lines.push(hexLine(body.subarray(offset, offset + HEX_BYTES_PER_LINE)));
  lines.push(`# ${payload.ok ? diagnostic(payload.value) : 'not CBOR'}`);
  return lines;
}

function hexLine(bytes: Uint8Array): string {
  return bytesToHex(bytes).replace(/(..)(?!$)/g, '$1 ');
}

/** @example diagnostic({ id: 1, pub: new Uint8Array([4]) }) === `{"id": 1, "pub": h'04'}` */
export function diagnostic(value: CborValue): string {
  if (value instanceof Uint8Array) {
    if (value.length <= DIAG_BYTES_SHOWN) return `h'${bytesToHex(value)}'`;
    return `h'${bytesToHex(value.subarray(0, 8))}…' (${value.length} bytes)`;
  }
  if (Array.isArray(value)) return `[${value.map(diagnostic).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${diagnostic(item)}`).join(', ')}}`;
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

/** Pulls the hex bytes back out of a rendered block: [request, response]. */
export function parseKeysExampleBlock(block: string): [Uint8Array, Uint8Array] {
  const packets: string[] = [];
  for (const line of block.split('\n')) {
    if (/^# (request|response):/.test(line)) packets.push('');
    else if (!line.startsWith('#') && packets.length > 0) packets[packets.length - 1] += line.replace(/\s+/g, '');
  }
  if (packets.length !== 2) throw new Error(`a keys example block has ${packets.length} packets, not 2`);
  return [hexToBytes(packets[0]!), hexToBytes(packets[1]!)];
}
