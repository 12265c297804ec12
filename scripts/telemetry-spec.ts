/**
 * The byte-exact examples of docs/protocol/telemetry.md, made by code: the telemetry payload, the
 * COSE_Sign1 a seeded simulated board signs around it (keys group `sign`, `fmt: "cose"`;
 * RFC 6979 nonces, so the same bytes every run) and the EcoWatt HMAC envelope of the same
 * payload. tests/unit/telemetry-spec.test.ts fails when a block differs from what the code
 * makes today; `npx tsx scripts/telemetry-spec.ts` rewrites them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeEcoWatt, encodeTelemetry, type Telemetry } from '../src/lib/console';
import { type CoseCborValue, decodeCoseCbor, decodeCoseSign1 } from '../src/lib/cose';
import { connectBoard } from '../src/lib/device';
import { connectSimulatedBoard, createSimulatedDevice, seededRandom } from '../src/lib/sim';
import { bytesToHex, utf8 } from '../src/lib/util/bytes';

export const TELEMETRY_SPEC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/protocol/telemetry.md');
export const TELEMETRY_EXAMPLE_SEED = 'imprint telemetry spec examples';
/** The example's HMAC secret: 32 bytes anyone can recompute. Never a real device's. */
export const EXAMPLE_HMAC_SECRET = sha256(utf8.encode('imprint telemetry example hmac secret'));
export const TELEMETRY_EXAMPLE_BLOCK = /<!-- telemetry-example: ([a-z0-9-]+) -->\n```text\n([\s\S]*?)```/g;

export interface TelemetryExamples {
  telemetry: Telemetry;
  payload: Uint8Array;
  cose: Uint8Array;
  publicKey: Uint8Array;
  ecowatt: Uint8Array;
  /** Document block bodies by name. */
  blocks: Map<string, string>;
}

export async function telemetryExamples(): Promise<TelemetryExamples> {
  const sim = createSimulatedDevice({ serialNumber: 'SIM-0001', keys: { random: seededRandom(TELEMETRY_EXAMPLE_SEED) } });
  const board = await connectBoard(connectSimulatedBoard(sim.board, { baudRate: Infinity }));
  try {
    const info = await board.keys.info();
    const key = await board.keys.generate({ alg: 'p256', id: 1 });
    if (!info.ok || !key.ok) throw new Error('the simulated board did not answer');
    const telemetry: Telemetry = { deviceId: bytesToHex(info.value.deviceId), counter: 1n, time: 1767225600, data: new Map<CoseCborValue, CoseCborValue>([['t', 21.5], ['rh', 40]]) };
    const payload = encodeTelemetry({ ...telemetry, data: { t: 21.5, rh: 40 } });
    const cose = await board.keys.signCose(1, payload);
    if (!cose.ok) throw new Error(cose.error.message);
    const decoded = decodeCoseSign1(cose.value);
    if (!decoded.ok) throw new Error(decoded.error.message);
    const protectedBytes = decoded.value.protectedBytes;
    const hmacKey = await crypto.subtle.importKey('raw', EXAMPLE_HMAC_SECRET, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const ecowatt = await encodeEcoWatt(telemetry.counter, payload, hmacKey);
    const blocks = new Map([
      ['payload', [...hexLines(payload), `# ${diagnostic(payload)}`].join('\n')],
      ['cose', [`# public key (P-256, SEC1): ${bytesToHex(key.value.publicKey)}`, ...hexLines(cose.value), `# 18([h'${bytesToHex(protectedBytes)}' / {1: -7} /, {}, h'…' (the payload above), h'…' (64 bytes r ‖ s)])`].join('\n')],
      ['ecowatt', [`# secret: ${bytesToHex(EXAMPLE_HMAC_SECRET)}`, utf8.decode(ecowatt)].join('\n')],
    ]);
    return { telemetry, payload, cose: cose.value, publicKey: key.value.publicKey, ecowatt, blocks };
  } finally {
    await board.close();
  }
}

function hexLines(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) lines.push(bytesToHex(bytes.subarray(i, i + 16)).replace(/(..)(?!$)/g, '$1 '));
  return lines;
}

function diagnostic(bytes: Uint8Array): string {
  const decoded = decodeCoseCbor(bytes);
  if (!decoded.ok) return 'not CBOR';
  const show = (value: CoseCborValue): string => {
    if (value instanceof Map) return `{${[...value].map(([k, v]) => `${show(k)}: ${show(v)}`).join(', ')}}`;
    if (value instanceof Uint8Array) return `h'${bytesToHex(value)}'`;
    if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
    if (typeof value === 'number' && !Number.isInteger(value)) return value.toString();
    return typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
  };
  return show(decoded.value);
}

/** Pulls the bytes out of a block: hex lines (any line not starting with `#`), or the JSON line. */
export function blockBytes(block: string): Uint8Array {
  const body = block.split('\n').filter((line) => line.length > 0 && !line.startsWith('#'));
  if (body.length === 1 && body[0]!.startsWith('{')) return utf8.encode(body[0]!);
  const hex = body.join('').replace(/\s+/g, '');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { blocks } = await telemetryExamples();
  const seen: string[] = [];
  const text = readFileSync(TELEMETRY_SPEC, 'utf8').replace(TELEMETRY_EXAMPLE_BLOCK, (whole, name: string) => {
    const block = blocks.get(name);
    if (block === undefined) return whole;
    seen.push(name);
    return `<!-- telemetry-example: ${name} -->\n\`\`\`text\n${block}\n\`\`\``;
  });
  writeFileSync(TELEMETRY_SPEC, text);
  process.stdout.write(`${seen.length} example blocks written\n`);
}
