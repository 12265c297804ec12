/**
 * The Station page's state class in Node: the real CA store, audit log and station queue in
 * fake-indexeddb, simulated boards made for queued serials on instant wires. A scan queues, a
 * simulated board runs it, the panels and labels follow; a duplicate scan is refused and
 * re-provisioned on request; a fault chosen for simulated boards fails the next one made; the setup (profile, image, operator) survives a new instance while
 * the operator's key values do not; the summary exports.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { buildMcubootImage } from '../../src/lib/device/mcuboot-image';
import { openCaStore, PBKDF2_MIN_ITERATIONS } from '../../src/lib/pki';
import { openStationStore } from '../../src/lib/station';
import { AuditTrail, CertificateAuthorities, createStationSettings, StationState, type StationPlatform } from '../../src/lib/state';

const noSerial: StationPlatform = {
  isSerialSupported: () => false,
  grantedSerialPorts: async () => [],
  requestSerialPort: async () => null,
  openSerial: () => Promise.reject(new Error('no serial ports here')),
  describeSerialPort: () => '',
  watchSerialPorts: () => () => {},
};

let databases = 0;
async function app(options: { n?: number; withCa?: boolean } = {}) {
  const n = options.n ?? ++databases;
  const authorities = new CertificateAuthorities({ openStore: () => openCaStore(`station-state-pki-${n}`), settings: createStationSettings(`station-state-settings-${n}`), backupIterations: PBKDF2_MIN_ITERATIONS });
  await authorities.load();
  if (options.withCa !== false && !authorities.activeId && !(await authorities.create({ organization: 'Line 1', passphrase: '', confirm: '' }))) throw new Error(authorities.errors.create);
  const audit = new AuditTrail({ appBuild: 'test', dbName: `station-state-audit-${n}` });
  await audit.start();
  const station = new StationState({ authorities, audit, platform: noSerial, store: openStationStore(`station-state-queue-${n}`), simBaudRate: Infinity, appBuild: 'test' });
  await station.start();
  return { n, authorities, audit, station };
}

describe('StationState', () => {
  it('queues a scan, runs it on a simulated board made for it, shows PASS and its label', async () => {
    const { station, audit } = await app();
    expect(await station.scan('SN-S1\r')).toBe(true);
    expect(station.notice).toBe('SN-S1 queued: plug in its board.');
    expect(station.panels.map((job) => [job.serial, job.state])).toEqual([['SN-S1', 'waiting']]);
    const job = station.jobs[0]!;
    expect(station.addSimulatedBoard(job.id)).not.toBeNull();
    expect(station.hasSimulatedBoard(job.id)).toBe(true);
    expect(station.addSimulatedBoard(job.id)).toBeNull(); // one board per serial
    await station.station.idle();
    expect(station.jobs[0]).toMatchObject({ serial: 'SN-S1', state: 'pass' });
    expect(station.panels.map((panel) => panel.state)).toEqual(['pass']);
    expect(station.labels.map((entry) => entry.label.serial)).toEqual(['SN-S1']);
    expect(station.summary).toMatchObject({ passed: 1, failed: 0, yield: 1 });
    expect(audit.openIntents).toEqual([]);

    expect(await station.scan('SN-S1')).toBe(false);
    expect(station.refusal).toMatchObject({ code: 'serial-provisioned', serial: 'SN-S1' });
    expect(await station.reprovisionRefused()).toBe(true);
    expect(station.refusal).toBeNull();
    expect(station.jobs[0]).toMatchObject({ state: 'waiting', reprovision: true });

    const json = JSON.parse(station.exportSummaryJson().text);
    expect(json).toMatchObject({ format: 'imprint-shift-summary/1', stationId: audit.stationId, profile: 'tfm-sample', summary: { queued: 1 } });
    expect(station.exportSummaryCsv().fileName).toMatch(/^imprint-shift-\d{8}T\d{6}Z\.csv$/);
  });

  it('gives the simulated boards made after a fault is chosen that fault: that board fails with the reason, the next one works', async () => {
    const { station } = await app();
    await station.scan('SN-F1');
    await station.scan('SN-F2');
    const [faulty, working] = station.jobs;
    station.simulatedFault = 'slots-full';
    station.addSimulatedBoard(faulty!.id);
    station.simulatedFault = 'none';
    station.addSimulatedBoard(working!.id);
    await station.station.idle();
    expect(station.jobs.map((job) => [job.serial, job.state, job.failure?.code ?? null])).toEqual([
      ['SN-F1', 'fail', 'key-create-failed'],
      ['SN-F2', 'pass', null],
    ]);
    expect(station.jobs[0]!.failure!.message).toMatch(/slot/i);
    expect(station.simulatedBoard(faulty!.id)!.keys.store.used).toBe(0);
    expect(station.simulatedBoard(working!.id)!.keys.store.used).toBe(3);
  });

  it('keeps boards waiting without a CA or the operator’s values, and says why', async () => {
    const { station } = await app({ withCa: false });
    await station.scan('SN-S2');
    station.addSimulatedBoard(station.jobs[0]!.id);
    await station.station.idle();
    expect(station.blocked).toMatch(/No CA/);
    expect(station.jobs[0]!.state).toBe('waiting');

    station.setKeyValues('given');
    expect(station.missingValues).toEqual(['known', 'certified']);
    station.station.kick();
    await station.station.idle();
    expect(station.blocked).toMatch(/Give the values of “known”, “certified”/);
  });

  it('keeps the shift setup across a reload, but never the operator’s key values; refuses a file that is not an image', async () => {
    const first = await app();
    first.station.chooseProfile('supervisor');
    first.station.setOperator('alice');
    expect(first.station.chooseImage({ name: 'notes.txt', bytes: new TextEncoder().encode('hello') })).toBe(false);
    expect(first.station.setupError).toMatch(/^notes\.txt: /);
    const image = buildMcubootImage({ version: { major: 3, minor: 1, revision: 0, build: 0 }, body: new Uint8Array(1024) });
    expect(first.station.chooseImage({ name: 'app.bin', bytes: image })).toBe(true);
    first.station.chooseProfile('tfm-sample');
    first.station.setKeyValues('given');
    first.station.giveValue('known', 'ab'.repeat(32), 'typed');
    expect(first.station.given).toEqual({ known: 'typed' });
    await new Promise((resolve) => setTimeout(resolve, 20)); // the setup write lands

    const again = await app({ n: first.n });
    expect(again.station).toMatchObject({ profileId: 'tfm-sample', keyValues: 'given', operator: 'alice', image: { name: 'app.bin', version: '3.1.0' } });
    expect(again.station.given).toEqual({});
    expect(again.station.missingValues).toEqual(['known', 'certified']);
  });
});
