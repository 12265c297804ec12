/**
 * The connection to one board, as state the views render: the kind of device and its speed, the
 * link's status, the board's identity and image slots, the last echo, and a log of every SMP
 * exchange. Views call its methods and read its fields; nothing here touches the DOM, so the class
 * is tested in Node with the simulated board.
 *
 * Every board call goes through `run`, which marks its card busy, keeps the error message for that
 * card, and ignores answers that arrive after the board they came from was replaced. A link that
 * ends under us (cable pulled, board gone) turns into status `disconnected` with a message; calls
 * still waiting settle with the client's typed `disconnected` error, so no spinner is left turning.
 */
import { connectBoard, type Board, type ImageSlot } from '../device';
import type { SimulatedDevice } from '../sim';
import type { SmpClientOptions } from '../smp/client';
import type { SmpError } from '../smp/errors';
import { type Result, err } from '../smp/result';
import type { DisconnectInfo } from '../transport/types';
import { DEFAULT_BAUD_RATE } from '../transport/webserial';
import { hexToBytes } from '../util/bytes';
import { EMPTY_IDENTITY, isLinkError, readIdentity, type Identity } from './identity';
import { browserPlatform, NOTHING_CHOSEN, openDevice, type DeviceKind, type OpenedDevice, type Platform } from './platform';

export type { DeviceKind } from './platform';
import { SmpLog } from './smp-log.svelte';

export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'error';
/** The part of the page an action belongs to: its busy flag and error message live under this name. */
export type Scope = 'connect' | 'identity' | 'echo' | 'reset' | 'images';

export interface EchoResult {
  sent: string;
  reply: string;
  /** Round trip as the page measured it, request queued to answer decoded. */
  ms: number;
}

export interface ConnectOptions {
  /** A serial port granted earlier; without it the browser's chooser opens. */
  port?: SerialPort;
  /** A USB device granted earlier; without it the browser's chooser opens. */
  usbDevice?: USBDevice;
  /** A Bluetooth board chosen earlier (Field page); without it the browser's chooser opens. */
  bluetoothDevice?: BluetoothDevice;
}

export interface ConnectionOptions {
  platform?: Platform;
  /** Passed to the SMP client (e.g. a shorter timeout in tests). */
  client?: Pick<SmpClientOptions, 'timeoutMs' | 'window'>;
  logLimit?: number;
  /** Time a board takes to go down after answering a reset; Zephyr's CONFIG_MCUMGR_GRP_OS_RESET_MS defaults to 250 ms. */
  resetSettleMs?: number;
  /** How long to wait for a board to answer again after a reset. */
  resetWaitMs?: number;
}

/** Speeds offered for serial ports; 115200 is what Zephyr's UART console uses by default. */
export const BAUD_RATES = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000] as const;

const RESET_POLL_TIMEOUT_MS = 500;

export class Connection {
  kind = $state<DeviceKind>('sim');
  baudRate = $state<number>(DEFAULT_BAUD_RATE);
  status = $state<ConnectionStatus>('idle');
  board = $state.raw<Board | null>(null);
  /** The simulated board when `kind` is 'sim', for fault injection. */
  simulated = $state.raw<SimulatedDevice | null>(null);
  /** The board's name as the operator knows it: the simulator's name or the port's USB ids. */
  deviceName = $state('');
  /** The transport's own description, e.g. "USB serial 2fe3:0100 at 115200 baud". */
  description = $state('');
  identity = $state.raw<Identity>(EMPTY_IDENTITY);
  /** Null until read; an empty list means the board has no images. */
  images = $state.raw<ImageSlot[] | null>(null);
  lastEcho = $state.raw<EchoResult | null>(null);
  /** What happened after a reset, for the reset card. */
  resetNote = $state<string | null>(null);
  grantedPorts = $state.raw<SerialPort[]>([]);
  grantedUsb = $state.raw<USBDevice[]>([]);
  /** Why the link ended, set when status turns 'disconnected'. */
  disconnectMessage = $state<string | null>(null);
  /** The most recent error message, whichever action it came from. */
  error = $state<string | null>(null);
  /** The latest error message per scope, for the card that caused it. */
  errors = $state<Partial<Record<Scope, string>>>({});
  busy = $state<Partial<Record<Scope, boolean>>>({});
  readonly log: SmpLog;
  readonly isConnected = $derived(this.status === 'connected');

  private readonly platform: Platform;
  private readonly options: ConnectionOptions;
  /** Bumped for every new link: events and answers from an older one are ignored. */
  private generation = 0;
  private closedByUser = false;

  constructor(options: ConnectionOptions = {}) {
    this.options = options;
    this.platform = options.platform ?? browserPlatform;
    this.log = new SmpLog(options.logLimit);
  }

  get serialSupported(): boolean {
    return this.platform.isSerialSupported();
  }

  get bluetoothSupported(): boolean {
    return this.platform.isBluetoothSupported();
  }

  get usbSupported(): boolean {
    return this.platform.isUsbSupported();
  }

  describePort(port: SerialPort): string {
    return this.platform.describeSerialPort(port);
  }

  describeUsb(device: USBDevice): string {
    return this.platform.describeUsbDevice(device);
  }

  /** Reads the ports this origin may open without the chooser. */
  async loadGrantedPorts(): Promise<void> {
    const [ports, usb] = await Promise.allSettled([this.platform.grantedSerialPorts(), this.platform.grantedUsbDevices()]);
    this.grantedPorts = ports.status === 'fulfilled' ? ports.value : [];
    this.grantedUsb = usb.status === 'fulfilled' ? usb.value : [];
  }

  /** Keeps `grantedPorts` current while a view shows them; returns the unsubscribe. */
  watchSerialPorts(): () => void {
    void this.loadGrantedPorts();
    return this.platform.watchSerialPorts(() => void this.loadGrantedPorts());
  }

  /**
   * Opens the link, reads the board's identity and image slots. Resolves true when connected; on
   * failure `status` is 'error' (or 'idle' when the chooser was cancelled) and `errors.connect` says why.
   * @example if (await connection.connect('sim')) goto('/device');
   */
  async connect(kind: DeviceKind = this.kind, options: ConnectOptions = {}): Promise<boolean> {
    if (this.status === 'connecting') return false;
    await this.dropBoard();
    const generation = ++this.generation;
    this.kind = kind;
    this.status = 'connecting';
    this.closedByUser = false;
    this.clearSession();
    this.busy.connect = true;
    try {
      let opened: OpenedDevice | null;
      try {
        opened = await openDevice(this.platform, kind, { port: options.port, usbDevice: options.usbDevice, bluetoothDevice: options.bluetoothDevice, baudRate: this.baudRate });
      } catch (caught) {
        return this.failConnect(generation, messageOf(caught));
      }
      if (generation !== this.generation) {
        await opened?.transport.close();
        return false;
      }
      if (!opened) {
        this.status = 'idle';
        this.setError('connect', NOTHING_CHOSEN[kind]);
        return false;
      }
      this.deviceName = opened.name;
      this.description = opened.transport.description;
      this.simulated = opened.simulated ?? null;
      const board = await connectBoard(opened.transport, {
        ...this.options.client,
        onExchange: (exchange) => {
          if (generation === this.generation) this.log.add(exchange);
        },
        onDisconnect: (info) => this.handleDisconnect(generation, info),
      });
      if (generation !== this.generation) {
        await board.close();
        return false;
      }
      this.board = board;
      if (board.params) opened.onBoardBuffer?.(board.params.bufSize);
      const identity = await readIdentity(board, false);
      if (generation !== this.generation) return false;
      const params = identity.params;
      if (this.status !== 'connecting') return this.failConnect(generation, this.disconnectMessage ?? 'The link closed while connecting.');
      if (params && !params.ok && isLinkError(params.error.code)) return this.failConnect(generation, params.error.message);
      this.identity = identity;
      this.status = 'connected';
      await this.refreshImages();
      return true;
    } finally {
      if (generation === this.generation) this.busy.connect = false;
    }
  }

  /** Closes the link at the operator's request. */
  async disconnect(): Promise<void> {
    const board = this.board;
    if (!board || (this.status !== 'connected' && this.status !== 'connecting')) return;
    this.closedByUser = true;
    await board.close();
    // The client reports the close through onDisconnect; make sure the status says so either way.
    if (this.board === board && this.isConnected) this.markDisconnected(`Disconnected from ${this.description}.`);
  }

  /** Reads MCUmgr parameters, OS info and bootloader info again. */
  async refreshIdentity(): Promise<Identity | null> {
    const board = this.board;
    if (!board || !this.isConnected) {
      this.refuse('identity');
      return null;
    }
    this.busy.identity = true;
    delete this.errors.identity;
    try {
      const identity = await readIdentity(board, true);
      if (this.board !== board) return identity;
      this.identity = identity;
      const failed = [identity.params, identity.info].find((part) => part && !part.ok && isLinkError(part.error.code));
      if (failed && !failed.ok) this.setError('identity', failed.error.message);
      return identity;
    } finally {
      if (this.board === board) this.busy.identity = false;
    }
  }

  /** @example await connection.echo('hello') // lastEcho = { sent: 'hello', reply: 'hello', ms: 4 } */
  async echo(text: string): Promise<Result<string, SmpError>> {
    const started = performance.now();
    const result = await this.run('echo', (board) => board.os.echo(text));
    if (result.ok && this.isConnected) this.lastEcho = { sent: text, reply: result.value, ms: Math.round(performance.now() - started) };
    return result;
  }

  /** Resets the board, waits until it answers again, then reads identity and images afresh. */
  async reset(): Promise<Result<void, SmpError>> {
    const board = this.board;
    this.resetNote = null;
    const result = await this.run('reset', (b) => b.os.reset());
    if (!result.ok || this.board !== board || !board) return result;
    this.resetNote = 'The board accepted the reset and is restarting…';
    this.busy.reset = true;
    try {
      const back = await this.waitUntilAnswering(board);
      if (this.board !== board || !this.isConnected) return result;
      if (!back) {
        this.resetNote = null;
        this.setError('reset', `The board did not answer within ${(this.resetWaitMs / 1000).toFixed(0)} s after the reset.`);
        return result;
      }
      this.resetNote = 'The board restarted and answers again.';
    } finally {
      if (this.board === board) this.busy.reset = false;
    }
    await this.refreshIdentity();
    await this.refreshImages();
    return result;
  }

  async refreshImages(): Promise<Result<ImageSlot[], SmpError>> {
    return this.updateImages(await this.run('images', (board) => board.image.state()));
  }

  /** Marks the image with `hash` (hex or bytes) to run once at the next reset. */
  async testImage(hash: string | Uint8Array): Promise<Result<ImageSlot[], SmpError>> {
    return this.updateImages(await this.run('images', (board) => board.image.test(toBytes(hash))));
  }

  /** Confirms the running image (no hash), or makes the image with `hash` permanent at the next reset. */
  async confirmImage(hash?: string | Uint8Array): Promise<Result<ImageSlot[], SmpError>> {
    return this.updateImages(await this.run('images', (board) => board.image.confirm(hash === undefined ? undefined : toBytes(hash))));
  }

  /** Erases the secondary slot (slot 1), then reads the slots again. */
  async eraseImage(slot = 1): Promise<Result<void, SmpError>> {
    const result = await this.run('images', (board) => board.image.erase(slot));
    if (result.ok) await this.refreshImages();
    return result;
  }

  /** Forgets an error message once the operator has seen it. */
  dismissError(scope: Scope): void {
    delete this.errors[scope];
  }

  private get resetWaitMs(): number {
    return this.options.resetWaitMs ?? 10_000;
  }

  private async run<T>(scope: Scope, call: (board: Board) => Promise<Result<T, SmpError>>): Promise<Result<T, SmpError>> {
    const board = this.board;
    if (!board || !this.isConnected) return this.refuse(scope);
    this.busy[scope] = true;
    delete this.errors[scope];
    try {
      const result = await call(board);
      if (!result.ok && this.board === board) this.setError(scope, result.error.message);
      return result;
    } finally {
      if (this.board === board) this.busy[scope] = false;
    }
  }

  private updateImages<T extends ImageSlot[]>(result: Result<T, SmpError>): Result<T, SmpError> {
    if (result.ok && this.isConnected) this.images = result.value;
    return result;
  }

  private async waitUntilAnswering(board: Board): Promise<boolean> {
    await sleep(this.options.resetSettleMs ?? 600);
    const deadline = performance.now() + this.resetWaitMs;
    while (this.board === board && this.isConnected && performance.now() < deadline) {
      const reply = await board.os.echo('', { timeoutMs: RESET_POLL_TIMEOUT_MS });
      if (reply.ok) return true;
      if (reply.error.code !== 'timeout') await sleep(RESET_POLL_TIMEOUT_MS);
    }
    return false;
  }

  private refuse(scope: Scope): { ok: false; error: SmpError } {
    const message = this.status === 'disconnected' && this.disconnectMessage ? `Not connected: ${this.disconnectMessage}` : 'Not connected: connect to a board first.';
    this.setError(scope, message);
    return err({ code: 'not-connected', message });
  }

  private handleDisconnect(generation: number, info: DisconnectInfo): void {
    if (generation !== this.generation) return;
    const message = this.closedByUser ? `Disconnected from ${this.description}.` : `Connection lost: ${info.message}.`;
    this.markDisconnected(message);
  }

  private markDisconnected(message: string): void {
    this.status = 'disconnected';
    this.disconnectMessage = message;
    this.busy = {};
    if (!this.closedByUser) this.error = message;
  }

  private async failConnect(generation: number, message: string): Promise<false> {
    if (generation !== this.generation) return false;
    const board = this.board;
    this.generation++; // the close below is ours, not news
    this.board = null;
    this.simulated = null;
    await board?.close();
    this.status = 'error';
    this.busy = {};
    this.setError('connect', message);
    return false;
  }

  /** Closes the previous link without reporting it: a new one replaces it. */
  private async dropBoard(): Promise<void> {
    const board = this.board;
    this.generation++;
    this.board = null;
    this.simulated = null;
    if (board) await board.close();
  }

  private clearSession(): void {
    this.identity = EMPTY_IDENTITY;
    this.images = null;
    this.lastEcho = null;
    this.resetNote = null;
    this.disconnectMessage = null;
    this.error = null;
    this.errors = {};
    this.busy = {};
    this.deviceName = '';
    this.description = '';
    this.log.clear();
  }

  private setError(scope: Scope, message: string): void {
    this.errors[scope] = message;
    this.error = message;
  }
}

function toBytes(hash: string | Uint8Array): Uint8Array {
  return typeof hash === 'string' ? hexToBytes(hash) : hash;
}

function messageOf(caught: unknown): string {
  return caught instanceof Error ? caught.message : String(caught);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
