/**
 * `npm run -s cose:verify -- --key KEY [--aad HEX] FILE`
 *
 * Verifies one COSE_Sign1 message (RFC 9052; the file holds raw CBOR, or the same as hex text)
 * with the same code the console uses (src/lib/cose): ES256, ES384 or ES512 as the key's curve
 * demands. KEY is a public JWK (JSON), a PUBLIC KEY PEM, or a CERTIFICATE PEM (its key).
 * Prints the payload as JSON (CBOR decoded; else UTF-8 text as a string; else `{"hex": …}`).
 *
 * Exit status: 0 valid (payload on stdout), 1 a COSE_Sign1 that does not verify (bad signature,
 * algorithm not the key's, unknown critical header, malformed header; the reason on stderr),
 * 2 the input is not a COSE_Sign1 at all, 3 bad usage or an unreadable file or key.
 */
import { readFile } from 'node:fs/promises';
import { toJsonValue } from '../../lib/console/telemetry';
import { CoseVerifyKey, decodeCoseCbor, NOT_SIGN1_CODES, verifyCoseSign1 } from '../../lib/cose';
import { parseCertificate } from '../../lib/pki';
import { bytesToHex, hexToBytes, utf8 } from '../../lib/util/bytes';

const USAGE = 'usage: npm run -s cose:verify -- --key <JWK or PEM file> [--aad <hex>] <file>';
export const EXIT = { VALID: 0, INVALID: 1, NOT_SIGN1: 2, USAGE: 3 } as const;
/** Larger input is refused before reading it whole (the verifier's own limit is 64 KiB). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

interface Parsed {
  key: string;
  aad?: string;
  file: string;
}

function parseArgs(argv: string[]): Parsed | string {
  const args = argv.filter((arg) => arg !== '--');
  let key: string | undefined;
  let aad: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--key' || arg === '--aad') {
      const value = args[++i];
      if (value === undefined) return `${arg} needs a value`;
      if (arg === '--key') key = value;
      else aad = value;
    } else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else files.push(arg);
  }
  if (!key) return '--key is required';
  if (files.length !== 1) return `expected one message file, got ${files.length}`;
  return { key, file: files[0]!, ...(aad !== undefined ? { aad } : {}) };
}

async function readKey(path: string): Promise<CoseVerifyKey | string> {
  const text = await readFile(path, 'utf8');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const certificate = parseCertificate(text);
    if (!certificate.ok) return certificate.error.message;
    const key = CoseVerifyKey.fromSpki(certificate.value.publicKey.spki);
    return key.ok ? key.value : key.error.message;
  }
  const key = CoseVerifyKey.fromText(text);
  return key.ok ? key.value : key.error.message;
}

/** Hex text (spaces and newlines allowed) or raw bytes. */
function messageBytes(raw: Uint8Array): Uint8Array {
  const text = utf8.decode(raw).trim();
  if (text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F\s]+$/.test(text)) {
    const hex = text.replace(/\s+/g, '');
    if (hex.length % 2 === 0) return hexToBytes(hex);
  }
  return raw;
}

function payloadJson(payload: Uint8Array): unknown {
  const cbor = decodeCoseCbor(payload);
  if (cbor.ok) return toJsonValue(cbor.value);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { hex: bytesToHex(payload) };
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(`${USAGE}\nExit status: 0 valid (payload as JSON on stdout), 1 signature or algorithm wrong, 2 not a COSE_Sign1, 3 bad usage.\n`);
    return EXIT.VALID;
  }
  const parsed = parseArgs(argv);
  if (typeof parsed === 'string') {
    process.stderr.write(`cose:verify: ${parsed}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  let key: CoseVerifyKey | string;
  let raw: Uint8Array;
  try {
    key = await readKey(parsed.key);
    raw = new Uint8Array(await readFile(parsed.file));
  } catch (caught) {
    process.stderr.write(`cose:verify: cannot read ${caught instanceof Error ? caught.message : String(caught)}\n`);
    return EXIT.USAGE;
  }
  if (typeof key === 'string') {
    process.stderr.write(`cose:verify: ${parsed.key}: ${key}\n`);
    return EXIT.USAGE;
  }
  if (raw.length > MAX_FILE_BYTES) {
    process.stderr.write(`cose:verify: cose-too-large: ${parsed.file} is ${raw.length} bytes; not a COSE_Sign1 message\n`);
    return EXIT.NOT_SIGN1;
  }
  let externalAad: Uint8Array | undefined;
  if (parsed.aad !== undefined) {
    if (!/^([0-9a-fA-F]{2})*$/.test(parsed.aad)) {
      process.stderr.write('cose:verify: --aad must be hex\n');
      return EXIT.USAGE;
    }
    externalAad = hexToBytes(parsed.aad);
  }
  const verified = await verifyCoseSign1(messageBytes(raw), key, externalAad ? { externalAad } : {});
  if (!verified.ok) {
    process.stderr.write(`cose:verify: ${verified.error.code}: ${verified.error.message}\n`);
    return NOT_SIGN1_CODES.has(verified.error.code) ? EXIT.NOT_SIGN1 : EXIT.INVALID;
  }
  process.stdout.write(`${JSON.stringify(payloadJson(verified.value.payload))}\n`);
  process.stderr.write(`cose:verify: valid ${verified.value.algorithm.name} signature by the ${key.curve} key (${verified.value.message.tagged ? 'tagged' : 'untagged'} COSE_Sign1)\n`);
  return EXIT.VALID;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (caught: unknown) => {
    process.stderr.write(`cose:verify: ${caught instanceof Error ? (caught.stack ?? caught.message) : String(caught)}\n`);
    process.exitCode = EXIT.USAGE;
  },
);
