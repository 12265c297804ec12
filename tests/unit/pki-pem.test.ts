/**
 * PEM ↔ DER and the parsers of outside bytes: each typed refusal, then fast-check fuzzing that
 * nothing throws and every refusal carries a code from its union — on random text, on mutated
 * PEM, and on random and mutated certificate, CSR, SPKI and CRL bytes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createCa,
  createCrl,
  decodePem,
  decodePemOne,
  encodePem,
  PEM_LABELS,
  type PemErrorCode,
  parseCertificate,
  parseCrl,
  parseCsr,
  parseSpki,
  spkiFingerprint,
  type ParseErrorCode,
  type CrlErrorCode,
  ecdsaDerToRaw,
} from '../../src/lib/pki';
import { bytesToHex, hexToBytes } from '../../src/lib/util/bytes';
import { deviceKeys, makeCsr } from './support/pki';

const PEM_CODES = ['pem-empty', 'pem-missing-begin', 'pem-missing-end', 'pem-label-mismatch', 'pem-unknown-label', 'pem-wrong-label', 'pem-headers', 'pem-bad-base64', 'pem-count'] as const satisfies readonly PemErrorCode[];
const PARSE_CODES: readonly ParseErrorCode[] = [...PEM_CODES, 'parse-malformed'];
const CRL_CODES: readonly CrlErrorCode[] = [...PARSE_CODES, 'crl-bad-serial', 'crl-bad-reason', 'crl-not-issued-by-ca', 'crl-bad-dates', 'crl-issuer-cannot-sign', 'crl-wrong-issuer', 'crl-bad-signature'];
type Exhaustive<Union, Listed> = [Exclude<Union, Listed>] extends [never] ? true : never;
const exhaustive: Exhaustive<PemErrorCode, (typeof PEM_CODES)[number]> = true;
void exhaustive;

const RUNS = 2000;

describe('PEM', () => {
  it('round-trips every label with 64-character lines', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PEM_LABELS), fc.uint8Array({ minLength: 1, maxLength: 600 }), (label, der) => {
        const pem = encodePem(label, der);
        expect(pem.split('\n').every((line) => line.length <= 64 || line.startsWith('-----'))).toBe(true);
        const decoded = decodePemOne(pem, label);
        expect(decoded.ok && bytesToHex(decoded.value)).toBe(bytesToHex(der));
      }),
      { numRuns: 500 },
    );
  });

  it('reads several blocks, CRLF, indentation and explanatory text between them', () => {
    const text = `Issued to dev-1\r\n  ${encodePem('CERTIFICATE', new Uint8Array([1, 2, 3])).replace(/\n/g, '\r\n  ')}\r\nand its key\n${encodePem('PUBLIC KEY', new Uint8Array([4]))}trailing words`;
    const decoded = decodePem(text);
    expect(decoded.ok && decoded.value.map((block) => [block.label, bytesToHex(block.der), block.preamble])).toEqual([
      ['CERTIFICATE', '010203', 'Issued to dev-1'],
      ['PUBLIC KEY', '04', 'and its key'],
    ]);
  });

  it.each([
    ['', 'pem-empty', 'the input is empty'],
    ['just some words', 'pem-empty', 'no -----BEGIN'],
    ['-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', 'pem-empty', 'has no content'],
    ['-----BEGIN CERTIFICATE-----\nAQID\n', 'pem-missing-end', 'no -----END CERTIFICATE----- line'],
    ['-----BEGIN CERTIFICATE-----\nAQID\n-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n', 'pem-missing-end', 'a new BEGIN line'],
    ['AQID\n-----END CERTIFICATE-----\n', 'pem-missing-begin', 'never begun'],
    ['-----BEGIN CERTIFICATE-----\nAQID\n-----END PUBLIC KEY-----\n', 'pem-label-mismatch', 'ends as PUBLIC KEY'],
    ['-----BEGIN EC PRIVATE KEY-----\nAQID\n-----END EC PRIVATE KEY-----\n', 'pem-unknown-label', 'openssl pkcs8 -topk8'],
    ['-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAQID\n-----END PRIVATE KEY-----\n', 'pem-headers', 'header line'],
    ['-----BEGIN CERTIFICATE-----\nAQ!D\n-----END CERTIFICATE-----\n', 'pem-bad-base64', 'not valid base64'],
    ['-----BEGIN CERTIFICATE-----\nAQI\n-----END CERTIFICATE-----\n', 'pem-bad-base64', 'not valid base64'],
    ['-----BEGIN CERTIFICATE-----\nA=QI\n-----END CERTIFICATE-----\n', 'pem-bad-base64', 'not valid base64'],
  ] as const)('refuses %j with %s', (text, code, words) => {
    const decoded = decodePem(text);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error.code).toBe(code);
    expect(decoded.error.message).toContain(words);
  });

  it('refuses a wrong label or a count other than one where one block of a label is expected', () => {
    const key = encodePem('PUBLIC KEY', new Uint8Array([1]));
    expect(decodePemOne(key, 'CERTIFICATE')).toMatchObject({ ok: false, error: { code: 'pem-wrong-label' } });
    expect(decodePemOne(key + key, 'PUBLIC KEY')).toMatchObject({ ok: false, error: { code: 'pem-count' } });
  });

  it('never throws on any text (fuzz), and refusals carry a PEM code', () => {
    const pemish = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc
        .tuple(fc.constantFrom(...PEM_LABELS, 'EC PRIVATE KEY', 'X'), fc.base64String({ maxLength: 200 }), fc.constantFrom('', '\n', '\r\n', '-----END X-----'), fc.string({ maxLength: 20 }))
        .map(([label, body, tail, noise]) => `${noise}-----BEGIN ${label}-----\n${body}\n${tail}-----END ${label}-----${noise}`),
    );
    fc.assert(
      fc.property(pemish, fc.nat(), fc.string({ maxLength: 3 }), (text, at, insert) => {
        for (const input of [text, text.slice(0, at % (text.length + 1)) + insert + text.slice(at % (text.length + 1))]) {
          const decoded = decodePem(input);
          if (!decoded.ok) expect(PEM_CODES).toContain(decoded.error.code);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('parsers of outside bytes never throw (fuzz)', () => {
  const samples: { name: string; der: Uint8Array; parse: (der: Uint8Array) => { ok: boolean; error?: { code: string } } ; codes: readonly string[] }[] = [];
  beforeAll(async () => {
    const created = await createCa();
    if (!created.ok) throw new Error(created.error.message);
    const { ca } = created.value;
    const csr = await makeCsr(await deviceKeys());
    const crl = await createCrl({ ca, revocations: [{ serialNumber: '0102', revokedAt: new Date(), reason: 'keyCompromise' }], crlNumber: 1 });
    if (!crl.ok) throw new Error(crl.error.message);
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', (await deviceKeys()).publicKey));
    samples.push(
      { name: 'certificate', der: ca.intermediate.certificate, parse: parseCertificate, codes: PARSE_CODES },
      { name: 'CSR', der: csr, parse: parseCsr, codes: PARSE_CODES },
      { name: 'SPKI', der: spki, parse: parseSpki, codes: PARSE_CODES },
      { name: 'CRL', der: crl.value.der, parse: parseCrl, codes: CRL_CODES },
    );
  });

  it('parses the samples', () => {
    for (const sample of samples) expect(sample.parse(sample.der).ok).toBe(true);
  });

  it('random bytes and mutated samples: ok or a typed error, never an exception', () => {
    fc.assert(
      fc.property(
        fc.nat(3),
        fc.uint8Array({ maxLength: 80 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (which, random, edits, cut) => {
          const sample = samples[which]!;
          const mutated = new Uint8Array(sample.der);
          for (const [at, value] of edits) mutated[at % mutated.length] = value;
          for (const input of [random, mutated, mutated.subarray(0, cut % (mutated.length + 1))]) {
            const parsed = sample.parse(input);
            if (!parsed.ok) expect(sample.codes).toContain(parsed.error!.code);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('ecdsaDerToRaw never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const raw = ecdsaDerToRaw(bytes);
        if (raw.ok) expect(raw.value.length).toBe(64);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fingerprints and SPKI', () => {
  it('spkiFingerprint is SHA-256 of the SubjectPublicKeyInfo and matches the Wycheproof key\'s DER form', async () => {
    const der = hexToBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200042927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e');
    const parsed = parseSpki(der);
    expect(parsed.ok && parsed.value.algorithm).toBe('P-256');
    expect(parsed.ok && bytesToHex(parsed.value.point!)).toBe('042927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e');
    expect(await spkiFingerprint(der)).toBe(bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(der)))));
  });
});
