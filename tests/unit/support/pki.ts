/**
 * Helpers shared by the pki-*.test.ts files: device keys and CSRs made with WebCrypto and
 * @peculiar/x509 (as a board's CSR would arrive), hand-built chains for the failure cases
 * `createCa` never produces, byte flipping, and an openssl runner over temp files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildCertificate, type CertificateProfile, randomSerialNumber, wholeSeconds } from '../../../src/lib/pki/profile';
import { ECDSA_SHA256 } from '../../../src/lib/pki/ecdsa';
import { parseCertificate, type ParsedCertificate } from '../../../src/lib/pki/parse';
import { encodePem } from '../../../src/lib/pki/pem';
import { x509 } from '../../../src/lib/pki/x509';

export const OPENSSL = '/usr/bin/openssl';
export const opensslAvailable = existsSync(OPENSSL);

export async function deviceKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

export async function rawPublicKey(keys: CryptoKeyPair): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
}

/** A PKCS#10 CSR signed by `keys`, as a board would send it. */
export async function makeCsr(keys: CryptoKeyPair, name = 'CN=board'): Promise<Uint8Array> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: ECDSA_SHA256 });
  return new Uint8Array(csr.rawData);
}

/** A copy of `bytes` with one byte changed. */
export function flipByte(bytes: Uint8Array, index: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  const at = index < 0 ? copy.length + index : index;
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

/** Offset of `text`'s UTF-8 bytes inside `bytes` (for flipping a byte of a name). */
export function indexOfText(bytes: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

export interface Node {
  keys: CryptoKeyPair;
  der: Uint8Array;
  parsed: ParsedCertificate;
}

/** One certificate of a hand-built chain: `profile` for `cn`, signed by `issuer` (or self-signed). */
export async function makeNode(cn: string, profile: CertificateProfile, issuer?: Node, validity?: { notBefore: Date; notAfter: Date }): Promise<Node> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  const now = wholeSeconds(new Date());
  const der = await buildCertificate({
    profile,
    subject: [{ '2.5.4.3': [{ utf8String: cn }] }],
    issuer: issuer ? { name: issuer.parsed.subject.der, publicKey: issuer.parsed.publicKey.spki, ...(issuer.parsed.extensions.subjectKeyId ? { keyId: issuer.parsed.extensions.subjectKeyId } : {}) } : 'self',
    publicKey: spki,
    signingKey: (issuer ?? { keys }).keys.privateKey,
    serialNumber: randomSerialNumber(),
    notBefore: validity?.notBefore ?? now,
    notAfter: validity?.notAfter ?? new Date(now.getTime() + 365 * 86_400_000),
  });
  const parsed = parseCertificate(der);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return { keys, der, parsed: parsed.value };
}

export async function pkcs8Pem(key: CryptoKey): Promise<string> {
  return encodePem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', key)));
}

/** A scratch directory for openssl; `run` executes openssl in it and returns its exit status and stdout+stderr. */
export function opensslWorkspace(): { dir: string; write(name: string, data: string | Uint8Array): string; read(name: string): Buffer; run(...args: string[]): { status: number | null; output: string }; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'imprint-pki-'));
  return {
    dir,
    write(name, data) {
      const file = path.join(dir, name);
      writeFileSync(file, data);
      return file;
    },
    read: (name) => readFileSync(path.join(dir, name)),
    run: (...args) => {
      const result = spawnSync(OPENSSL, args, { cwd: dir, encoding: 'utf8' });
      return { status: result.status, output: `${result.stdout}${result.stderr}` };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
