/**
 * The Station page's state: the shift's setup (profile, where imported keys' values come from,
 * an optional firmware image, the operator), the scan box, and a view of the station
 * (src/lib/station) — its queue, its ports, the shift summary — as `$state` the page renders.
 *
 * Ports come from two places: serial ports this origin may open (listed at start and kept current
 * through `navigator.serial` connect/disconnect events; one click grants the first adapter), and
 * simulated boards made in the tab for one queued serial ("Add simulated board"). The station
 * itself lives as long as the tab, so runs go on while the operator looks at other pages.
 */
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../sim';
import { BUILTIN_PROFILES, planProvisioning, type KnownValueInput, type Profile } from '../provisioning';
import { type Result, ok, err } from '../smp/result';
import {
  freshValuesProfile,
  isActive,
  isFinished,
  labelFor,
  openStationStore,
  Station,
  stationError,
  stationImage,
  summarize,
  summaryCsv,
  summaryJson,
  type AddRefusal,
  type LabelContent,
  type PortView,
  type StationError,
  type StationImage,
  type StationJob,
  type StationSetup,
  type StationStore,
  type StoredSetup,
} from '../station';
import { DEFAULT_BAUD_RATE } from '../transport/webserial';
import type { AuditTrail } from './audit-trail.svelte';
import type { CertificateAuthorities, DownloadFile, PickedFile } from './authorities.svelte';
import { browserPlatform, SIM_BAUD_RATE } from './platform';
import { reconcileStationIntents } from './station-reconcile';
import { SerialPortSync, SIMULATED_FAULTS, type SimulatedFault, type StationPlatform } from './station-ports';

/** Panels shown at least, when that many boards ran: a bench of four ports reads at a glance. */
export const PANELS = 4;

export interface StationDeps {
  authorities: Pick<CertificateAuthorities, 'activeAuthority'>;
  audit: Pick<AuditTrail, 'open' | 'refresh' | 'stationId'>;
  platform?: StationPlatform;
  store?: StationStore;
  /** The simulated boards' wire speed; default the real-time 115200-baud model. */
  simBaudRate?: number;
  appBuild?: string;
}

export class StationState {
  readonly profiles: readonly Profile[] = BUILTIN_PROFILES;
  profileId = $state(BUILTIN_PROFILES[0]!.id);
  /** `fresh`: imported keys get a new value per board, made in the browser; `given`: the operator's values for the whole shift. */
  keyValues = $state<'fresh' | 'given'>('fresh');
  operator = $state('');
  baudRate = $state(DEFAULT_BAUD_RATE);
  /** The operator read the clear-text warning of a settings profile. */
  clearTextAccepted = $state(false);
  /** Which operator values are given (and from where); the values are not state. */
  given = $state<Record<string, string>>({});
  image = $state.raw<Omit<StationImage, 'bytes'> | null>(null);

  jobs = $state.raw<readonly StationJob[]>([]);
  ports = $state.raw<readonly PortView[]>([]);
  /** Why waiting boards do not start. */
  blocked = $state<string | null>(null);
  /** The last scan the station refused, with the earlier provisioning it found. */
  refusal = $state.raw<(AddRefusal & { serial: string }) | null>(null);
  /** What the last action did, e.g. "SN-0004 queued". */
  notice = $state<string | null>(null);
  /** Setup problems (an image that is not an MCUboot image). */
  setupError = $state<string | null>(null);
  status = $state<'idle' | 'starting' | 'ready'>('idle');
  /** Jobs a simulated board was made for in this tab. */
  simulatedJobs = $state.raw<ReadonlySet<string>>(new Set());
  /** What the simulated boards made from now on do wrong (tab only: a reload makes working boards again). */
  simulatedFault = $state<SimulatedFault>('none');
  /** The labels the print dialog prints (job ids); every PASS label when empty. */
  printing = $state.raw<string[]>([]);

  readonly summary = $derived(summarize(this.jobs));
  /** The big panels: every board running, then the latest finished, at least `PANELS` when there are; else the next one waiting. */
  readonly panels = $derived(benchPanels(this.jobs));
  readonly running = $derived(this.jobs.filter(isActive).length);
  readonly waiting = $derived(this.jobs.filter((job) => job.state === 'waiting'));
  readonly profile = $derived(this.profiles.find((profile) => profile.id === this.profileId) ?? this.profiles[0]!);
  /** The profile as the station runs it (imported keys fresh per board, or the operator's values). */
  readonly effectiveProfile = $derived(this.keyValues === 'fresh' ? freshValuesProfile(this.profile) : this.profile);
  readonly plan = $derived(planProvisioning(this.effectiveProfile));
  readonly missingValues = $derived(this.plan.ok ? this.plan.value.operatorValues.filter((label) => !this.given[label]) : []);
  readonly labels = $derived(this.jobs.map((job) => ({ job, label: labelFor(job) })).filter((entry): entry is { job: StationJob; label: LabelContent } => entry.label !== null));

  readonly station: Station;
  readonly #deps: StationDeps;
  readonly #platform: StationPlatform;
  readonly #store: StationStore;
  #imageBytes: Uint8Array | null = null;
  #values: Record<string, KnownValueInput> = {};
  #started: Promise<void> | null = null;
  readonly #serialPorts: SerialPortSync;
  readonly #simulated = new Map<string, SimulatedDevice>();
  #simCount = 0;

  constructor(deps: StationDeps) {
    this.#deps = deps;
    this.#platform = deps.platform ?? browserPlatform;
    this.#store = deps.store ?? openStationStore();
    this.station = new Station({
      store: this.#store,
      openAudit: () => deps.audit.open(),
      setup: () => this.#setup(),
      reconcile: reconcileStationIntents,
    });
    this.#serialPorts = new SerialPortSync(this.#platform, this.station, () => this.baudRate);
    let wasRunning = 0;
    this.station.onChange(() => {
      this.jobs = this.station.jobs;
      this.ports = this.station.ports;
      this.blocked = this.station.blocked;
      // When the last board finishes, the Audit page and the interrupted-runs banner catch up.
      const running = this.station.running;
      if (running === 0 && wasRunning > 0) void deps.audit.refresh();
      wasRunning = running;
    });
  }

  get serialSupported(): boolean {
    return this.#platform.isSerialSupported();
  }

  /** Restores the queue and setup, then finds the serial ports (once per tab; later calls wait for the first). */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  /** Offers the idle ports to the waiting boards again: after a change elsewhere (a CA made active). */
  kick(): void {
    this.station.kick();
  }

  /**
   * A scan: the serial (and whatever the scanner sent around it) joins the queue, or is refused with the reason.
   * @example await station.scan('SN-0042\r'); station.refusal?.message
   */
  async scan(text: string): Promise<boolean> {
    await this.start();
    const added = await this.station.add(text);
    if (!added.ok) {
      this.refusal = { ...added.error, serial: text.trim() };
      this.notice = null;
      return false;
    }
    this.refusal = null;
    this.notice = `${added.value.serial} queued${this.#readyPorts() ? '' : ': plug in its board'}.`;
    return true;
  }

  /** The operator chose to re-provision the serial the station refused (audited). */
  async reprovisionRefused(): Promise<boolean> {
    const refused = this.refusal;
    if (!refused || refused.code !== 'serial-provisioned') return false;
    const added = await this.station.add(refused.serial, { reprovision: true });
    if (!added.ok) {
      this.refusal = { ...added.error, serial: refused.serial };
      return false;
    }
    this.refusal = null;
    this.notice = `${added.value.serial} queued for re-provisioning (recorded in the audit log).`;
    return true;
  }

  dismissRefusal(): void {
    this.refusal = null;
  }

  async retry(jobId: string, reprovision = false): Promise<void> {
    const retried = await this.station.retry(jobId, { reprovision });
    this.notice = retried.ok ? `${retried.value.serial} queued again${reprovision ? ' for re-provisioning (recorded in the audit log)' : ''}.` : retried.error.message;
  }

  cancel(jobId: string): void {
    this.station.cancel(jobId);
  }

  async remove(jobId: string): Promise<void> {
    const job = this.jobs.find((candidate) => candidate.id === jobId);
    if (await this.station.remove(jobId)) {
      this.#forgetSimulated(jobId);
      this.notice = job ? `${job.serial} taken off the queue.` : null;
    }
  }

  /** A new shift: finished boards leave the queue (the audit log keeps them). */
  async clearFinished(): Promise<void> {
    const count = await this.station.clearFinished();
    for (const jobId of [...this.#simulated.keys()]) if (!this.station.jobs.some((job) => job.id === jobId)) this.#forgetSimulated(jobId);
    this.printing = [];
    this.notice = `${count} finished board${count === 1 ? '' : 's'} cleared; the audit log keeps every record.`;
  }

  /** Makes a simulated board for a waiting serial, on a simulated 115200-baud wire: it appears as a port at once. */
  addSimulatedBoard(jobId: string): SimulatedDevice | null {
    const job = this.jobs.find((candidate) => candidate.id === jobId);
    if (!job || job.state !== 'waiting' || this.#simulated.has(jobId)) return null;
    const device = createSimulatedDevice({ serialNumber: job.serial, name: `sim-${job.serial}` });
    SIMULATED_FAULTS[this.simulatedFault].inject(device);
    this.#simulated.set(jobId, device);
    this.simulatedJobs = new Set(this.#simulated.keys());
    const baudRate = this.#deps.simBaudRate ?? SIM_BAUD_RATE;
    this.station.portAppeared({
      id: `sim-${++this.#simCount}`,
      label: `simulated board ${job.serial}`,
      forJob: jobId,
      open: async () => connectSimulatedBoard(device.board, { baudRate }),
    });
    return device;
  }

  /** Whether a simulated board was made for this job in this tab. */
  hasSimulatedBoard(jobId: string): boolean {
    return this.simulatedJobs.has(jobId);
  }

  /** The simulated board made for a job (for fault injection in tests and demos). */
  simulatedBoard(jobId: string): SimulatedDevice | undefined {
    return this.#simulated.get(jobId);
  }

  /** Opens the browser's port chooser once: the adapter (and every port with the same USB ids) is then used without asking. */
  async allowSerialPort(): Promise<void> {
    try {
      const port = await this.#platform.requestSerialPort();
      if (!port) {
        this.notice = 'No serial port was chosen.';
        return;
      }
      this.notice = `${this.#platform.describeSerialPort(port)} allowed: boards plugged into it start by themselves.`;
    } catch (caught) {
      this.notice = `The serial port could not be allowed: ${caught instanceof Error ? caught.message : String(caught)}`;
    }
    await this.#serialPorts.sync();
  }

  retryPort(portId: string): void {
    this.station.retryPort(portId);
  }

  chooseProfile(id: string): void {
    if (id === this.profileId) return;
    this.profileId = id;
    this.clearTextAccepted = false;
    this.#forgetValues();
    this.#setupChanged();
  }

  setKeyValues(mode: 'fresh' | 'given'): void {
    this.keyValues = mode;
    this.#setupChanged();
  }

  setOperator(name: string): void {
    this.operator = name;
    this.#setupChanged();
  }

  acceptClearText(accepted: boolean): void {
    this.clearTextAccepted = accepted;
    this.#setupChanged();
  }

  /** The operator's value for key `label` for the whole shift: held in this tab only, never stored or logged. */
  giveValue(label: string, value: KnownValueInput, source: string): void {
    if (typeof value === 'string' ? value.trim() === '' : value.length === 0) {
      delete this.#values[label];
      delete this.given[label];
    } else {
      this.#values[label] = typeof value === 'string' ? value.trim() : value;
      this.given[label] = source;
    }
    this.station.kick();
  }

  /** A firmware image every board gets before provisioning; refused unless it is an MCUboot image. */
  chooseImage(file: PickedFile): boolean {
    const image = stationImage(file.name, file.bytes);
    if (!image.ok) {
      this.setupError = image.error.message;
      return false;
    }
    this.setupError = null;
    this.#imageBytes = image.value.bytes;
    this.image = { name: image.value.name, sha: image.value.sha, version: image.value.version };
    this.#setupChanged();
    return true;
  }

  clearImage(): void {
    this.#imageBytes = null;
    this.image = null;
    this.#setupChanged();
  }

  /** Labels for the print dialog: these jobs', or every PASS label when `jobIds` is empty. */
  selectLabels(jobIds: string[] = []): void {
    this.printing = jobIds;
  }

  exportSummaryJson(): DownloadFile {
    return { fileName: `imprint-shift-${this.#stamp()}.json`, text: summaryJson(this.jobs, this.#meta()) };
  }

  exportSummaryCsv(): DownloadFile {
    return { fileName: `imprint-shift-${this.#stamp()}.csv`, text: summaryCsv(this.jobs) };
  }

  async #start(): Promise<void> {
    this.status = 'starting';
    const setup = await this.#store.loadSetup().catch(() => null);
    if (setup) {
      if (this.profiles.some((profile) => profile.id === setup.profileId)) this.profileId = setup.profileId;
      this.keyValues = setup.keyValues;
      this.operator = setup.operator;
      if (setup.image) {
        const image = stationImage(setup.image.name, setup.image.bytes);
        if (image.ok) {
          this.#imageBytes = image.value.bytes;
          this.image = { name: image.value.name, sha: image.value.sha, version: image.value.version };
        }
      }
    }
    await this.station.restore();
    if (this.serialSupported) {
      this.#platform.watchSerialPorts(() => void this.#serialPorts.sync());
      await this.#serialPorts.sync();
    }
    this.status = 'ready';
  }

  async #setup(): Promise<Result<StationSetup, StationError>> {
    const plan = this.plan;
    if (!plan.ok) return err(stationError('setup-incomplete', plan.error.message));
    if (plan.value.clearTextSecrets && !this.clearTextAccepted) return err(stationError('setup-incomplete', 'This profile writes the device key in the clear: accept the warning in the setup first.'));
    if (this.missingValues.length > 0) return err(stationError('setup-incomplete', `Give the value${this.missingValues.length === 1 ? '' : 's'} of ${this.missingValues.map((label) => `“${label}”`).join(', ')} in the setup, or choose fresh values per board.`));
    const ca = plan.value.needsCa ? await this.#deps.authorities.activeAuthority() : null;
    if (plan.value.needsCa && !ca) return err(stationError('setup-incomplete', 'No CA: create or import one on the CA page; boards wait until then.'));
    const bytes = this.#imageBytes;
    const image = bytes && this.image ? { ...this.image, bytes } : null;
    const values = this.#values;
    return ok({
      profile: this.effectiveProfile,
      ca,
      image,
      operator: this.operator.trim(),
      // Copies: the flow zeroes what it reads, and the next board needs the values again.
      knownValues: () => Object.fromEntries(Object.entries(values).map(([label, value]) => [label, typeof value === 'string' ? value : value.slice()])),
    });
  }

  #setupChanged(): void {
    const setup: StoredSetup = { profileId: this.profileId, keyValues: this.keyValues, operator: this.operator, image: this.#imageBytes && this.image ? { name: this.image.name, bytes: this.#imageBytes } : null };
    void this.#store.saveSetup(setup).catch(() => undefined);
    this.station.kick();
  }

  #forgetSimulated(jobId: string): void {
    this.#simulated.delete(jobId);
    this.simulatedJobs = new Set(this.#simulated.keys());
  }

  #forgetValues(): void {
    for (const value of Object.values(this.#values)) if (value instanceof Uint8Array) value.fill(0);
    this.#values = {};
    this.given = {};
  }

  #readyPorts(): boolean {
    return this.ports.some((port) => port.status === 'idle');
  }

  #meta() {
    return { stationId: this.#deps.audit.stationId, appBuild: this.#deps.appBuild ?? '', profile: this.profileId, operator: this.operator.trim(), exportedAt: new Date().toISOString() };
  }

  #stamp(): string {
    return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  }
}

function benchPanels(jobs: readonly StationJob[]): StationJob[] {
  const active = jobs.filter(isActive);
  const finished = jobs.filter(isFinished).sort((a, b) => (b.endedAt ?? '').localeCompare(a.endedAt ?? ''));
  const shown = [...active, ...finished.slice(0, Math.max(PANELS, active.length) - active.length)].sort((a, b) => a.order - b.order);
  if (shown.length > 0) return shown;
  const next = jobs.find((job) => job.state === 'waiting');
  return next ? [next] : [];
}
