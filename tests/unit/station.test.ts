/**
 * Station mode (src/lib/station) in Node: simulated boards on instant wires, the real audit log
 * and the station's queue store in fake-indexeddb. Boards run in parallel and a failing one
 * leaves the others alone; duplicate serials and devices are refused unless re-provisioning is
 * chosen (and audited); the shift summary and its exports; labels; the queue survives a new
 * Station (a reloaded tab), and a run cut off mid-way is reconciled and provisioned again.
 */
import 'fake-indexeddb/auto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AuditLog, openAuditLog, type StoredRecord } from '../../src/lib/audit';
import { buildMcubootImage } from '../../src/lib/device/mcuboot-image';
import { planProvisioning, TFM_SAMPLE_PROFILE, SETTINGS_ONLY_PROFILE, type Profile } from '../../src/lib/provisioning';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../../src/lib/sim';
import { openDeviceRegistry } from '../../src/lib/registry';
import { ok } from '../../src/lib/smp/result';
import {
  freshValuesProfile,
  labelFor,
  labelPayload,
  normalizeSerial,
  openStationStore,
  qrMatrix,
  qrSvg,
  Station,
  StationAudit,
  stationImage,
  summarize,
  summaryCsv,
  summaryJson,
  SUMMARY_CSV_COLUMNS,
  type StationJob,
  type StationPort,
  type StationStore,
} from '../../src/lib/station';
import { reconcileStationIntents } from '../../src/lib/state/station-reconcile';
import { sharedCa } from './support/provisioning';

let databases = 0;
let ports = 0;

interface Harness {
  station: Station;
  log: AuditLog;
  store: StationStore;
  names: { audit: string; station: string; registry: string };
}

/** A station over its own audit log and queue store; `names` reopens the same databases (a reloaded tab). */
async function openHarness(options: { names?: Harness['names']; profile?: Profile; image?: Uint8Array; wrapLog?: (log: AuditLog) => AuditLog } = {}): Promise<Harness> {
  const n = ++databases;
  const names = options.names ?? { audit: `station-audit-${n}`, station: `station-queue-${n}`, registry: `station-registry-${n}` };
  const opened = await openAuditLog({ appBuild: 'test', dbName: names.audit });
  if (!opened.ok) throw new Error(opened.error.message);
  const log = options.wrapLog ? options.wrapLog(opened.value) : opened.value;
  const store = openStationStore(names.station);
  const ca = await sharedCa();
  const image = options.image ? stationImage('app.bin', options.image) : null;
  if (image && !image.ok) throw new Error(image.error.message);
  const station = new Station({
    store,
    openAudit: async () => log,
    setup: async () => ok({ profile: options.profile ?? freshValuesProfile(TFM_SAMPLE_PROFILE), ca, image: image?.value ?? null, operator: 'alice', knownValues: () => ({}) }),
    reconcile: reconcileStationIntents,
    openRegistry: () => openDeviceRegistry(names.registry),
    timeoutMs: 400,
  });
  await station.restore();
  return { station, log, store, names };
}

/** A simulated board for `serial` (its device id follows from the serial) behind a station port. */
function simPort(serial: string, options: { forJob?: string; device?: SimulatedDevice } = {}): { port: StationPort; device: SimulatedDevice } {
  const device = options.device ?? createSimulatedDevice({ serialNumber: serial, name: `sim-${serial}`, bootMs: 30 });
  const id = `sim-${++ports}`;
  return { device, port: { id, label: `simulated board ${serial}`, ...(options.forJob ? { forJob: options.forJob } : {}), open: async () => connectSimulatedBoard(device.board, { baudRate: Infinity }) } };
}

function byserial(station: Station, serial: string): StationJob {
  const job = station.jobs.find((candidate) => candidate.serial === serial);
  if (!job) throw new Error(`no job ${serial}`);
  return job;
}

async function allRecords(log: AuditLog): Promise<StoredRecord[]> {
  const records = await log.records();
  if (!records.ok) throw new Error(records.error.message);
  return records.value;
}

async function openIntents(log: AuditLog): Promise<StoredRecord[]> {
  const open = await log.unreconciledIntents();
  if (!open.ok) throw new Error(open.error.message);
  return open.value;
}

describe('serials', () => {
  it('takes what a scanner types (prefix and suffix control characters, spaces) and refuses what is not a serial', () => {
    expect(normalizeSerial('  SN-0042\r\n')).toEqual({ ok: true, value: 'SN-0042' });
    expect(normalizeSerial('\tAB.12:x/3_4')).toEqual({ ok: true, value: 'AB.12:x/3_4' });
    for (const bad of ['', '   ', 'SN 42', 'CN=evil', '-SN', 'SN,1', 'SN+1', 'x'.repeat(65)]) {
      const result = normalizeSerial(bad);
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('serial-invalid');
    }
  });
});

describe('Station', () => {
  it('provisions three boards in parallel, one per port; a failure on one leaves the others alone', async () => {
    const { station, log, names } = await openHarness();
    for (const serial of ['SN-A1', 'SN-A2', 'SN-A3']) expect((await station.add(`${serial}\r`)).ok).toBe(true);
    expect(station.jobs.map((job) => job.state)).toEqual(['waiting', 'waiting', 'waiting']);

    const boards = ['SN-A1', 'SN-A2', 'SN-A3'].map((serial) => simPort(serial));
    boards[1]!.device.keys.inject({ slotsFull: true });
    const seenRunning = new Set<number>();
    station.onChange(() => seenRunning.add(station.running));
    for (const { port } of boards) station.portAppeared(port);
    await station.idle();

    expect(Math.max(...seenRunning)).toBe(3); // all three at once
    expect(station.jobs.map((job) => [job.serial, job.state])).toEqual([
      ['SN-A1', 'pass'],
      ['SN-A2', 'fail'],
      ['SN-A3', 'pass'],
    ]);
    const failed = byserial(station, 'SN-A2');
    expect(failed.failure?.code).toBe('key-create-failed');
    expect(failed.failure?.message).toMatch(/slot/i);
    for (const serial of ['SN-A1', 'SN-A3']) {
      const job = byserial(station, serial);
      expect(job.result?.certFingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(job.result?.deviceId).toMatch(/^[0-9a-f]{32}$/);
      expect(job.attempts).toBe(1);
      expect(job.durationMs).toBeGreaterThan(0);
    }
    expect(station.ports.map((port) => port.status)).toEqual(['spent', 'spent', 'spent']);

    const records = await allRecords(log);
    const runs = records.filter((record) => record.action === 'provision.run' && record.phase === 'outcome');
    expect(runs.map((record) => [record.boardSerial, record.result]).sort()).toEqual([
      ['SN-A1', 'ok'],
      ['SN-A2', 'failed'],
      ['SN-A3', 'ok'],
    ]);
    expect(await openIntents(log)).toEqual([]);
    // The PASS boards are in the device registry with the certificates they hold; the FAIL board is not.
    const registry = await openDeviceRegistry(names.registry);
    if (!registry.ok) throw new Error(registry.error.message);
    const registered = await registry.value.list();
    registry.value.close();
    const passed = ['SN-A1', 'SN-A3'].map((serial) => byserial(station, serial).result!);
    expect(registered.ok && registered.value.map((device) => [device.deviceId, device.certFingerprint, device.source]).sort()).toEqual(passed.map((result) => [result.deviceId, result.certFingerprint, 'provisioning']).sort());
    const registrations = records.filter((record) => record.action === 'registry.register' && record.phase === 'outcome');
    expect(registrations.map((record) => [record.boardSerial, record.result]).sort()).toEqual([['SN-A1', 'ok'], ['SN-A3', 'ok']]);
    // What the FAIL board was given was cleaned up; the PASS boards hold their keys.
    expect(boards[1]!.device.keys.store.used).toBe(0);
    expect(boards[0]!.device.keys.store.used).toBe(3);
  });

  it('a cable pulled on one board mid-run fails that board only; a removed job takes its simulated board with it', async () => {
    const { station } = await openHarness();
    await station.add('SN-P1');
    await station.add('SN-P2');
    const pulled = simPort('SN-P1');
    const steady = simPort('SN-P2');
    let cut = false;
    station.onChange(() => {
      const job = station.jobs.find((candidate) => candidate.serial === 'SN-P1');
      if (!cut && job?.state === 'provisioning' && job.progress?.text.startsWith('Import')) {
        cut = true;
        pulled.device.board.disconnect();
      }
    });
    station.portAppeared(pulled.port);
    station.portAppeared(steady.port);
    await station.idle();
    expect(cut).toBe(true);
    expect(byserial(station, 'SN-P1').state).toBe('fail');
    expect(byserial(station, 'SN-P1').failure?.message).toMatch(/link|connection|gone/i);
    expect(byserial(station, 'SN-P2').state).toBe('pass');

    const waiting = await station.add('SN-P3');
    if (!waiting.ok) throw new Error(waiting.error.message);
    station.portAppeared(simPort('SN-P3', { forJob: waiting.value.id }).port);
    expect(station.ports).toHaveLength(3);
    expect(await station.remove(waiting.value.id)).toBe(true);
    expect(station.ports).toHaveLength(2);
    expect(await station.clearFinished()).toBe(2);
    expect(station.jobs).toEqual([]);
  });

  it('refuses a serial already provisioned unless the operator chooses re-provisioning, which is audited', async () => {
    const { station, log } = await openHarness();
    await station.add('SN-B1');
    const first = simPort('SN-B1');
    station.portAppeared(first.port);
    await station.idle();
    expect(byserial(station, 'SN-B1').state).toBe('pass');

    const again = await station.add('sn-b1'); // case does not make another board
    expect(again.ok).toBe(false);
    if (!again.ok) {
      expect(again.error.code).toBe('serial-provisioned');
      expect(again.error.message).toMatch(/^Already provisioned: SN-B1 on .* UTC \(in this shift\)\. Refused/);
    }
    const waitingTwice = await station.add('SN-B2');
    expect(waitingTwice.ok).toBe(true);
    const inQueue = await station.add('SN-B2');
    expect(!inQueue.ok && inQueue.error.code).toBe('serial-in-queue');

    // Re-provision: the PASS row runs again, on the board still plugged into its port.
    const chosen = await station.add('SN-B1', { reprovision: true });
    expect(chosen.ok).toBe(true);
    await station.idle();
    const job = byserial(station, 'SN-B1');
    expect(job).toMatchObject({ state: 'pass', attempts: 2, reprovision: true });
    expect(station.jobs.filter((candidate) => candidate.serial === 'SN-B1')).toHaveLength(1);
    const records = await allRecords(log);
    const decision = records.find((record) => record.action === 'station.reprovision');
    expect(decision).toMatchObject({ phase: 'intent', boardSerial: 'SN-B1', details: { reason: 'serial-provisioned', chosenBy: 'operator' } });
    const runs = records.filter((record) => record.action === 'provision.run' && record.phase === 'intent' && record.boardSerial === 'SN-B1');
    expect(runs.map((record) => record.details?.reprovision ?? 'false')).toEqual(['false', 'true']);
    expect(await openIntents(log)).toEqual([]);
  });

  it('refuses a device provisioned before under another serial, and re-provisions it on request', async () => {
    const first = await openHarness();
    await first.station.add('SN-C1');
    const board = simPort('SN-C1');
    first.station.portAppeared(board.port);
    await first.station.idle();
    expect(byserial(first.station, 'SN-C1').state).toBe('pass');

    // Another shift, the same log: the board comes back with a new serial label.
    const later = await openHarness({ names: { audit: first.names.audit, station: `${first.names.station}-next`, registry: first.names.registry } });
    await later.station.add('SN-C9');
    later.station.portAppeared(simPort('SN-C1', { device: board.device }).port);
    await later.station.idle();
    const refused = byserial(later.station, 'SN-C9');
    expect(refused.state).toBe('fail');
    expect(refused.failure?.code).toBe('device-provisioned');
    expect(refused.failure?.message).toMatch(/already provisioned as SN-C1 .*Nothing was sent to it/);
    expect(board.device.keys.store.used).toBe(3); // untouched

    expect((await later.station.retry(refused.id, { reprovision: true })).ok).toBe(true);
    await later.station.idle();
    expect(byserial(later.station, 'SN-C9')).toMatchObject({ state: 'pass', attempts: 2, reprovision: true });
    const records = await allRecords(later.log);
    expect(records.filter((record) => record.action === 'station.reprovision')).toHaveLength(2);
    expect(records.find((record) => record.action === 'station.reprovision')?.details?.reason).toBe('device-provisioned');
  });

  it('keeps a simulated board for the job it was made for, and uploads the shift image before provisioning', async () => {
    const body = new Uint8Array(8 * 1024).map((_, index) => index & 0xff);
    const image = buildMcubootImage({ version: { major: 2, minor: 0, revision: 1, build: 0 }, body });
    const { station, log } = await openHarness({ image });
    const a = await station.add('SN-D1');
    const b = await station.add('SN-D2');
    if (!a.ok || !b.ok) throw new Error('not added');
    const phases: string[] = [];
    station.onChange(() => {
      const state = station.jobs.find((job) => job.id === b.value.id)?.state;
      if (state && phases.at(-1) !== state) phases.push(state);
    });
    // A board made for the second serial must not be taken by the first.
    station.portAppeared(simPort('SN-D2', { forJob: b.value.id }).port);
    await station.idle();
    expect(byserial(station, 'SN-D1').state).toBe('waiting');
    expect(byserial(station, 'SN-D2').state).toBe('pass');
    expect(phases).toEqual(['waiting', 'connecting', 'uploading', 'provisioning', 'pass']);
    expect(byserial(station, 'SN-D2').result?.imageSha).toMatch(/^[0-9a-f]{64}$/);
    const upload = (await allRecords(log)).filter((record) => record.action === 'image.upload');
    expect(upload.map((record) => [record.phase, record.result ?? null])).toEqual([
      ['intent', null],
      ['outcome', 'ok'],
    ]);
  });

  it('keeps waiting boards while the setup is incomplete, and says why', async () => {
    const n = ++databases;
    const opened = await openAuditLog({ appBuild: 'test', dbName: `station-audit-blocked-${n}` });
    if (!opened.ok) throw new Error(opened.error.message);
    let ready = false;
    const station = new Station({
      store: openStationStore(`station-queue-blocked-${n}`),
      openAudit: async () => opened.value,
      setup: async () => (ready ? ok({ profile: freshValuesProfile(TFM_SAMPLE_PROFILE), ca: await sharedCa(), image: null, operator: '', knownValues: () => ({}) }) : { ok: false, error: { code: 'setup-incomplete', message: 'Create or import a CA first.' } }),
      timeoutMs: 400,
    });
    await station.add('SN-E1');
    station.portAppeared(simPort('SN-E1').port);
    await station.idle();
    expect(station.blocked).toBe('Create or import a CA first.');
    expect(byserial(station, 'SN-E1').state).toBe('waiting');
    ready = true;
    station.kick();
    await station.idle();
    expect(station.blocked).toBeNull();
    expect(byserial(station, 'SN-E1').state).toBe('pass');
  });

  it('restores the queue in a new Station (a reloaded tab), in scan order', async () => {
    const first = await openHarness();
    for (const serial of ['SN-F3', 'SN-F1', 'SN-F2']) await first.station.add(serial);
    await first.station.idle();
    const reopened = await openHarness({ names: first.names });
    expect(reopened.station.jobs.map((job) => [job.order, job.serial, job.state])).toEqual([
      [1, 'SN-F3', 'waiting'],
      [2, 'SN-F1', 'waiting'],
      [3, 'SN-F2', 'waiting'],
    ]);
    await reopened.station.add('SN-F4');
    expect(reopened.station.jobs.at(-1)?.order).toBe(4);
    expect(await reopened.station.remove(reopened.station.jobs[0]!.id)).toBe(true);
    const again = await openHarness({ names: first.names });
    expect(again.station.jobs.map((job) => job.serial)).toEqual(['SN-F1', 'SN-F2', 'SN-F4']);
  });

  it('reconciles a run cut off by a closed tab, then provisions the board again', async () => {
    // The "tab" freezes at its 7th audit write: the outcome of the second sealed import never lands.
    let writes = 0;
    let frozen!: () => void;
    const froze = new Promise<void>((resolve) => (frozen = resolve));
    const freezeAt = (log: AuditLog): AuditLog =>
      new Proxy(log, {
        get(target, name) {
          const value = Reflect.get(target, name, target);
          if (name !== 'intent' && name !== 'outcome') return typeof value === 'function' ? value.bind(target) : value;
          return (...args: unknown[]) => {
            if (++writes >= 7) {
              frozen();
              return new Promise(() => {});
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const first = await openHarness({ wrapLog: freezeAt });
    await first.station.add('SN-G1');
    const board = simPort('SN-G1');
    first.station.portAppeared(board.port);
    await froze;
    expect(byserial(first.station, 'SN-G1').state).toBe('provisioning');
    expect(board.device.keys.store.used).toBe(3); // the board has the keys; the log does not say so
    await new Promise((resolve) => setTimeout(resolve, 20)); // the last job write reaches the store

    const reopened = await openHarness({ names: first.names });
    const job = byserial(reopened.station, 'SN-G1');
    expect(job).toMatchObject({ state: 'waiting', resume: true });
    expect(job.note).toMatch(/Interrupted while provisioning/);
    const open = await openIntents(reopened.log);
    expect(open.map((intent) => intent.action)).toEqual(['provision.run', 'keys.import']);

    reopened.station.portAppeared(simPort('SN-G1', { device: board.device }).port);
    await reopened.station.idle();
    expect(byserial(reopened.station, 'SN-G1')).toMatchObject({ state: 'pass', attempts: 2, resume: false });
    expect(await openIntents(reopened.log)).toEqual([]);
    const records = await allRecords(reopened.log);
    const closed = records.filter((record) => record.phase === 'outcome' && open.some((intent) => intent.seq === record.intentSeq));
    expect(closed.map((record) => [record.action, record.result])).toEqual([
      ['provision.run', 'unknown'],
      ['keys.import', 'ok'],
    ]);
    expect(records.find((record) => record.action === 'station.resume')?.details).toMatchObject({ reason: 'interrupted', next: 'reprovision' });
    expect(board.device.keys.store.used).toBe(3);
  });

  it('refuses to run without the audit log', async () => {
    const station = new Station({
      store: openStationStore(`station-queue-nolog-${++databases}`),
      openAudit: async () => null,
      setup: async () => ok({ profile: freshValuesProfile(TFM_SAMPLE_PROFILE), ca: await sharedCa(), image: null, operator: '', knownValues: () => ({}) }),
    });
    await station.add('SN-H1');
    station.portAppeared(simPort('SN-H1').port);
    await station.idle();
    expect(station.blocked).toMatch(/audit log could not be opened/);
    expect(byserial(station, 'SN-H1').state).toBe('waiting');
  });
});

describe('fresh values and the image', () => {
  it('turns operator-valued keys into browser-made ones, so nothing is asked per board', () => {
    const plan = planProvisioning(freshValuesProfile(TFM_SAMPLE_PROFILE));
    expect(plan.ok && plan.value.operatorValues).toEqual([]);
    expect(plan.ok && plan.value.profile.kind === 'keys-group' && plan.value.profile.keys.map((key) => key.source)).toEqual(['board', 'browser', 'browser']);
    expect(freshValuesProfile(SETTINGS_ONLY_PROFILE)).toBe(SETTINGS_ONLY_PROFILE);
  });

  it('refuses a file that is not an MCUboot image', () => {
    const refused = stationImage('notes.txt', new TextEncoder().encode('hello'));
    expect(!refused.ok && refused.error.message).toMatch(/^notes\.txt: /);
  });
});

describe('StationAudit', () => {
  it('guards every run’s secrets in every run’s records, and releases only the run’s own', async () => {
    const opened = await openAuditLog({ appBuild: 'test', dbName: `station-audit-guard-${++databases}` });
    if (!opened.ok) throw new Error(opened.error.message);
    const audit = new StationAudit(opened.value);
    const a = audit.runSink();
    const b = audit.runSink();
    const secretA = crypto.getRandomValues(new Uint8Array(32));
    const secretB = crypto.getRandomValues(new Uint8Array(32));
    a.holdSecret!(secretA, 'run A key');
    b.holdSecret!(secretB, 'run B key');
    const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
    const leak = await b.intent('keys.import', { boardSerial: 'SN-1', details: { note: hex(secretA) } });
    expect(!leak.ok && leak.error.message).toMatch(/run A key/);
    b.releaseSecrets!();
    const stillGuarded = await a.intent('keys.import', { boardSerial: 'SN-1', details: { note: hex(secretA) } });
    expect(stillGuarded.ok).toBe(false);
    const releasedB = await a.intent('keys.import', { boardSerial: 'SN-1', details: { note: hex(secretB) } });
    expect(releasedB.ok).toBe(true);
  });
});

describe('shift summary', () => {
  const job = (serial: string, state: StationJob['state'], extra: Partial<StationJob> = {}): StationJob => ({
    id: serial,
    order: 0,
    serial,
    state,
    addedAt: '2025-06-01T10:00:00.000Z',
    startedAt: '2025-06-01T10:00:00.000Z',
    endedAt: '2025-06-01T10:00:10.000Z',
    durationMs: 10_000,
    attempts: 1,
    reprovision: false,
    resume: false,
    deviceId: null,
    port: 'USB serial 2fe3:0100 #1',
    failure: null,
    result: null,
    note: null,
    progress: null,
    ...extra,
  });

  const jobs = [
    job('SN-1', 'pass', { result: { deviceId: 'aa', certFingerprint: 'f'.repeat(64), certSerial: '01', subject: 'CN=aa', imageSha: null, runId: 'r1' } }),
    job('SN-2', 'pass', { attempts: 2, durationMs: 20_000, endedAt: '2025-06-01T10:00:40.000Z' }),
    job('SN-3', 'fail', { failure: { code: 'slots-insufficient', message: 'Key ids: failed. the board has 0 free slots', step: 'key-ids' } }),
    job('=SN-4', 'fail', { failure: { code: 'slots-insufficient', message: 'again, "quoted"', step: 'key-ids' } }),
    job('SN-5', 'fail', { failure: { code: 'link-failed', message: 'port lost', step: null } }),
    job('SN-6', 'waiting', { startedAt: null, endedAt: null, durationMs: null }),
  ];

  it('counts, yields, times and groups failures by reason', () => {
    const summary = summarize(jobs);
    expect(summary).toMatchObject({ queued: 6, waiting: 1, running: 0, passed: 2, failed: 3, yield: 0.4, firstPassYield: 0.2, meanSecondsPerBoard: 12, meanSecondsPass: 15, from: '2025-06-01T10:00:00.000Z', to: '2025-06-01T10:00:40.000Z' });
    expect(summary.boardsPerHour).toBe(450); // 5 boards in 40 s
    expect(summary.failuresByReason.map((group) => [group.code, group.count, group.serials])).toEqual([
      ['slots-insufficient', 2, ['SN-3', '=SN-4']],
      ['link-failed', 1, ['SN-5']],
    ]);
    expect(summarize([])).toMatchObject({ queued: 0, yield: null, meanSecondsPerBoard: null, boardsPerHour: null, failuresByReason: [] });
  });

  it('exports JSON (summary and boards) and spreadsheet-safe CSV', () => {
    const json = JSON.parse(summaryJson(jobs, { stationId: '0123456789abcdef', appBuild: 'test', profile: 'tfm-sample', operator: 'alice', exportedAt: '2025-06-01T11:00:00.000Z' }));
    expect(json).toMatchObject({ format: 'imprint-shift-summary/1', stationId: '0123456789abcdef', summary: { passed: 2, failed: 3 } });
    expect(json.boards).toHaveLength(6);
    expect(json.boards[0]).toMatchObject({ serial: 'SN-1', state: 'pass', certFingerprint: 'f'.repeat(64), seconds: 10 });
    const lines = summaryCsv(jobs).trimEnd().split('\r\n');
    expect(lines[0]).toBe(SUMMARY_CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(7);
    expect(lines[4]).toContain("'=SN-4"); // a formula start is defused
    expect(lines[4]).toContain('"again, ""quoted"""');
  });
});

describe('labels', () => {
  it('carries serial, device id and certificate fingerprint as compact JSON, drawn as one SVG path', () => {
    const passed: StationJob = {
      id: 'x', order: 1, serial: 'SN-0042', state: 'pass', addedAt: '', startedAt: null, endedAt: null, durationMs: null, attempts: 1, reprovision: false, resume: false,
      deviceId: 'be94903e5b1a22588ed9b4f58fb8b3f3', port: null, failure: null, note: null, progress: null,
      result: { deviceId: 'be94903e5b1a22588ed9b4f58fb8b3f3', certFingerprint: '7602e8ca36262c99f019779d1fc588b8511c1e3f07288bab0c613f9abd0b6d03', certSerial: '01', subject: null, imageSha: null, runId: null },
    };
    const content = labelFor(passed)!;
    const payload = labelPayload(content);
    expect(JSON.parse(payload)).toEqual({ v: 1, sn: 'SN-0042', id: passed.result!.deviceId, fp: passed.result!.certFingerprint });
    expect(labelFor({ ...passed, state: 'fail' })).toBeNull();

    const matrix = qrMatrix(payload);
    const { size, path } = qrSvg(payload);
    expect(size).toBe(matrix.length + 8);
    // Paint the path's rectangles back into a grid: exactly the dark modules, quiet zone clear.
    const painted = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
    for (const [, x, y, run] of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
      for (let i = 0; i < Number(run); i++) painted[Number(y)]![Number(x) + i] = true;
    }
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) expect(painted[y]![x], `${x},${y}`).toBe(matrix[y - 4]?.[x - 4] ?? false);
    }
    // The three finder patterns sit in the corners.
    expect(matrix[0]!.slice(0, 7).every(Boolean)).toBe(true);
    expect(matrix[0]!.slice(-7).every(Boolean)).toBe(true);
    expect(matrix.at(-1)!.slice(0, 7).every(Boolean)).toBe(true);
  });

  // An independent reader: Chromium draws the SVG, zbar's zbarimg decodes it (skipped where either is missing).
  const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  const ZBARIMG = '/usr/bin/zbarimg';
  it.skipIf(!existsSync(CHROMIUM) || !existsSync(ZBARIMG))('scans back with zbarimg', () => {
    const payload = labelPayload({ serial: 'SN-0042', deviceId: 'be94903e5b1a22588ed9b4f58fb8b3f3', certFingerprint: '7602e8ca36262c99f019779d1fc588b8511c1e3f07288bab0c613f9abd0b6d03' });
    const { size, path: d } = qrSvg(payload);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imprint-label-'));
    try {
      writeFileSync(path.join(dir, 'label.svg'), `<svg xmlns="http://www.w3.org/2000/svg" width="456" height="456" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges"><rect width="${size}" height="${size}" fill="#fff"/><path d="${d}" fill="#000"/></svg>`);
      const shot = spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', `--screenshot=${path.join(dir, 'label.png')}`, '--window-size=480,480', `file://${path.join(dir, 'label.svg')}`], { encoding: 'utf8', timeout: 30_000 });
      expect(existsSync(path.join(dir, 'label.png')), shot.stderr).toBe(true);
      const read = spawnSync(ZBARIMG, ['-q', '--raw', path.join(dir, 'label.png')], { encoding: 'utf8' });
      expect(read.stdout.trim()).toBe(payload);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
