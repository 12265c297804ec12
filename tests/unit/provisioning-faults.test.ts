/**
 * A provisioning run meeting the faults a factory meets, on the simulated board: slots full, the
 * board's storage failing in the middle of a certificate store, a reboot after every single
 * request, a lost answer to `generate`, a board that signs wrongly, the link pulled, the operator
 * cancelling, the audit log refusing, and the settings group failing a save or a write. Each ends
 * with a message naming the step, the board in a known state (what the run made destroyed, or
 * reported when it cannot be), and a retry that succeeds. Then: no secret ever reaches the audit
 * records, the events or the result.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { exportJsonl, KnownSecrets } from '../../src/lib/audit';
import { KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID, TAMPER_KIND } from '../../src/lib/device/keys-ids';
import { readPrivateScalar } from '../../src/lib/pki';
import {
  auditLogSink,
  type AuditSink,
  CHALLENGE_LABEL,
  type KeysGroupProfile,
  MemoryAuditSink,
  type Profile,
  type ProfileKey,
  type ProvisioningEvent,
  SETTINGS_ONLY_PROFILE,
  SUPERVISOR_PROFILE,
  TFM_SAMPLE_PROFILE,
} from '../../src/lib/provisioning';
import { connectBoard } from '../../src/lib/device';
import { connectSimulatedBoard } from '../../src/lib/sim';
import { SimFailure } from '../../src/lib/sim/board';
import { KEYS_CONTEXT_PREFIX } from '../../src/lib/device/keys-ids';
import { bytesToHex, utf8 } from '../../src/lib/util/bytes';
import { openTestLog } from './support/audit-fixture';
import { failedWith, openStandardStation, openStation, pairedRecords, pkcs8Pem, provision, rawScalar, type Station, succeeded, tfmKnownValues } from './support/provisioning';

function tfmWith(patches: Record<string, Partial<ProfileKey>>): KeysGroupProfile {
  return { ...TFM_SAMPLE_PROFILE, keys: TFM_SAMPLE_PROFILE.keys.map((key) => ({ ...key, ...patches[key.label] })) };
}

/** Runs `action` when the named step starts (or is done). */
function at(type: 'step-started' | 'step-done', stepId: string, action: () => void): (event: ProvisioningEvent) => void {
  return (event) => {
    if (event.type === type && event.step.id === stepId) action();
  };
}

/** Makes the board's `sign` answer a signature with one bit flipped, on the calls `corrupt` picks. */
function corruptSignatures(station: Station, corrupt: (call: number) => boolean): () => void {
  const board = station.device.board;
  const original = board.handlers(KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID.SIGN)!;
  let calls = 0;
  board.register(KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID.SIGN, {
    write: async (context) => {
      const answer = await original.write!(context);
      if (answer instanceof SimFailure || !corrupt(++calls)) return answer;
      const sig = Uint8Array.from(answer.sig as Uint8Array);
      sig[10]! ^= 0x01;
      return { ...answer, sig };
    },
  });
  return () => board.register(KEYS_MGMT_GROUP_DEFAULT, KEYS_MGMT_ID.SIGN, original);
}

function keysSent(station: Station, command: string): number {
  return station.exchanges.filter((exchange) => exchange.direction === 'tx' && exchange.command === command).length;
}

describe('slots', () => {
  it('slots full in the middle: the key already made is destroyed, and a retry succeeds', async () => {
    const station = await openStation();
    const knownValues = await tfmKnownValues();
    const provisioned = await provision(station, TFM_SAMPLE_PROFILE, { knownValues, onEvent: at('step-done', 'create-key:random', () => station.device.keys.inject({ slotsFull: true })) });
    const failure = failedWith(provisioned);
    expect(failure.step?.id).toBe('create-key:known');
    expect(failure.error.code).toBe('key-create-failed');
    expect(failure.message).toMatch(/^Import p256 key "known" at 0x00000002.*: failed\. .*no free key slot/);
    expect(failure.cleanup).toEqual([{ what: 'key', name: 'random', keyId: '0x00000001', removed: true, message: 'key "random" at 0x00000001 destroyed' }]);
    expect(failure).toMatchObject({ boardState: 'cleaned', next: 'retry' });
    expect(station.device.keys.store.ids()).toEqual([]);
    expect(pairedRecords(provisioned.audit)).toBe(true);
    expect(provisioned.audit.records.filter((record) => record.action === 'keys.destroy').map((record) => record.result ?? 'intent')).toEqual(['intent', 'ok']);

    station.device.keys.clearFaults();
    expect(succeeded(await provision(station, TFM_SAMPLE_PROFILE, { knownValues })).keys).toHaveLength(3);
  });

  it('too few free slots is found before anything is made', async () => {
    const station = await openStation({ keys: { slots: 2 } });
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() }));
    expect(failure.error.code).toBe('slots-insufficient');
    expect(failure).toMatchObject({ boardState: 'unchanged', next: 'fix-and-retry' });
    expect(keysSent(station, 'keys/generate') + keysSent(station, 'keys/import')).toBe(0);
  });
});

describe('storage failure in the middle of the certificate store', () => {
  it('fails the store step, destroys the keys, logs the tamper event, and a retry succeeds', async () => {
    const station = await openStation({ bufSize: 512 });
    const knownValues = await tfmKnownValues();
    const provisioned = await provision(station, TFM_SAMPLE_PROFILE, {
      knownValues,
      onEvent: at('step-started', 'store-certificate:certified', () => station.device.keys.inject({ failStorageAfterBytes: 500 })),
    });
    const failure = failedWith(provisioned);
    expect(failure.step?.id).toBe('store-certificate:certified');
    expect(failure.error).toMatchObject({ code: 'cert-store-failed', key: 'certified', cause: { reason: 'storage-failure' } });
    expect(provisioned.events.filter((event) => event.type === 'step-progress').length).toBeGreaterThan(0); // it was part-way
    expect(failure.boardState).toBe('cleaned');
    expect(failure.cleanup.map((report) => report.keyId)).toEqual(['0x00000003', '0x00000002', '0x00000001']);
    expect(station.device.keys.store.ids()).toEqual([]);
    expect(station.device.keys.store.tamperSince(0).map((event) => event.kind)).toContain(TAMPER_KIND.STORAGE_WRITE);
    const store = provisioned.audit.records.filter((record) => record.action === 'keys.cert-store');
    expect(store.map((record) => record.result ?? 'intent')).toEqual(['intent', 'failed']);
    expect(store[1]!.errorCode).toBe('cert-store-failed');
    expect(provisioned.audit.records.at(-1)).toMatchObject({ action: 'provision.run', result: 'failed', errorCode: 'cert-store-failed' });

    const retry = succeeded(await provision(station, TFM_SAMPLE_PROFILE, { knownValues }));
    expect(station.device.keys.store.peek(3)!.cert).not.toBeNull();
    expect(retry.certificate).not.toBeNull();
  });
});

describe('a reboot between steps', () => {
  it('after every single request, the run waits for the board and goes on to the end', { timeout: 60_000 }, async () => {
    const clean = await openStation();
    const knownValues = await tfmKnownValues();
    succeeded(await provision(clean, TFM_SAMPLE_PROFILE, { knownValues }));
    const requests = clean.exchanges.filter((exchange) => exchange.direction === 'tx' && exchange.command.startsWith('keys/')).length;
    expect(requests).toBeGreaterThanOrEqual(10);

    for (let n = 1; n < requests; n++) {
      const station = await openStation();
      station.device.keys.inject({ rebootBetweenSteps: n });
      const provisioned = await provision(station, TFM_SAMPLE_PROFILE, { knownValues });
      const result = succeeded(provisioned);
      expect(station.device.board.bootCount, `reboot after request ${n}`).toBe(2);
      expect(result.timings.steps.some((step) => step.recovered), `reboot after request ${n}`).toBe(true);
      expect(provisioned.events.some((event) => event.type === 'step-recovering')).toBe(true);
      expect(station.device.keys.store.ids()).toEqual([1, 2, 3]);
      expect(bytesToHex(station.device.keys.store.peek(3)!.publicKey!)).toBe(result.keys[2]!.publicKey);
      expect(pairedRecords(provisioned.audit)).toBe(true);
    }
  });

  it('a lost answer to generate: the key it made is destroyed and made again', async () => {
    const station = await openStation();
    const provisioned = await provision(station, TFM_SAMPLE_PROFILE, {
      knownValues: await tfmKnownValues(),
      onEvent: at('step-started', 'create-key:random', () => station.device.board.faults.inject({ dropResponses: 1 })),
    });
    const result = succeeded(provisioned);
    expect(keysSent(station, 'keys/generate')).toBe(2);
    expect(keysSent(station, 'keys/destroy')).toBe(1);
    expect(bytesToHex(station.device.keys.store.peek(1)!.publicKey!)).toBe(result.keys[0]!.publicKey);
    const destroy = provisioned.audit.records.find((record) => record.action === 'keys.destroy' && record.phase === 'intent')!;
    expect(destroy.details?.reason).toBe('the answer that created it was lost');
    expect(pairedRecords(provisioned.audit)).toBe(true);
  });
});

describe('a board that answers a wrong signature', () => {
  it('fails proof of possession, destroys the keys; with a sound board the retry succeeds', async () => {
    const station = await openStation();
    const profile = tfmWith({ certified: { certificate: 'proof-of-possession' } });
    const knownValues = await tfmKnownValues();
    const restore = corruptSignatures(station, () => true);
    const failure = failedWith(await provision(station, profile, { knownValues }));
    expect(failure.step?.id).toBe('certify:certified');
    expect(failure.error.code).toBe('proof-of-possession-failed');
    expect(failure.message).toContain('does not hold the key it reported');
    expect(failure.boardState).toBe('cleaned');
    expect(station.device.keys.store.ids()).toEqual([]);
    restore();
    expect(succeeded(await provision(station, profile, { knownValues })).path).toBe('proof-of-possession');
  });

  it('fails the final check after the chain is stored, and the certified key is destroyed with its chain', async () => {
    const station = await openStation();
    corruptSignatures(station, () => true);
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues() }));
    expect(failure.step?.id).toBe('verify:certified');
    expect(failure.error.code).toBe('signature-invalid');
    expect(failure.boardState).toBe('cleaned');
    expect(station.device.keys.store.ids()).toEqual([]);
  });

  it('challenges carry their own label, never the prefix the board reserves', () => {
    expect(CHALLENGE_LABEL.startsWith(KEYS_CONTEXT_PREFIX)).toBe(false);
  });
});

describe('the link pulled', () => {
  it('reports the keys it could not destroy, and re-provisioning on a new link succeeds', async () => {
    const station = await openStation();
    const knownValues = await tfmKnownValues();
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues, onEvent: at('step-started', 'store-certificate:certified', () => station.device.board.disconnect()) }));
    expect(failure.error.code).toBe('board-unreachable');
    expect(failure.boardState).toBe('needs-attention');
    expect(failure.next).toBe('reprovision');
    expect(failure.cleanup.map((report) => [report.keyId, report.removed])).toEqual([
      ['0x00000003', false],
      ['0x00000002', false],
      ['0x00000001', false],
    ]);
    expect(failure.message).toContain('could not be destroyed');
    expect(station.device.keys.store.ids()).toEqual([1, 2, 3]);

    const board = await connectBoard(connectSimulatedBoard(station.device.board, { baudRate: Infinity }), { timeoutMs: 300 });
    try {
      const again = failedWith(await provision({ ...station, board }, TFM_SAMPLE_PROFILE, { knownValues }));
      expect(again.error.code).toBe('already-provisioned');
      const result = succeeded(await provision({ ...station, board }, TFM_SAMPLE_PROFILE, { knownValues, reprovision: true }));
      expect(result.certificate).not.toBeNull();
    } finally {
      await board.close();
    }
  });
});

describe('the operator cancels', () => {
  it('stops before the next step and destroys what was made', async () => {
    const station = await openStation();
    const controller = new AbortController();
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues(), signal: controller.signal, onEvent: at('step-done', 'create-key:known', () => controller.abort()) }));
    expect(failure.error.code).toBe('aborted');
    expect(failure.step?.id).toBe('create-key:certified');
    expect(failure.boardState).toBe('cleaned');
    expect(station.device.keys.store.ids()).toEqual([]);
  });
});

describe('the audit log refusing a record mid-run', () => {
  it('sends nothing for that step and cleans up', async () => {
    const station = await openStation();
    const memory = new MemoryAuditSink();
    const refusing: AuditSink = {
      intent: (action, fields) => (action === 'keys.cert-store' ? Promise.resolve({ ok: false, error: { code: 'audit-storage', message: 'the disk is full' } }) : memory.intent(action, fields)),
      outcome: (seq, result, fields) => memory.outcome(seq, result, fields),
    };
    const failure = failedWith(await provision(station, TFM_SAMPLE_PROFILE, { knownValues: await tfmKnownValues(), audit: refusing }));
    expect(failure.step?.id).toBe('store-certificate:certified');
    expect(failure.error.code).toBe('audit-failed');
    expect(keysSent(station, 'keys/cert')).toBe(0);
    expect(failure.boardState).toBe('cleaned');
    expect(pairedRecords(memory)).toBe(true);
  });
});

describe('settings-only faults', () => {
  it('a failed save deletes every name written, and a retry succeeds', async () => {
    const station = await openStandardStation();
    station.device.settings.inject({ failNextSave: true });
    const failure = failedWith(await provision(station, SETTINGS_ONLY_PROFILE));
    expect(failure.step?.id).toBe('settings-save');
    expect(failure.error.code).toBe('settings-failed');
    expect(failure.cleanup.map((report) => [report.name, report.removed])).toEqual([
      ['imprint/counter', true],
      ['imprint/chain', true],
      ['imprint/cert', true],
      ['imprint/key', true],
    ]);
    expect(station.device.settings.runtime.size + station.device.settings.stored.size).toBe(0);
    expect(succeeded(await provision(station, SETTINGS_ONLY_PROFILE)).settings).toHaveLength(4);
  });

  it('a failed write deletes the names written before it', async () => {
    const station = await openStandardStation();
    const failure = failedWith(await provision(station, SETTINGS_ONLY_PROFILE, { onEvent: at('step-started', 'settings-write', () => station.device.settings.inject({ failNextWrite: true })) }));
    expect(failure.error.code).toBe('settings-failed');
    expect(failure.message).toContain('imprint/key');
    expect(failure.boardState).toBe('unchanged');
    expect(station.device.settings.runtime.size).toBe(0);
  });
});

describe('no secret reaches the audit log, the events or the result', () => {
  /** Every key value the simulated board was given or made, captured as it is stored. */
  function captureBoardSecrets(station: Station): Uint8Array[] {
    const secrets: Uint8Array[] = [];
    const store = station.device.keys.store;
    const putKey = store.putKey.bind(store);
    store.putKey = (record) => {
      secrets.push(record.secret.slice());
      return putKey(record);
    };
    return secrets;
  }

  function expectNoSecrets(texts: string[], secrets: Uint8Array[]): void {
    const known = new KnownSecrets();
    for (const secret of secrets) expect(known.add(secret)).toBe(true);
    for (const text of texts) expect(known.findIn(text)).toBeNull();
  }

  const runs: [string, Profile, boolean][] = [
    ['tfm-sample (CSR)', TFM_SAMPLE_PROFILE, false],
    ['tfm-sample (proof of possession, browser key)', tfmWith({ certified: { certificate: 'proof-of-possession', source: 'browser' } }), false],
    ['tfm-sample (generate-csr)', tfmWith({ random: { certificate: 'generate-csr' } }), false],
    ['tfm-sample, failing at the store', TFM_SAMPLE_PROFILE, true],
    ['supervisor, imported X25519', { ...SUPERVISOR_PROFILE, keys: [{ ...SUPERVISOR_PROFILE.keys[0]!, source: 'operator' }] }, false],
  ];

  it.each(runs)('%s', async (_name, profile, fail) => {
    const station = await openStation();
    const boardSecrets = captureBoardSecrets(station);
    const knownValues = { known: rawScalar(), certified: await pkcs8Pem(), supervisor: crypto.getRandomValues(new Uint8Array(32)) };
    const holds: string[] = [];
    const memory = new MemoryAuditSink();
    const audit: AuditSink = { ...memory, intent: memory.intent.bind(memory), outcome: memory.outcome.bind(memory), holdSecret: (secret, label) => (holds.push(label), memory.holdSecret(secret, label)), releaseSecrets: () => memory.releaseSecrets() };
    const provisioned = await provision(station, profile, {
      knownValues,
      audit,
      ...(fail ? { onEvent: at('step-started', 'store-certificate:certified', () => station.device.keys.inject({ failStorageAfterBytes: 10 })) } : {}),
    });
    expect(provisioned.run.ok).toBe(!fail);
    const operatorScalar = readPrivateScalar(knownValues.certified, 'P-256');
    const secrets = [...boardSecrets, knownValues.known, knownValues.supervisor, ...(operatorScalar.ok ? [operatorScalar.value] : [])];
    expect(boardSecrets.length).toBeGreaterThan(0);
    expect(holds.length).toBe(profile.kind === 'keys-group' ? profile.keys.filter((key) => key.source !== 'board').length : 1);
    expectNoSecrets([JSON.stringify(memory.records), JSON.stringify(provisioned.events), JSON.stringify(provisioned.run)], secrets);
  });

  it('settings-only: the device key and an operator secret cross the cable, but never reach the log', async () => {
    const station = await openStandardStation();
    const psk = utf8.encode('correct horse battery staple');
    const profile = { ...SETTINGS_ONLY_PROFILE, settings: [...SETTINGS_ONLY_PROFILE.settings, { name: 'imprint/psk', content: 'operator-secret' as const, label: 'psk' }] };
    const log = await openTestLog();
    try {
      const provisioned = await provision(station, profile, { knownValues: { psk: 'correct horse battery staple' }, audit: auditLogSink(log) });
      succeeded(provisioned);
      const exported = await exportJsonl(log);
      expect(exported.ok).toBe(true);
      const secrets = [station.device.settings.stored.get('imprint/key')!, psk];
      expectNoSecrets([exported.ok ? exported.value : '', JSON.stringify(provisioned.events), JSON.stringify(provisioned.run)], secrets);
      expect(exported.ok && exported.value).toContain('"plaintextOnWire":"true"');
    } finally {
      log.close();
    }
  });

  it('the guard refuses a record carrying a secret the run holds', async () => {
    const audit = new MemoryAuditSink();
    const scalar = rawScalar();
    audit.holdSecret(scalar, 'a key value');
    const refused = await audit.intent('keys.import', { details: { note: bytesToHex(scalar) } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'audit-secret-refused' } });
  });
});
