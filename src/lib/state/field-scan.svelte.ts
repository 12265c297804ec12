/**
 * The Field page's list of Bluetooth boards: boards the operator picked in the browser's chooser
 * (which lists only boards advertising the SMP service) and boards this origin was granted before,
 * each with its signal as last heard, strongest first. Web Bluetooth shows a page no board it was
 * not given, so "find" is the chooser; the signal comes from each board's own advertisements
 * where the browser lets us listen (`watchSignal`), else it stays "signal unknown".
 *
 * Connecting hands the chosen device to the tab's `Connection`, so every other page (Device, Keys,
 * Audit) sees the same board.
 */
import { grantedBluetoothDevices, isWebBluetoothSupported, requestBluetoothDevice } from '../transport/webbluetooth';
import { type AdvertisementHeard, type SignalWatch, watchSignal } from '../transport/ble-signal';
import type { Connection } from './connection.svelte';
import { NOTHING_CHOSEN } from './platform';
import { describeSignal, rankBoards, type SignalView } from './signal';

/** What the list needs from the browser; unit tests pass their own. */
export interface BluetoothFinder {
  supported(): boolean;
  /** The browser's chooser, filtered to the SMP service; null when cancelled. */
  choose(): Promise<BluetoothDevice | null>;
  /** Boards this origin may reach without the chooser (empty where the browser does not say). */
  granted(): Promise<BluetoothDevice[]>;
  watch(device: BluetoothDevice, onHeard: (heard: AdvertisementHeard) => void): Promise<SignalWatch>;
}

export const browserBluetoothFinder: BluetoothFinder = {
  supported: isWebBluetoothSupported,
  choose: requestBluetoothDevice,
  granted: grantedBluetoothDevices,
  watch: watchSignal,
};

export interface FoundBoard {
  id: string;
  name: string;
  rssi: number | null;
  heardAt: number | null;
  /** Why no signal can be shown (the browser cannot listen), or null. */
  signalNote: string | null;
  /** Granted in an earlier visit rather than chosen now. */
  remembered: boolean;
}

export type FieldScanScope = 'find' | 'connect';

export class FieldScan {
  /** Newest first as found; `ranked` is the order to show. */
  boards = $state<FoundBoard[]>([]);
  /** The clock `ranked` and `signal()` judge staleness by; `tick()` moves it. */
  now = $state(Date.now());
  readonly ranked = $derived(rankBoards(this.boards, this.now));
  errors = $state<Partial<Record<FieldScanScope, string>>>({});
  busy = $state<Partial<Record<FieldScanScope, boolean>>>({});
  /** The board being connected to, for its button. */
  connectingId = $state<string | null>(null);

  /** The board `connect` reached, and the board object it became, to tell whether it is still the one connected. */
  private connected = $state.raw<{ id: string; board: unknown } | null>(null);
  private readonly devices = new Map<string, BluetoothDevice>();
  private readonly watches = new Map<string, SignalWatch>();

  constructor(
    private readonly connection: Connection,
    private readonly finder: BluetoothFinder = browserBluetoothFinder,
    private readonly clock: () => number = () => Date.now(),
  ) {}

  get supported(): boolean {
    return this.finder.supported();
  }

  /**
   * The page is shown: listens again to the boards already in the list, and offers the boards
   * granted before, each with its signal.
   */
  async start(): Promise<void> {
    if (!this.supported) return;
    for (const device of this.devices.values()) await this.listen(device);
    for (const device of await this.finder.granted()) await this.add(device, true);
  }

  /** Opens the chooser; the board picked joins the list (and is listened to). False when nothing was chosen. */
  async find(): Promise<boolean> {
    if (!this.supported) return this.refuse('find', 'This browser has no Web Bluetooth: use Chrome or Edge on the tablet.');
    this.busy.find = true;
    delete this.errors.find;
    try {
      const device = await this.finder.choose();
      if (!device) return this.refuse('find', NOTHING_CHOSEN.ble);
      await this.add(device, false);
      return true;
    } catch (caught) {
      return this.refuse('find', caught instanceof Error ? caught.message : String(caught));
    } finally {
      this.busy.find = false;
    }
  }

  /** Connects the tab's connection to a board in the list. */
  async connect(id: string): Promise<boolean> {
    const device = this.devices.get(id);
    if (!device) return this.refuse('connect', 'That board is no longer in the list: find it again.');
    this.busy.connect = true;
    this.connectingId = id;
    delete this.errors.connect;
    try {
      const connected = await this.connection.connect('ble', { bluetoothDevice: device });
      if (!connected) return this.refuse('connect', this.connection.errors.connect ?? 'The board did not connect.');
      this.connected = { id, board: this.connection.board };
      return true;
    } finally {
      this.busy.connect = false;
      this.connectingId = null;
    }
  }

  /** Whether the tab's connection is (still) to this board of the list. */
  isConnected(id: string): boolean {
    return this.connected?.id === id && this.connected.board === this.connection.board && this.connection.isConnected;
  }

  /** The signal of a board in the list, judged at `now`. */
  signal(board: FoundBoard): SignalView {
    return describeSignal(board, this.now);
  }

  dismiss(scope: FieldScanScope): void {
    delete this.errors[scope];
  }

  tick(): void {
    this.now = this.clock();
  }

  /** Stops listening to every board's advertisements (the page is left); the list stays for `start`. */
  stop(): void {
    for (const watch of this.watches.values()) if (watch.supported) watch.stop();
    this.watches.clear();
  }

  private async add(device: BluetoothDevice, remembered: boolean): Promise<void> {
    this.devices.set(device.id, device);
    const name = device.name || 'Unnamed Bluetooth board';
    const known = this.boards.find((board) => board.id === device.id);
    if (known) known.name = name;
    else this.boards.unshift({ id: device.id, name, rssi: null, heardAt: null, signalNote: null, remembered });
    await this.listen(device);
  }

  private async listen(device: BluetoothDevice): Promise<void> {
    if (this.watches.has(device.id)) return;
    const watch = await this.finder.watch(device, (heard) => this.heard(device.id, heard));
    this.watches.set(device.id, watch);
    const board = this.boards.find((candidate) => candidate.id === device.id);
    if (board) board.signalNote = watch.supported ? null : watch.reason;
  }

  private heard(id: string, heard: AdvertisementHeard): void {
    if (heard.rssi === null) return;
    const board = this.boards.find((candidate) => candidate.id === id);
    if (!board) return;
    this.now = this.clock();
    board.rssi = heard.rssi;
    board.heardAt = this.now;
  }

  private refuse(scope: FieldScanScope, message: string): false {
    this.errors[scope] = message;
    return false;
  }
}
