/**
 * Where the Station page's boards come from: serial ports this origin may open, kept in line with
 * the ones plugged in, and simulated boards made in the tab (with a fault chosen for the boards
 * made from now on).
 */
import type { SimulatedDevice } from '../sim';
import type { Station } from '../station';
import type { Platform } from './platform';

/**
 * What a simulated board made from now on does wrong, so a FAIL can be shown or trained without
 * hardware (and reached by the e2e suite through the page). Only boards made in this tab get it.
 */
export const SIMULATED_FAULTS = {
  none: { text: 'work', inject: () => {} },
  'slots-full': { text: 'refuse new keys (slots full)', inject: (device: SimulatedDevice) => device.keys.inject({ slotsFull: true }) },
} satisfies Record<string, { text: string; inject: (device: SimulatedDevice) => void }>;

export type SimulatedFault = keyof typeof SIMULATED_FAULTS;

/** What the station needs of the platform: the serial ports. */
export type StationPlatform = Pick<Platform, 'isSerialSupported' | 'grantedSerialPorts' | 'requestSerialPort' | 'openSerial' | 'describeSerialPort' | 'watchSerialPorts'>;

/** The station's serial ports, as the browser lists the granted and plugged-in ones. */
export class SerialPortSync {
  readonly #ids = new WeakMap<SerialPort, string>();
  readonly #ports = new Map<string, SerialPort>();
  #count = 0;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly platform: StationPlatform,
    private readonly station: Station,
    /** The baud rate ports are opened at, read when a board appears. */
    private readonly baudRate: () => number,
  ) {}

  /** Brings the station's serial ports in line with the granted, plugged-in ones. */
  sync(): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      let present: SerialPort[];
      try {
        present = await this.platform.grantedSerialPorts();
      } catch {
        present = [];
      }
      const ids = new Set<string>();
      for (const port of present) {
        let id = this.#ids.get(port);
        if (!id) this.#ids.set(port, (id = `serial-${++this.#count}`));
        ids.add(id);
        if (this.#ports.has(id)) continue;
        this.#ports.set(id, port);
        this.station.portAppeared({ id, label: `${this.platform.describeSerialPort(port)} #${id.slice('serial-'.length)}`, open: () => this.platform.openSerial(port, this.baudRate()) });
      }
      for (const id of [...this.#ports.keys()]) {
        if (ids.has(id)) continue;
        this.#ports.delete(id);
        this.station.portGone(id);
      }
    });
    return this.#queue;
  }
}
