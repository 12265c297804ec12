/**
 * Station benchmarks (`npm run bench -- station-1 station-4`): the station (src/lib/station, the
 * same queue and runner the Station page drives) provisioning simulated boards on 115200-baud
 * serial link models that spend real wall-clock time per byte, one port per board. Each board
 * gets a 64 KiB MCUboot image (uploadImage) and full identity provisioning (tfm-sample, its two
 * imported keys made fresh per board, a certificate from a fresh CA), with the audit log and
 * the queue store in fake-indexeddb.
 *
 * `station-1` provisions one board, `station-4` four at once. Each prints `boardsPerHour` and
 * `secondsPerBoard` (wall time ÷ boards: the station's throughput); `station-4` also prints
 * `parallelRatio`, its wall time for 4 boards ÷ station-1's for one. Target: ≤ 1.2 — the station
 * is limited by the wire, not by the host. A warm-up board (instant wire) runs first so both
 * scenarios measure the steady state, not module loading and JIT.
 */
import 'fake-indexeddb/auto';
import { openAuditLog } from '../src/lib/audit';
import { buildMcubootImage } from '../src/lib/device/mcuboot-image';
import { createCa, type CertificateAuthority } from '../src/lib/pki';
import { TFM_SAMPLE_PROFILE } from '../src/lib/provisioning';
import { connectSimulatedBoard, createSimulatedDevice } from '../src/lib/sim';
import { ok } from '../src/lib/smp/result';
import { freshValuesProfile, openStationStore, Station, stationImage, type StationImage, type StationPort } from '../src/lib/station';

const BAUD = 115200;
const IMAGE_BYTES = 64 * 1024;
const TARGET_RATIO = 1.2;
/** Measured runs per scenario; the median is reported. */
const RUNS = 2;

export interface StationBenchResult {
  scenario: string;
  transport: string;
  profile: string;
  boards: number;
  imageBytes: number;
  /** Wall time for all boards, ports appearing → last PASS (median of the runs). */
  seconds: number;
  boardsPerHour: number;
  secondsPerBoard: number;
  /** Mean time one board takes, found → PASS, and its two phases. */
  boardSeconds: number;
  uploadSeconds: number;
  provisionSeconds: number;
  runs: number;
  parallelRatio?: number;
  /** station-1's wall time the ratio is taken against. */
  baselineSeconds?: number;
  target?: string;
  met?: boolean;
}

interface RunMeasure {
  seconds: number;
  boardSeconds: number;
  uploadSeconds: number;
  provisionSeconds: number;
}

let benchSetup: Promise<{ ca: CertificateAuthority; image: StationImage }> | null = null;
let databases = 0;
/** station-1's result in this process, so station-4's ratio is against a run of the same process. */
let single: StationBenchResult | null = null;

function setup(): Promise<{ ca: CertificateAuthority; image: StationImage }> {
  benchSetup ??= (async () => {
    const created = await createCa({ label: 'Station bench' });
    if (!created.ok) throw new Error(created.error.message);
    const body = new Uint8Array(IMAGE_BYTES - 0x200 - 40);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 8)) & 0xff;
    const image = stationImage('bench-64k.bin', buildMcubootImage({ version: { major: 1, minor: 2, revision: 3, build: 4 }, body }));
    if (!image.ok) throw new Error(image.error.message);
    if (image.value.bytes.length !== IMAGE_BYTES) throw new Error(`bench image is ${image.value.bytes.length} bytes`);
    return { ca: created.value.ca, image: image.value };
  })();
  return benchSetup;
}

/** A fresh station (its own audit log and queue) provisioning `boards` boards at `baudRate`, one port each. */
async function runStation(boards: number, baudRate: number): Promise<RunMeasure> {
  const { ca, image } = await setup();
  const n = ++databases;
  const log = await openAuditLog({ appBuild: 'bench', dbName: `bench-station-audit-${n}` });
  if (!log.ok) throw new Error(log.error.message);
  const station = new Station({
    store: openStationStore(`bench-station-queue-${n}`),
    openAudit: async () => log.value,
    setup: async () => ok({ profile: freshValuesProfile(TFM_SAMPLE_PROFILE), ca, image, operator: 'bench', knownValues: () => ({}) }),
  });
  await station.restore();
  const serials = Array.from({ length: boards }, (_, index) => `BENCH-${n}-${index + 1}`);
  for (const serial of serials) {
    const added = await station.add(serial);
    if (!added.ok) throw new Error(added.error.message);
  }
  // When each board was found and when its provisioning began: the upload is what lies between.
  const phaseAt = { connecting: new Map<string, number>(), provisioning: new Map<string, number>() };
  station.onChange(() => {
    for (const job of station.jobs) {
      if ((job.state === 'connecting' || job.state === 'provisioning') && !phaseAt[job.state].has(job.id)) phaseAt[job.state].set(job.id, performance.now());
    }
  });
  const ports: StationPort[] = serials.map((serial, index) => {
    const { board } = createSimulatedDevice({ serialNumber: serial, name: `bench-${index + 1}` });
    return { id: serial, label: `simulated board ${serial} at ${baudRate} baud`, open: async () => connectSimulatedBoard(board, { baudRate }) };
  });
  const started = performance.now();
  for (const port of ports) station.portAppeared(port);
  await station.idle();
  const seconds = (performance.now() - started) / 1000;
  const failed = station.jobs.filter((job) => job.state !== 'pass');
  if (failed.length > 0) throw new Error(`station: ${failed.map((job) => `${job.serial} ${job.state}: ${job.failure?.message}`).join('; ')}`);
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length / 1000;
  const boardMs = station.jobs.map((job) => job.durationMs ?? 0);
  const uploadMs = station.jobs.map((job) => (phaseAt.provisioning.get(job.id) ?? 0) - (phaseAt.connecting.get(job.id) ?? 0));
  log.value.close();
  const uploadSeconds = mean(uploadMs);
  const boardSeconds = mean(boardMs);
  return { seconds, boardSeconds, uploadSeconds, provisionSeconds: boardSeconds - uploadSeconds };
}

async function measure(scenario: string, boards: number): Promise<StationBenchResult> {
  await runStation(1, Infinity); // warm-up: module loading, JIT, @noble's tables
  const runs: RunMeasure[] = [];
  for (let run = 0; run < RUNS; run++) runs.push(await runStation(boards, BAUD));
  const median = (pick: (run: RunMeasure) => number) => {
    const values = runs.map(pick).sort((a, b) => a - b);
    return values.length % 2 ? values[(values.length - 1) / 2]! : (values[values.length / 2 - 1]! + values[values.length / 2]!) / 2;
  };
  const seconds = median((run) => run.seconds);
  return {
    scenario,
    transport: `serial-${BAUD}-8N1-model`,
    profile: `${TFM_SAMPLE_PROFILE.id} (imported keys fresh per board)`,
    boards,
    imageBytes: IMAGE_BYTES,
    seconds: round(seconds, 3),
    boardsPerHour: Math.round((boards / seconds) * 3600),
    secondsPerBoard: round(seconds / boards, 3),
    boardSeconds: round(median((run) => run.boardSeconds), 3),
    uploadSeconds: round(median((run) => run.uploadSeconds), 3),
    provisionSeconds: round(median((run) => run.provisionSeconds), 3),
    runs: RUNS,
  };
}

export async function stationSingleScenario(): Promise<StationBenchResult> {
  single = await measure('station-1', 1);
  return single;
}

export async function stationParallelScenario(): Promise<StationBenchResult> {
  const baseline = single ?? (await stationSingleScenario());
  const result = await measure('station-4', 4);
  const ratio = round(result.seconds / baseline.seconds, 3);
  return { ...result, parallelRatio: ratio, baselineSeconds: baseline.seconds, target: `parallelRatio <= ${TARGET_RATIO}`, met: ratio <= TARGET_RATIO };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
