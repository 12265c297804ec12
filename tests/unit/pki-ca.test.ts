/**
 * Creating a CA, issuing device certificates (from a CSR and from a bare public key), subject
 * templates, and chain verification with one test per failure reason. Hand-built chains (support/pki.ts)
 * cover what `createCa` never makes: a non-CA issuer, too long a path, wrong key usage, P-384.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  type CertificateAuthority,
  createCa,
  type ChainErrorCode,
  issueDeviceCertificate,
  parseCertificate,
  parseCsr,
  type ParsedCertificate,
  renderSubject,
  spkiFingerprint,
  verifyChain,
  verifyCsr,
  PROFILES,
} from '../../src/lib/pki';
import { ECDSA_SHA256 } from '../../src/lib/pki/ecdsa';
import { x509 } from '../../src/lib/pki/x509';
import { p256 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { buildCsr, parseSubject } from '../../src/lib/sim/keys/csr';
import { deviceKeys, flipByte, indexOfText, makeCsr, makeNode, rawPublicKey } from './support/pki';

const YEAR_MS = 365 * 86_400_000;
const TEMPLATE = 'CN={deviceId}, serialNumber={boardSerial}, O={org}';
const VALUES = { deviceId: 'dev-0001', boardSerial: 'A1B2C3', org: 'Acme' };

function parsed(der: Uint8Array): ParsedCertificate {
  const result = parseCertificate(der);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

async function newCa(label = 'Imprint'): Promise<CertificateAuthority> {
  const created = await createCa({ label, organization: 'Acme' });
  if (!created.ok) throw new Error(created.error.message);
  return created.value.ca;
}

let ca: CertificateAuthority;
let root: ParsedCertificate;
let intermediate: ParsedCertificate;
beforeAll(async () => {
  ca = await newCa();
  root = parsed(ca.root.certificate);
  intermediate = parsed(ca.intermediate.certificate);
});

describe('createCa', () => {
  it('makes a self-signed root: CA:true (critical), keyCertSign+cRLSign (critical), SKI, 20 years', () => {
    expect(root.selfIssued).toBe(true);
    expect(root.subject.text).toBe('CN=Imprint Root CA, O=Acme');
    expect(root.extensions.basicConstraints).toEqual({ ca: true, critical: true });
    expect(root.extensions.keyUsage).toEqual({ usages: ['keyCertSign', 'cRLSign'], critical: true });
    expect(root.extensions.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(root.extensions.authorityKeyId).toBeUndefined();
    expect(root.notAfter.getUTCFullYear() - root.notBefore.getUTCFullYear()).toBe(20);
    expect(root.publicKey.algorithm).toBe('P-256');
  });

  it('makes an intermediate signed by the root: CA:true pathLen 0, keyCertSign+cRLSign, SKI and AKI = root SKI, 10 years', () => {
    expect(intermediate.issuer.text).toBe(root.subject.text);
    expect(intermediate.subject.text).toBe('CN=Imprint Issuing CA, O=Acme');
    expect(intermediate.extensions.basicConstraints).toEqual({ ca: true, pathLength: 0, critical: true });
    expect(intermediate.extensions.keyUsage).toEqual({ usages: ['keyCertSign', 'cRLSign'], critical: true });
    expect(intermediate.extensions.authorityKeyId).toBe(root.extensions.subjectKeyId);
    expect(intermediate.notAfter.getUTCFullYear() - intermediate.notBefore.getUTCFullYear()).toBe(10);
    expect(intermediate.notAfter.getTime()).toBeLessThanOrEqual(root.notAfter.getTime());
  });

  it('keeps both private keys non-extractable and names the CA by its intermediate fingerprint', async () => {
    expect(ca.root.privateKey?.extractable).toBe(false);
    expect(ca.intermediate.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('pkcs8', ca.intermediate.privateKey)).rejects.toThrow();
    expect(ca.backup).toBe('none');
    expect(ca.origin).toBe('created');
    expect(ca.id).toMatch(/^[0-9a-f]{64}$/);
    const verified = await verifyChain({ chain: [ca.intermediate.certificate], root: ca.root.certificate, leaf: 'ca' });
    expect(verified.ok).toBe(true);
  });

  it('refuses an unsafe label and a short backup passphrase before making any key', async () => {
    const comma = await createCa({ label: 'Acme, Inc' });
    expect(comma.ok ? 'created' : comma.error.code).toBe('subject-unsafe-value');
    const short = await createCa({ backupPassphrase: 'hunter2' });
    expect(short.ok ? 'created' : short.error.code).toBe('backup-weak-passphrase');
  });
});

describe('issueDeviceCertificate', () => {
  it('issues from a CSR: subject from the template (not the CSR), CA:false, digitalSignature, clientAuth, SKI/AKI, chain verifies', async () => {
    const keys = await deviceKeys();
    const csr = await makeCsr(keys, 'CN=whatever-the-board-says');
    const issued = await issueDeviceCertificate({ ca, csr, subjectTemplate: TEMPLATE, subjectValues: VALUES, validityDays: 365 });
    expect(issued.ok).toBe(true);
    if (!issued.ok) return;
    const device = parsed(issued.value.der);
    expect(device.subject.text).toBe('CN=dev-0001, serialNumber=A1B2C3, O=Acme');
    expect(device.extensions.basicConstraints).toEqual({ ca: false, critical: true });
    expect(device.extensions.keyUsage).toEqual({ usages: ['digitalSignature'], critical: true });
    expect(device.extensions.extendedKeyUsage).toEqual({ usages: ['clientAuth'], critical: false });
    expect(device.extensions.authorityKeyId).toBe(intermediate.extensions.subjectKeyId);
    expect(device.extensions.subjectKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(issued.value.keySource).toBe('csr');
    expect(issued.value.serialNumber).toBe(device.serialNumber);
    expect(issued.value.spkiFingerprint).toBe(await spkiFingerprint(device.publicKey.spki));
    expect(issued.value.pem).toContain('-----BEGIN CERTIFICATE-----');
    expect(device.notAfter.getTime() - device.notBefore.getTime()).toBe(365 * 86_400_000);
    const verified = await verifyChain({ chain: [issued.value.der, ...issued.value.chain], root: ca.root.certificate });
    expect(verified.ok).toBe(true);
  });

  it('gives every certificate a distinct positive 16-byte serial from the CSPRNG', async () => {
    const keys = await deviceKeys();
    const publicKey = await rawPublicKey(keys);
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const issued = await issueDeviceCertificate({ ca, publicKey, proofOfPossession: 'checked-by-caller', subjectTemplate: 'CN={id}', subjectValues: { id: `d${i}` }, validityDays: 30 });
      if (!issued.ok) throw new Error(issued.error.message);
      expect(issued.value.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
      expect(issued.value.serialNumber.startsWith('00')).toBe(false);
      serials.add(issued.value.serialNumber);
    }
    expect(serials.size).toBe(20);
  });

  it('caps notAfter at the intermediate\'s notAfter and says so', async () => {
    const keys = await deviceKeys();
    const issued = await issueDeviceCertificate({ ca, csr: await makeCsr(keys), subjectTemplate: 'CN={id}', subjectValues: { id: 'long-lived' }, validityDays: 36_500 });
    expect(issued.ok).toBe(true);
    if (!issued.ok) return;
    expect(issued.value.truncated).toBe(true);
    expect(issued.value.notAfter.getTime()).toBe(intermediate.notAfter.getTime());
    expect(parsed(issued.value.der).notAfter.getTime()).toBe(intermediate.notAfter.getTime());
  });

  it('issues from a bare public key (proof of possession checked by the caller) and records the path', async () => {
    const keys = await deviceKeys();
    const issued = await issueDeviceCertificate({ ca, publicKey: await rawPublicKey(keys), proofOfPossession: 'checked-by-caller', subjectTemplate: TEMPLATE, subjectValues: VALUES, validityDays: 10 });
    expect(issued.ok).toBe(true);
    if (!issued.ok) return;
    expect(issued.value.keySource).toBe('public-key');
    expect((await verifyChain({ chain: [issued.value.der, ...issued.value.chain], root: ca.root.certificate })).ok).toBe(true);
  });

  it('refuses a point off the curve, a CSR with a bad signature, bad validity, missing subject values and an issuer out of validity', async () => {
    const notOnCurve = new Uint8Array(65).fill(7);
    notOnCurve[0] = 4;
    const offCurve = await issueDeviceCertificate({ ca, publicKey: notOnCurve, proofOfPossession: 'checked-by-caller', subjectTemplate: 'CN={id}', subjectValues: { id: 'x' }, validityDays: 1 });
    expect(offCurve.ok ? 'issued' : offCurve.error.code).toBe('issue-bad-public-key');

    const csr = await makeCsr(await deviceKeys(), 'CN=board-7');
    const tampered = flipByte(csr, indexOfText(csr, 'board-7') + 6);
    expect(parseCsr(tampered).ok).toBe(true);
    const badCsr = await issueDeviceCertificate({ ca, csr: tampered, subjectTemplate: 'CN={id}', subjectValues: { id: 'x' }, validityDays: 1 });
    expect(badCsr.ok ? 'issued' : badCsr.error.code).toBe('csr-bad-signature');

    const zeroDays = await issueDeviceCertificate({ ca, csr, subjectTemplate: 'CN={id}', subjectValues: { id: 'x' }, validityDays: 0 });
    expect(zeroDays.ok ? 'issued' : zeroDays.error.code).toBe('issue-bad-validity');

    const missing = await issueDeviceCertificate({ ca, csr, subjectTemplate: TEMPLATE, subjectValues: { deviceId: 'dev' }, validityDays: 1 });
    expect(missing.ok ? 'issued' : missing.error).toEqual({ code: 'subject-missing-value', message: 'subject: no value for {boardSerial} (used in serialNumber)' });

    const later = new Date(intermediate.notAfter.getTime() + 1000);
    const expiredIssuer = await issueDeviceCertificate({ ca, csr, subjectTemplate: 'CN={id}', subjectValues: { id: 'x' }, validityDays: 1, now: later });
    expect(expiredIssuer.ok ? 'issued' : expiredIssuer.error.code).toBe('issue-issuer-not-valid');
  });
});

describe('verifyCsr', () => {
  it('accepts a CSR signed by its own key and refuses one with a flipped signature byte', async () => {
    const csr = await makeCsr(await deviceKeys(), 'CN=dev1');
    const good = await verifyCsr(csr);
    expect(good.ok && good.value.subject.text).toBe('CN=dev1');
    const bad = await verifyCsr(flipByte(csr, -1));
    expect(bad.ok ? 'verified' : bad.error.code).toBe('csr-bad-signature');
    const notCsr = await verifyCsr(ca.root.certificate);
    expect(notCsr.ok ? 'verified' : notCsr.error.code).toBe('parse-malformed');
  });

  it('accepts the CSR the simulated board builds with its firmware-style DER writer, and refuses its Ed25519 one as unsupported', async () => {
    const secret = p256.utils.randomSecretKey();
    const subject = parseSubject('CN=sim-board, serialNumber=SIM-0001');
    if (!subject.ok) throw new Error(subject.error);
    const csr = buildCsr('p256', secret, p256.getPublicKey(secret, false), subject.value);
    const verified = await verifyCsr(csr);
    expect(verified.ok && verified.value.subject.text).toBe('CN=sim-board, serialNumber=SIM-0001');
    const issued = await issueDeviceCertificate({ ca, csr, subjectTemplate: 'CN={id}', subjectValues: { id: 'sim-board' }, validityDays: 1 });
    expect(issued.ok).toBe(true);
    const edSecret = ed25519.utils.randomSecretKey();
    const edCsr = await verifyCsr(buildCsr('ed25519', edSecret, ed25519.getPublicKey(edSecret), subject.value));
    expect(edCsr.ok ? 'verified' : edCsr.error.code).toBe('csr-unsupported-algorithm');
  });
});

describe('renderSubject', () => {
  it('renders a template into typed attributes in template order', () => {
    const rendered = renderSubject('CN={deviceId}, serialNumber={boardSerial}, O=Acme Corp, C=DE', { deviceId: 'dev-1', boardSerial: 'SN 0042' });
    expect(rendered).toEqual({
      ok: true,
      value: {
        text: 'CN=dev-1, serialNumber=SN 0042, O=Acme Corp, C=DE',
        attributes: [
          { type: 'CN', value: 'dev-1' },
          { type: 'serialNumber', value: 'SN 0042' },
          { type: 'O', value: 'Acme Corp' },
          { type: 'C', value: 'DE' },
        ],
      },
    });
  });

  it.each([
    ['CN={id}', { id: 'a,O=Evil' }, 'subject-unsafe-value', 'contains ","'],
    ['CN={id}', { id: 'a+b' }, 'subject-unsafe-value', 'contains "+"'],
    ['CN={id}', { id: 'line\nbreak' }, 'subject-unsafe-value', 'control character'],
    ['CN={id}', { id: ' padded' }, 'subject-unsafe-value', 'whitespace'],
    ['CN={id}', { id: '#hex' }, 'subject-unsafe-value', 'starts with "#"'],
    ['CN={id}', { id: 'evil\u202egnp' }, 'subject-unsafe-value', 'direction-changing'],
    ['CN={id}', { id: 'x'.repeat(65) }, 'subject-unsafe-value', 'longer than 64'],
    ['serialNumber={s}', { s: 'Ünïcode' }, 'subject-unsafe-value', 'may only hold'],
    ['C={c}', { c: 'Germany' }, 'subject-unsafe-value', 'two-letter'],
    ['CN={id}', {}, 'subject-missing-value', '{id}'],
    ['CN={id}', { id: '' }, 'subject-missing-value', '{id}'],
    ['XX={id}', { id: 'a' }, 'subject-bad-template', 'unknown attribute "XX"'],
    ['CN', { id: 'a' }, 'subject-bad-template', 'not ATTRIBUTE=value'],
    ['CN={id', { id: 'a' }, 'subject-bad-template', 'unbalanced'],
    ['CN={1x}', { '1x': 'a' }, 'subject-bad-template', 'not a placeholder name'],
    ['', {}, 'subject-bad-template', 'empty'],
  ] as const)('%s with %j → %s', (template, values, code, words) => {
    const rendered = renderSubject(template, values);
    expect(rendered.ok).toBe(false);
    if (rendered.ok) return;
    expect(rendered.error.code).toBe(code);
    expect(rendered.error.message).toContain(words);
  });

  it('never throws and never lets a value add an attribute (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (template, value) => {
        const rendered = renderSubject(template, { id: value, v: value });
        if (rendered.ok) for (const attribute of rendered.value.attributes) expect(attribute.value).not.toMatch(/[,+"\\<>;=]/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('verifyChain: a reason for every failure', () => {
  async function issue(options: { validityDays?: number; now?: Date; from?: CertificateAuthority } = {}): Promise<Uint8Array> {
    const issued = await issueDeviceCertificate({
      ca: options.from ?? ca,
      csr: await makeCsr(await deviceKeys()),
      subjectTemplate: 'CN={id}',
      subjectValues: { id: 'dev-x' },
      validityDays: options.validityDays ?? 30,
      ...(options.now ? { now: options.now } : {}),
    });
    if (!issued.ok) throw new Error(issued.error.message);
    return issued.value.der;
  }
  async function failure(promise: ReturnType<typeof verifyChain>): Promise<{ code: ChainErrorCode; message: string; role?: string }> {
    const result = await promise;
    if (result.ok) throw new Error('chain unexpectedly verified');
    return { code: result.error.code, message: result.error.message, ...(result.error.certificate ? { role: result.error.certificate.role } : {}) };
  }

  it('chain-unknown-root: a certificate from another CA (same names, different keys)', async () => {
    const other = await newCa();
    const foreign = await issue({ from: other });
    const result = await failure(verifyChain({ chain: [foreign, other.intermediate.certificate], root: ca.root.certificate }));
    expect(result.code).toBe('chain-unknown-root');
    expect(result.role).toBe('intermediate');
    expect(result.message).toContain('different key');
    const withOurIntermediate = await failure(verifyChain({ chain: [foreign, ca.intermediate.certificate], root: ca.root.certificate }));
    expect(withOurIntermediate.code).toBe('chain-key-id-mismatch');
    expect(withOurIntermediate.role).toBe('leaf');
  });

  it('chain-name-mismatch: the next certificate is not the issuer', async () => {
    const other = await newCa('Other');
    const result = await failure(verifyChain({ chain: [await issue(), other.intermediate.certificate], root: other.root.certificate }));
    expect(result).toMatchObject({ code: 'chain-name-mismatch', role: 'leaf' });
    expect(result.message).toContain("'CN=Imprint Issuing CA, O=Acme' as its issuer");
  });

  it('chain-unknown-root: the chain stops short of the chosen root', async () => {
    const other = await newCa('Other');
    const result = await failure(verifyChain({ chain: [await issue(), ca.intermediate.certificate], root: other.root.certificate }));
    expect(result).toMatchObject({ code: 'chain-unknown-root', role: 'intermediate' });
  });

  it('chain-expired and chain-not-yet-valid, naming the leaf', async () => {
    const now = new Date();
    const yearOld = await createCa({ now: new Date(now.getTime() - YEAR_MS) });
    if (!yearOld.ok) throw new Error(yearOld.error.message);
    const older = yearOld.value.ca;
    const old = await issue({ from: older, validityDays: 30, now: new Date(now.getTime() - 60 * 86_400_000) });
    const expired = await failure(verifyChain({ chain: [old, older.intermediate.certificate], root: older.root.certificate, at: now }));
    expect(expired).toMatchObject({ code: 'chain-expired', role: 'leaf' });
    expect(expired.message).toMatch(/^leaf 'CN=dev-x' expired on /);
    const early = await failure(verifyChain({ chain: [await issue(), ca.intermediate.certificate], root: ca.root.certificate, at: new Date(now.getTime() - YEAR_MS) }));
    expect(early.code).toBe('chain-not-yet-valid');
  });

  it('chain-bad-signature: a flipped byte in the signature', async () => {
    const result = await failure(verifyChain({ chain: [flipByte(await issue(), -1), ca.intermediate.certificate], root: ca.root.certificate }));
    expect(result).toMatchObject({ code: 'chain-bad-signature', role: 'leaf' });
  });

  it('chain-not-ca: a device certificate used as an issuer', async () => {
    const top = await makeNode('Root', PROFILES.root);
    const notCa = await makeNode('Device As Issuer', PROFILES.device, top);
    const leaf = await makeNode('Leaf', PROFILES.device, notCa);
    const result = await failure(verifyChain({ chain: [leaf.der, notCa.der], root: top.der }));
    expect(result).toMatchObject({ code: 'chain-not-ca', role: 'intermediate' });
  });

  it('chain-path-length: a CA below an intermediate with pathLen 0', async () => {
    const top = await makeNode('Root', PROFILES.root);
    const issuing = await makeNode('Issuing', PROFILES.intermediate, top);
    const sub = await makeNode('Sub', PROFILES.intermediate, issuing);
    const leaf = await makeNode('Leaf', PROFILES.device, sub);
    const result = await failure(verifyChain({ chain: [leaf.der, sub.der, issuing.der], root: top.der }));
    expect(result).toMatchObject({ code: 'chain-path-length', role: 'intermediate' });
    expect(result.message).toContain("intermediate 2 'CN=Issuing'");
  });

  it('chain-key-usage: an issuer without keyCertSign, a leaf without digitalSignature', async () => {
    const top = await makeNode('Root', PROFILES.root);
    const signOnly = await makeNode('Sign Only CA', { ca: true, keyUsage: ['digitalSignature'] }, top);
    const leaf = await makeNode('Leaf', PROFILES.device, signOnly);
    expect(await failure(verifyChain({ chain: [leaf.der, signOnly.der], root: top.der }))).toMatchObject({ code: 'chain-key-usage', role: 'intermediate' });
    const agreementLeaf = await makeNode('Leaf', { ca: false, keyUsage: ['keyAgreement'] }, top);
    expect(await failure(verifyChain({ chain: [agreementLeaf.der], root: top.der }))).toMatchObject({ code: 'chain-key-usage', role: 'leaf' });
  });

  it('chain-unhandled-critical-extension and chain-unsupported-algorithm', async () => {
    const top = await makeNode('Root', PROFILES.root);
    const leafKeys = await deviceKeys();
    const withPolicy = await x509.X509CertificateGenerator.create({
      subject: 'CN=Policy Leaf',
      issuer: top.parsed.subject.text,
      publicKey: leafKeys.publicKey,
      signingKey: top.keys.privateKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [new x509.CertificatePolicyExtension(['1.2.3.4'], true)],
    });
    const policy = await failure(verifyChain({ chain: [new Uint8Array(withPolicy.rawData)], root: top.der }));
    expect(policy).toMatchObject({ code: 'chain-unhandled-critical-extension', role: 'leaf' });
    expect(policy.message).toContain('2.5.29.32');

    const p384 = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify'])) as CryptoKeyPair;
    const p384Root = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=P-384 Root',
      keys: p384,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParams,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    expect(await failure(verifyChain({ chain: [], root: new Uint8Array(p384Root.rawData) }))).toMatchObject({ code: 'chain-unsupported-algorithm', role: 'root' });
  });

  it('chain-malformed: bytes that are not a certificate', async () => {
    const result = await failure(verifyChain({ chain: [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])], root: ca.root.certificate }));
    expect(result.code).toBe('chain-malformed');
    expect(result.message).toMatch(/^leaf: /);
  });
});
