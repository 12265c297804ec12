/**
 * Profiles as data: the shipped ones validate and survive a JSON round trip; every malformed
 * profile is refused with a typed error naming the field; plans say what a run will do (steps,
 * clear-text warning, operator values) before a board is touched. Operator key values are read
 * from the forms operators have them in (PKCS#8 from WebCrypto and openssl, raw, hex), and
 * refused, without quoting them, when they are not keys of the right curve.
 */
import 'fake-indexeddb/auto';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { p256 } from '@noble/curves/nist.js';
import { decodePemOne, readPrivateScalar } from '../../src/lib/pki';
import {
  BUILTIN_PROFILES,
  exportProfile,
  openProfileStore,
  parseProfile,
  planProvisioning,
  type Profile,
  SETTINGS_ONLY_PROFILE,
  SUPERVISOR_PROFILE,
  TFM_SAMPLE_PROFILE,
} from '../../src/lib/provisioning';
import { bytesToHex } from '../../src/lib/util/bytes';
import { OPENSSL, opensslAvailable, pkcs8Pem } from './support/provisioning';

function mutate(profile: Profile, change: (copy: Record<string, any>) => void): string {
  const copy = structuredClone(profile) as Record<string, any>;
  change(copy);
  return JSON.stringify(copy);
}

describe('shipped profiles', () => {
  it.each(BUILTIN_PROFILES.map((profile) => [profile.id, profile] as const))('%s validates and survives export and import unchanged', (_id, profile) => {
    const text = exportProfile(profile);
    const parsed = parseProfile(text);
    expect(parsed).toEqual({ ok: true, value: profile });
    expect(exportProfile(parsed.ok ? parsed.value : profile)).toBe(text);
    expect(text.startsWith('{\n  "format": "imprint-profile/1",\n  "id": ')).toBe(true);
  });

  it('tfm-sample: three P-256 keys at fixed ids, two with operator values, the third certified', () => {
    expect(TFM_SAMPLE_PROFILE.keys.map((key) => [key.label, key.id, key.alg, key.source, key.certificate])).toEqual([
      ['random', 1, 'p256', 'board', 'none'],
      ['known', 2, 'p256', 'operator', 'none'],
      ['certified', 3, 'p256', 'operator', 'auto'],
    ]);
  });

  it('no profile carries a key value: they come from the operator at run time', () => {
    for (const profile of BUILTIN_PROFILES) expect(exportProfile(profile)).not.toMatch(/PRIVATE KEY|[0-9a-f]{64}/);
  });
});

describe('refused profiles, each naming its field', () => {
  const cases: [string, string, string, string?][] = [
    ['not JSON', '{"format": ', 'profile-not-json'],
    ['another format', mutate(TFM_SAMPLE_PROFILE, (p) => (p.format = 'imprint-profile/9')), 'profile-format', 'format'],
    ['an unknown field', mutate(TFM_SAMPLE_PROFILE, (p) => (p.privateKey = 'x')), 'profile-invalid-field', 'privateKey'],
    ['an unknown key field', mutate(TFM_SAMPLE_PROFILE, (p) => (p.keys[1].value = 'x')), 'profile-invalid-field', 'keys[1].value'],
    ['a bad profile id', mutate(TFM_SAMPLE_PROFILE, (p) => (p.id = 'TFM Sample')), 'profile-invalid-field', 'id'],
    ['a key id outside the PSA user range', mutate(TFM_SAMPLE_PROFILE, (p) => (p.keys[0].id = 0x40000000)), 'profile-invalid-field', 'keys[0].id'],
    ['two keys with one label', mutate(TFM_SAMPLE_PROFILE, (p) => (p.keys[2].label = 'random')), 'profile-duplicate', 'keys[2].label'],
    ['two keys at one id', mutate(TFM_SAMPLE_PROFILE, (p) => (p.keys[2].id = 1)), 'profile-duplicate', 'keys[2].id'],
    ['generate-csr for an imported key', mutate(TFM_SAMPLE_PROFILE, (p) => (p.keys[1].certificate = 'generate-csr')), 'profile-bad-combination', 'keys[1].certificate'],
    ['a certificate for an X25519 key', mutate(SUPERVISOR_PROFILE, (p) => (p.keys[0].certificate = 'csr')), 'profile-bad-combination', 'keys[0].certificate'],
    ['the export usage bit', mutate(TFM_SAMPLE_PROFILE, (p) => (p.keys[0].usage = 0x3c01)), 'profile-bad-combination', 'keys[0].usage'],
    ['a certified key that cannot sign', mutate(TFM_SAMPLE_PROFILE, (p) => (p.keys[2].usage = 0x4000)), 'profile-bad-combination', 'keys[2].usage'],
    ['an unknown source', mutate(TFM_SAMPLE_PROFILE, (p) => (p.keys[0].source = 'cloud')), 'profile-invalid-field', 'keys[0].source'],
    ['validity of 0 days', mutate(TFM_SAMPLE_PROFILE, (p) => (p.validityDays = 0)), 'profile-invalid-field', 'validityDays'],
    ['a CA id that is not a SHA-256', mutate(TFM_SAMPLE_PROFILE, (p) => (p.caId = 'my-ca')), 'profile-invalid-field', 'caId'],
    ['settings without the device key', mutate(SETTINGS_ONLY_PROFILE, (p) => (p.settings = p.settings.filter((s: { content: string }) => s.content !== 'private-key'))), 'profile-bad-combination', 'settings'],
    ['an operator secret without a label', mutate(SETTINGS_ONLY_PROFILE, (p) => p.settings.push({ name: 'imprint/psk', content: 'operator-secret' })), 'profile-invalid-field', 'settings[4].label'],
    ['a settings name without a root', mutate(SETTINGS_ONLY_PROFILE, (p) => (p.settings[0].name = 'key')), 'profile-invalid-field', 'settings[0].name'],
    ['a name written twice', mutate(SETTINGS_ONLY_PROFILE, (p) => (p.settings[1].name = 'imprint/key')), 'profile-duplicate', 'settings[1].name'],
    ['a keys-group field in a settings profile', mutate(SETTINGS_ONLY_PROFILE, (p) => (p.keys = [])), 'profile-invalid-field', 'keys'],
  ];

  it.each(cases)('%s', (_name, text, code, field) => {
    const parsed = parseProfile(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.code).toBe(code);
    if (field) {
      expect(parsed.error.field).toBe(field);
      expect(parsed.error.message).toContain(field);
    }
  });

  it('planning an invalid profile is a typed error too', () => {
    const plan = planProvisioning({ ...TFM_SAMPLE_PROFILE, keys: [] });
    expect(plan).toMatchObject({ ok: false, error: { code: 'profile-invalid', message: expect.stringContaining('keys') } });
  });
});

describe('plans', () => {
  it('tfm-sample: identity, ids, transport key, three keys, then the certified key from CSR to verification', () => {
    const plan = planProvisioning(TFM_SAMPLE_PROFILE);
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.value.steps.map((step) => step.id)).toEqual([
      'identity',
      'key-ids',
      'transport-key',
      'create-key:random',
      'create-key:known',
      'create-key:certified',
      'certify:certified',
      'issue:certified',
      'store-certificate:certified',
      'read-back:certified',
      'verify:certified',
    ]);
    expect(plan.value).toMatchObject({ clearTextSecrets: false, operatorValues: ['known', 'certified'], primaryKey: 'certified', needsCa: true, reprovision: false });
    expect(plan.value.steps.find((step) => step.kind === 'issue')!.touchesBoard).toBe(false);
  });

  it('supervisor: no CA, a counter step', () => {
    const plan = planProvisioning(SUPERVISOR_PROFILE);
    expect(plan.ok && plan.value.steps.map((step) => step.id)).toEqual(['identity', 'key-ids', 'create-key:supervisor', 'counter']);
    expect(plan.ok && plan.value.needsCa).toBe(false);
  });

  it('settings-only: flags the clear text, in the plan and in the write step', () => {
    const plan = planProvisioning(SETTINGS_ONLY_PROFILE, { reprovision: true });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.value.clearTextSecrets).toBe(true);
    expect(plan.value.reprovision).toBe(true);
    expect(plan.value.steps.map((step) => step.id)).toEqual(['identity', 'settings-check', 'settings-key', 'issue', 'settings-write', 'settings-save', 'settings-read-back', 'verify', 'settings-commit']);
    expect(plan.value.steps.find((step) => step.id === 'settings-write')!.title).toContain('in the clear');
  });
});

describe("the operator's key values", () => {
  it('reads PKCS#8 from WebCrypto, a raw scalar and 64 hex characters, all to the same scalar', async () => {
    const pem = await pkcs8Pem();
    const fromPem = readPrivateScalar(pem, 'P-256');
    expect(fromPem.ok).toBe(true);
    if (!fromPem.ok) return;
    const der = decodePemOne(pem, 'PRIVATE KEY');
    expect(der.ok && readPrivateScalar(der.value, 'P-256')).toEqual(fromPem);
    expect(readPrivateScalar(fromPem.value, 'P-256')).toEqual(fromPem);
    expect(readPrivateScalar(bytesToHex(fromPem.value).toUpperCase(), 'P-256')).toEqual(fromPem);
    expect(p256.utils.isValidSecretKey(fromPem.value)).toBe(true);
  });

  it.skipIf(!opensslAvailable)('reads what openssl genpkey writes (P-256 and X25519), and checks the curve', () => {
    for (const [algorithm, curve, other] of [
      [['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'P-256', 'X25519'],
      [['-algorithm', 'X25519'], 'X25519', 'P-256'],
    ] as const) {
      const made = spawnSync(OPENSSL, ['genpkey', ...algorithm], { encoding: 'utf8' });
      expect(made.status).toBe(0);
      const scalar = readPrivateScalar(made.stdout, curve);
      expect(scalar.ok && scalar.value.length).toBe(32);
      const text = spawnSync(OPENSSL, ['pkey', '-noout', '-text'], { input: made.stdout, encoding: 'utf8' }).stdout;
      const hex = text.split('priv:')[1]!.split(/pub:/)[0]!.replace(/[^0-9a-f]/g, '').slice(-64);
      expect(scalar.ok && bytesToHex(scalar.value)).toBe(hex);
      expect(readPrivateScalar(made.stdout, other)).toMatchObject({ ok: false, error: { code: 'private-key-wrong-curve' } });
    }
  });

  it('refuses zero, the group order, garbage and other key types without quoting them', async () => {
    const zero = new Uint8Array(32);
    expect(readPrivateScalar(zero, 'P-256')).toMatchObject({ ok: false, error: { code: 'private-key-invalid-scalar' } });
    expect(readPrivateScalar('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'P-256')).toMatchObject({ ok: false, error: { code: 'private-key-invalid-scalar' } });
    const garbage = readPrivateScalar('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', 'P-256');
    expect(garbage).toMatchObject({ ok: false, error: { code: 'private-key-malformed' } });
    expect(readPrivateScalar(new Uint8Array(31), 'X25519')).toMatchObject({ ok: false, error: { code: 'private-key-malformed' } });
    const secret = 'c0ffee'.repeat(10) + 'abcd';
    const refused = readPrivateScalar(secret + '00', 'P-256');
    expect(refused.ok).toBe(false);
    expect(JSON.stringify(refused)).not.toContain(secret);
  });
});

describe('the profile store (IndexedDB)', () => {
  it("keeps the operator's profiles beside the shipped ones, validated both ways", async () => {
    const store = await openProfileStore(`profiles-${Math.random()}`);
    try {
      const edited = { ...TFM_SAMPLE_PROFILE, id: 'tfm-line-2', name: 'TF-M, line 2', keys: TFM_SAMPLE_PROFILE.keys.map((key) => ({ ...key, id: key.id! + 0x100 })) };
      expect(await store.save(edited)).toEqual({ ok: true, value: edited });
      expect((await store.list()).map((profile) => profile.id)).toEqual(['tfm-sample', 'supervisor', 'settings-only', 'tfm-line-2']);
      expect(await store.get('tfm-line-2')).toEqual(edited);
      expect(await store.get('tfm-sample')).toBe(TFM_SAMPLE_PROFILE);
      expect(await store.save({ ...edited, keys: [] })).toMatchObject({ ok: false, error: { code: 'profile-invalid-field', field: 'keys' } });
      expect(await store.save(TFM_SAMPLE_PROFILE)).toMatchObject({ ok: false, error: { code: 'profile-duplicate', field: 'id' } });
      expect(await store.delete('tfm-line-2')).toBe(true);
      expect(await store.delete('tfm-line-2')).toBe(false);
      expect(await store.get('tfm-line-2')).toBeUndefined();
    } finally {
      store.close();
    }
  });
});
