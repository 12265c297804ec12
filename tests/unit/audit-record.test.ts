/**
 * The record's two gates. The secret guard: a real private key (PEM, DER hex/base64, JWK), a
 * scalar, an HMAC/AES key and a passphrase, tried in every field and under secret-looking
 * names, all refused as `audit-secret-refused`; then an export and the raw IndexedDB contents
 * searched for the secret bytes (hex, base64, text) with code independent of the guard.
 * The shape check: each field's rule from the table.
 */
import 'fake-indexeddb/auto';
import fc from 'fast-check';
import { openDB } from 'idb';
import { describe, expect, it } from 'vitest';
import { AUDIT_FIELDS, admitRecord, type AuditRecord, type IntentDraft, isSecretName, KnownSecrets, validateRecord } from '../../src/lib/audit';
import { bytesToBase64, bytesToHex } from '../../src/lib/util/bytes';
import { exportText, freshDbName, openTestLog } from './support/audit-fixture';

const VALID_INTENT: AuditRecord = {
  seq: 1,
  time: '2025-06-01T10:00:00.000Z',
  stationId: '0123456789abcdef',
  appBuild: 'build-1',
  action: 'keys.generate',
  phase: 'intent',
};
const VALID_OUTCOME: AuditRecord = { ...VALID_INTENT, seq: 2, phase: 'outcome', intentSeq: 1, result: 'ok' };

async function p256Private(): Promise<{ pem: string; der: Uint8Array; jwk: JsonWebKey; scalar: Uint8Array; key: CryptoKey }> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
  const pem = `-----BEGIN PRIVATE KEY-----\n${bytesToBase64(der).replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
  return { pem, der, jwk, scalar: new Uint8Array(Buffer.from(jwk.d!, 'base64url')), key: pair.privateKey };
}

function refusedIn(field: string, value: unknown, known?: KnownSecrets) {
  const record: Record<string, unknown> = { ...VALID_OUTCOME, [field]: value };
  return admitRecord(record, known);
}

describe('the secret guard', () => {
  it('refuses a PEM private key, its DER (hex and base64) and its JWK in every field', async () => {
    const key = await p256Private();
    const forms = {
      pem: key.pem,
      'pem inside a message': `import failed: ${key.pem}`,
      'DER hex': bytesToHex(key.der),
      'DER HEX upper': bytesToHex(key.der).toUpperCase(),
      'DER base64': bytesToBase64(key.der),
      JWK: JSON.stringify(key.jwk),
      'SEC1 PEM': '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI…\n-----END EC PRIVATE KEY-----',
      'OpenSSH PEM': '-----BEGIN OPENSSH PRIVATE KEY-----',
    };
    for (const field of [...AUDIT_FIELDS, 'details']) {
      for (const [name, text] of Object.entries(forms)) {
        const value = field === 'details' ? { note: text } : text;
        expect(refusedIn(field, value), `${name} in ${field}`).toMatchObject({ ok: false, error: { code: 'audit-secret-refused', field: field === 'details' ? 'details.note' : field } });
      }
    }
  });

  it('refuses a registered scalar, HMAC key, AES key and passphrase in every field, in every form', async () => {
    const key = await p256Private();
    const hmac = crypto.getRandomValues(new Uint8Array(32));
    const aes = crypto.getRandomValues(new Uint8Array(16));
    const passphrase = 'correct horse battery staple';
    const known = new KnownSecrets();
    expect(known.add(key.scalar, 'p256 scalar')).toBe(true);
    expect(known.add(hmac, 'hmac-sha256 key')).toBe(true);
    expect(known.add(aes, 'aes-128 key')).toBe(true);
    expect(known.add(passphrase, 'backup passphrase')).toBe(true);
    const forms = (bytes: Uint8Array) => [
      Buffer.from(bytes).toString('hex'),
      Buffer.from(bytes).toString('hex').toUpperCase(),
      Buffer.from(bytes).toString('base64'),
      Buffer.from(bytes).toString('base64url'),
      `prefix ${Buffer.from(bytes).toString('hex')} suffix`,
    ];
    const secrets = [...forms(key.scalar), ...forms(hmac), ...forms(aes), passphrase, `passphrase was ${passphrase}!`, ...forms(new TextEncoder().encode(passphrase))];
    for (const field of [...AUDIT_FIELDS, 'details']) {
      for (const text of secrets) {
        const value = field === 'details' ? { note: text } : text;
        expect(refusedIn(field, value, known), `${text} in ${field}`).toMatchObject({ ok: false, error: { code: 'audit-secret-refused' } });
      }
      expect(refusedIn(field, key.scalar), `raw scalar bytes in ${field}`).toMatchObject({ ok: false, error: { code: 'audit-secret-refused' } });
      expect(refusedIn(field, key.key), `private CryptoKey in ${field}`).toMatchObject({ ok: false, error: { code: 'audit-secret-refused' } });
    }
    // Without the registration the same hex is just a well-formed fingerprint.
    expect(refusedIn('keyFingerprint', Buffer.from(key.scalar).toString('hex')).ok).toBe(true);
  });

  it('refuses secret-looking names anywhere in details (and unknown top-level fields)', () => {
    const names = ['privateKey', 'private_key', 'PRIVATE-KEY', 'privKey', 'scalar', 'secret', 'clientSecret', 'passphrase', 'password', 'hmacKey', 'aesKey', 'aes_key', 'seed', 'mnemonic', 'psk', 'pin', 'd', 'k', 'sharedKey'];
    for (const name of names) {
      expect(isSecretName(name), name).toBe(true);
      expect(refusedIn('details', { [name]: 'x' }), name).toMatchObject({ ok: false, error: { code: 'audit-secret-refused', field: `details.${name}` } });
      expect(admitRecord({ ...VALID_INTENT, [name]: 'x' })).toMatchObject({ ok: false, error: { code: 'audit-secret-refused', field: name } });
    }
    for (const name of ['alg', 'slot', 'mapping', 'profile', 'keyId', 'keyUsage', 'spinner', 'seeded']) expect(isSecretName(name), name).toBe(false);
    expect(refusedIn('errorMessage', 'the board sent {"privateKey": "…"}')).toMatchObject({ ok: false, error: { code: 'audit-secret-refused' } });
  });

  it('KnownSecrets will not register what it could not look for safely', () => {
    const known = new KnownSecrets();
    expect(known.add('seven77')).toBe(false);
    expect(known.add(Uint8Array.of(1, 2, 3, 4, 5, 6, 7))).toBe(false);
    expect(known.size).toBe(0);
    expect(known.add('long enough passphrase')).toBe(true);
    known.clear();
    expect(known.findIn('long enough passphrase')).toBeNull();
  });

  it('an export and the raw IndexedDB contents never hold a secret the flow tried to log', async () => {
    const key = await p256Private();
    const hmac = crypto.getRandomValues(new Uint8Array(32));
    const passphrase = 'tr0ub4dor&3 is not a passphrase';
    const dbName = freshDbName();
    const log = await openTestLog({ dbName, checkpointEvery: 2 });
    for (const secret of [key.scalar, hmac, passphrase]) log.knownSecrets.add(secret);
    const attempts: IntentDraft[] = [
      { action: 'keys.import', details: { hmacKey: bytesToHex(hmac) } },
      { action: 'keys.import', errorMessage: `wrap failed for ${bytesToBase64(hmac)}` },
      { action: 'keys.generate', keyFingerprint: bytesToHex(key.scalar) },
      { action: 'ca.backup', operator: passphrase },
      { action: 'ca.backup', details: { note: key.pem } },
      { action: 'keys.import', details: { jwk: JSON.stringify(key.jwk) } },
    ];
    for (const attempt of attempts) expect(await log.intent(attempt), JSON.stringify(attempt).slice(0, 60)).toMatchObject({ ok: false, error: { code: 'audit-secret-refused' } });
    const fine = await log.intent({ action: 'keys.import', keyId: '0x10', details: { alg: 'hmac-sha256' } });
    expect(fine.ok).toBe(true);
    const exported = await exportText(log);
    log.close();

    const db = await openDB(dbName);
    const raw = JSON.stringify([await db.getAll('records'), await db.getAll('checkpoints'), await db.get('meta', 'head')]);
    db.close();
    for (const text of [exported, raw]) {
      for (const secret of [key.scalar, hmac, key.der, new TextEncoder().encode(passphrase)]) {
        const bytes = Buffer.from(secret);
        for (const form of [bytes.toString('hex'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url')]) expect(text.toLowerCase()).not.toContain(form.toLowerCase());
      }
      expect(text).not.toContain(passphrase);
      expect(text).not.toContain('PRIVATE KEY');
      expect(text).not.toContain(key.jwk.d!);
    }
  });
});

describe('the shape check', () => {
  it('accepts a minimal intent and outcome, and returns only known fields in table order', () => {
    const intent = validateRecord({ action: 'keys.generate', phase: 'intent', appBuild: 'build-1', stationId: '0123456789abcdef', time: '2025-06-01T10:00:00.000Z', seq: 1 });
    expect(intent.ok && Object.keys(intent.value)).toEqual(['seq', 'time', 'stationId', 'appBuild', 'action', 'phase']);
    expect(validateRecord(VALID_OUTCOME).ok).toBe(true);
  });

  it.each([
    ['unknown field', { colour: 'red' }, 'colour'],
    ['seq 0', { seq: 0 }, 'seq'],
    ['seq beyond 2^53', { seq: 2 ** 53 }, 'seq'],
    ['fractional counter', { counter: 1.5 }, 'counter'],
    ['negative counter', { counter: -1 }, 'counter'],
    ['time not UTC ISO', { time: '2025-06-01 10:00:00' }, 'time'],
    ['time not a real date', { time: '2025-02-30T10:00:00.000Z' }, 'time'],
    ['stationId upper-case', { stationId: '0123456789ABCDEF' }, 'stationId'],
    ['action with spaces', { action: 'keys generate' }, 'action'],
    ['phase unknown', { phase: 'maybe' }, 'phase'],
    ['fingerprint not hex', { keyFingerprint: 'z'.repeat(64) }, 'keyFingerprint'],
    ['cert serial with colons', { certSerial: '0a:1b' }, 'certSerial'],
    ['empty operator', { operator: '' }, 'operator'],
    ['operator too long', { operator: 'x'.repeat(129) }, 'operator'],
    ['lone surrogate', { operator: 'bad \ud800 text' }, 'operator'],
    ['details not text', { details: { slot: 1 } }, 'details'],
    ['details key not an identifier', { details: { 'a b': 'x' } }, 'details'],
    ['too many details', { details: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}x`, 'v'])) }, 'details'],
    ['result on an intent', { result: 'ok' }, 'result'],
    ['intentSeq on an intent', { intentSeq: 1 }, 'intentSeq'],
    ['missing action', { action: undefined }, 'action'],
  ])('refuses %s', (_name, change, field) => {
    expect(validateRecord({ ...VALID_INTENT, ...change })).toMatchObject({ ok: false, error: { code: 'audit-invalid-record', field } });
  });

  it('accepts exactly the times Date gives back unchanged (leap days, month ends, 23:59:59, years 0000–9999)', () => {
    const two = (max: number) => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'));
    const time = fc
      .tuple(fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, '0')), two(14), two(32), two(25), two(61), two(61), fc.integer({ min: 0, max: 999 }))
      .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, '0')}Z`);
    const special = fc.constantFrom('2024-02-29T00:00:00.000Z', '2023-02-29T00:00:00.000Z', '1900-02-29T00:00:00.000Z', '2000-02-29T23:59:59.999Z', '0000-02-29T00:00:00.000Z', '2025-04-31T00:00:00.000Z', '2025-12-31T24:00:00.000Z');
    fc.assert(
      fc.property(fc.oneof(time, special), (value) => {
        const parsed = new Date(value);
        const real = !Number.isNaN(parsed.getTime()) && parsed.toISOString() === value;
        expect(validateRecord({ ...VALID_INTENT, time: value }).ok, value).toBe(real);
      }),
      { numRuns: 3000 },
    );
  });

  it('an outcome needs an earlier intentSeq and a result', () => {
    expect(validateRecord({ ...VALID_OUTCOME, intentSeq: undefined })).toMatchObject({ ok: false, error: { field: 'intentSeq' } });
    expect(validateRecord({ ...VALID_OUTCOME, intentSeq: 2 })).toMatchObject({ ok: false, error: { field: 'intentSeq' } });
    expect(validateRecord({ ...VALID_OUTCOME, result: undefined })).toMatchObject({ ok: false, error: { field: 'result' } });
  });
});
