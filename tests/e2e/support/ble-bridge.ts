/**
 * An emulated Bluetooth LE board for e2e tests: Chromium's own Web Bluetooth stack talks to a fake
 * central (CDP `BluetoothEmulation`), whose peripheral offers Zephyr's SMP service, and whose SMP
 * characteristic carries bytes to and from a Node Transport (framing 'packet'): the simulated board,
 * typically `connectSimulatedBoard(board, { ble: BLE_1M_DEFAULT })`. Unlike the serial stand-in,
 * `navigator.bluetooth` is the browser's real one: requestDevice, the chooser, GATT connect,
 * service and characteristic discovery, writes and value events all run through Chromium.
 *
 * What Chromium 156's `BluetoothEmulation` domain offers (read from the browser's own
 * `/json/protocol`, the same as devtools-protocol's `BluetoothEmulation.pdl` at r1684464):
 * enable/disable, setSimulatedCentralState, simulatePreconnectedPeripheral, simulateAdvertisement,
 * add/remove Service, Characteristic and Descriptor, simulateGATTOperationResponse,
 * simulateCharacteristicOperationResponse / simulateDescriptorOperationResponse (answers to
 * read, write, subscribe and unsubscribe), simulateGATTDisconnection; events gattOperationReceived,
 * characteristicOperationReceived, descriptorOperationReceived. It exists only on the browser
 * session (a page session says "'BluetoothEmulation.enable' wasn't found"), and it replaces the
 * adapter for the whole browser: one bridge at a time, disposed after each test.
 *
 * NOTHING in it sends a notification or indication: the fake characteristic
 * (device/bluetooth/emulation/fake_remote_gatt_characteristic.cc) only answers operations the page
 * started. So responses reach the page through the READ path, with a small shim confined to the test:
 * - the page gets an init script (`installReadPollShim`) that, once `startNotifications()` on the
 *   SMP characteristic succeeds, keeps one `readValue()` outstanding (a long poll) until
 *   `stopNotifications()` or a disconnect;
 * - Node holds that read until the board has bytes, then answers it with the next piece (at most
 *   `notifySize` bytes, like one notification) through `simulateCharacteristicOperationResponse`;
 * - Chromium fires `characteristicvaluechanged` for a completed read exactly as for a notification
 *   (measured here; the Web Bluetooth spec's readValue() fires it too), so the app's transport
 *   (src/lib/transport/webbluetooth.ts) receives the pieces through its ordinary notification
 *   listener and reassembles them; it is not changed or wrapped in any way.
 * The characteristic therefore also has the `read` property, which Zephyr's does not; nothing in
 * the app reads it. Writes without response complete in Chromium without an answer (the fake runs
 * their callback itself); the bridge only answers writes with response.
 *
 * Other things measured here: `simulatePreconnectedPeripheral` alone makes the device show in the
 * chooser (`DeviceAccess.deviceRequestPrompted`, with an empty name); an advertisement is not needed,
 * and services cannot be added to a device known only from an advertisement. The prompt event
 * repeats with the same id, and answering one prompt twice kills the browser
 * (`Check failed: callback_` in bluetooth_device_chooser_controller.cc): it is answered once.
 * `startNotifications()` fails with "GATT Error: Not supported." unless the characteristic has a
 * Client Characteristic Configuration descriptor (0x2902), as a real one does.
 *
 * @example
 *   const bridge = await installBleBridge(page);                              // before page.goto
 *   const peripheral = await bridge.attach(connectSimulatedBoard(board, { ble: BLE_1M_DEFAULT }));
 *   await page.goto(...);  ...  // the page's requestDevice() chooser picks `peripheral`
 *   peripheral.stats.writes;  await peripheral.disconnect();  await bridge.dispose();
 */
import type { CDPSession, Page } from '@playwright/test';
import type { Transport } from '../../../src/lib/transport/types';
import { installReadPollShim } from './ble-read-poll-shim';

export const SMP_SERVICE_UUID = '8d53dc1d-1db7-4cd3-868b-8a527460aa84';
export const SMP_CHARACTERISTIC_UUID = 'da2e7828-fbce-4e01-ae9e-261174997c48';
const CCC_DESCRIPTOR_UUID = '00002902-0000-1000-8000-00805f9b34fb';
/** ATT success, and the error the bridge fails a read with ("Unlikely Error", Core Vol 3 Part F 3.4.1.1). */
const GATT_SUCCESS = 0;
const GATT_UNLIKELY_ERROR = 0x0e;
/** HCI success (Core Vol 2 Part D 1.3), for connection and discovery. */
const HCI_SUCCESS = 0;
/** Longest wait, when the board goes away, for the page to take what is left and park its next read. */
const IDLE_WAIT_MS = 1000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface PeripheralOptions {
  /** Bluetooth address, also the chooser's device id; default 0C:1D:00:00:00:0n. */
  address?: string;
  /** The GAP name the page sees as `device.name`; default 'Imprint BLE sim'. */
  name?: string;
  /** Bytes per notification (ATT MTU − 3); default 20, what a link without MTU exchange carries. */
  notifySize?: number;
}

export interface PeripheralStats {
  /** GATT connections the page opened. */
  connections: number;
  /** Writes the page made to the SMP characteristic, their bytes, and the largest. */
  writes: number;
  bytesFromPage: number;
  largestWrite: number;
  /** Pieces delivered to the page (each one answered read, standing in for a notification) and their bytes. */
  notifications: number;
  bytesToPage: number;
}

export interface EmulatedPeripheral {
  readonly address: string;
  readonly name: string;
  readonly stats: Readonly<PeripheralStats>;
  /** True while the page has notifications started on the SMP characteristic. */
  readonly notifying: boolean;
  /**
   * The board sends one advertising packet heard at `rssi` dBm (name and the SMP service in it).
   * A page that called `device.watchAdvertisements()` gets an `advertisementreceived` event.
   */
  advertise(rssi: number): Promise<void>;
  /**
   * The radio link drops (out of range) while the board keeps running: the page sees
   * `gattserverdisconnected`; the Node transport stays open, so the page can connect again to the
   * same board, which still holds whatever state it had (a half-finished upload).
   */
  dropLink(): Promise<void>;
  /** The board drops the link: the page sees `gattserverdisconnected`, the Node transport closes. */
  disconnect(): Promise<void>;
  /** Resolves once the Node transport has ended and the page has been told the link is gone. */
  readonly gone: Promise<void>;
}

export interface BleBridge {
  /** Emulates a board advertising the SMP service whose characteristic carries `transport`'s bytes. */
  attach(transport: Transport, options?: PeripheralOptions): Promise<EmulatedPeripheral>;
  readonly peripherals: readonly EmulatedPeripheral[];
  /** The next chooser is cancelled (requestDevice rejects with NotFoundError) instead of answered. */
  cancelNextChooser(): void;
  /** Choosers answered so far, by selection or cancellation. */
  readonly choosersAnswered: number;
  /** CDP calls of the emulation that failed (expected empty). */
  readonly problems: readonly string[];
  /** Closes every transport, turns the emulation off, and detaches from the browser. */
  dispose(): Promise<void>;
}

interface CharacteristicOperation {
  characteristicId: string;
  type: 'read' | 'write' | 'subscribe-to-notifications' | 'unsubscribe-from-notifications';
  data?: string;
  writeType?: 'write-default-deprecated' | 'write-with-response' | 'write-without-response';
}

interface PeripheralRecord {
  handle: EmulatedPeripheral;
  characteristicId: string;
  onOperation(operation: CharacteristicOperation): Promise<void>;
  onConnection(): void;
}

/** Turns the emulation on, installs the page shim (before the page's next navigation), and returns the Node side. */
export async function installBleBridge(page: Page): Promise<BleBridge> {
  const browser = page.context().browser();
  if (!browser) throw new Error('installBleBridge needs a page of a launched browser (BluetoothEmulation lives on the browser session)');
  const central: CDPSession = await browser.newBrowserCDPSession();
  await central.send('BluetoothEmulation.enable', { state: 'powered-on', leSupported: true });
  const pageSession: CDPSession = await page.context().newCDPSession(page);
  await pageSession.send('DeviceAccess.enable');
  await page.addInitScript(installReadPollShim, SMP_CHARACTERISTIC_UUID);

  const records: PeripheralRecord[] = [];
  const byAddress = new Map<string, PeripheralRecord>();
  const answeredPrompts = new Set<string>();
  let cancelNext = false;
  let disposed = false;
  let nextAddress = 1;

  const goneAddresses = new Set<string>();
  const problems: string[] = [];

  /** A CDP call from an event handler: a failure is recorded in `problems`, unless it raced with teardown. */
  const quietly = async (call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
    } catch (caught) {
      if (!disposed && !page.isClosed()) problems.push(caught instanceof Error ? caught.message : String(caught));
    }
  };

  pageSession.on('DeviceAccess.deviceRequestPrompted', (prompt: { id: string; devices: { id: string; name: string }[] }) => {
    if (answeredPrompts.has(prompt.id)) return; // the event repeats; a second answer would crash the browser
    if (cancelNext) {
      answeredPrompts.add(prompt.id);
      cancelNext = false;
      void quietly(() => pageSession.send('DeviceAccess.cancelPrompt', { id: prompt.id }));
      return;
    }
    // The most recently attached board that is listed and still there; wait for the next event if none is yet.
    const offered = new Set(prompt.devices.map((device) => device.id.toUpperCase()));
    const choice = [...records].reverse().find((record) => offered.has(record.handle.address) && !goneAddresses.has(record.handle.address));
    if (!choice) return;
    answeredPrompts.add(prompt.id);
    void quietly(() => pageSession.send('DeviceAccess.selectPrompt', { id: prompt.id, deviceId: prompt.devices.find((device) => device.id.toUpperCase() === choice.handle.address)!.id }));
  });

  central.on('BluetoothEmulation.gattOperationReceived', (operation: { address: string; type: 'connection' | 'discovery' }) => {
    const record = byAddress.get(operation.address.toUpperCase());
    if (operation.type === 'connection') record?.onConnection();
    void quietly(() => central.send('BluetoothEmulation.simulateGATTOperationResponse', { address: operation.address, type: operation.type, code: record ? HCI_SUCCESS : 0x04 /* page timeout */ }));
  });

  central.on('BluetoothEmulation.characteristicOperationReceived', (operation: CharacteristicOperation) => {
    const record = records.find((candidate) => candidate.characteristicId === operation.characteristicId);
    if (record) void record.onOperation(operation).catch(() => {});
  });

  const bridge: BleBridge = {
    async attach(transport, options = {}) {
      if (transport.framing !== 'packet') throw new Error(`the BLE bridge carries SMP packets: ${transport.description} has framing '${transport.framing}'`);
      const address = (options.address ?? `0C:1D:00:00:00:${(nextAddress++).toString(16).padStart(2, '0')}`).toUpperCase();
      const name = options.name ?? 'Imprint BLE sim';
      const notifySize = options.notifySize ?? 20;
      if (!(notifySize >= 1 && notifySize <= 512)) throw new Error(`notifySize ${notifySize} is not an attribute value size (1..512)`);

      await central.send('BluetoothEmulation.simulatePreconnectedPeripheral', { address, name, manufacturerData: [], knownServiceUuids: [SMP_SERVICE_UUID] });
      /** The SMP service, characteristic and CCC descriptor; made again after a dropped link (see `dropLink`). */
      const addSmpService = async (): Promise<string> => {
        const { serviceId } = await central.send('BluetoothEmulation.addService', { address, serviceUuid: SMP_SERVICE_UUID });
        const added = await central.send('BluetoothEmulation.addCharacteristic', {
          serviceId,
          characteristicUuid: SMP_CHARACTERISTIC_UUID,
          // Zephyr's: write without response + notify. `read` is the test's return path (see the top of this file).
          properties: { writeWithoutResponse: true, notify: true, read: true },
        });
        await central.send('BluetoothEmulation.addDescriptor', { characteristicId: added.characteristicId, descriptorUuid: CCC_DESCRIPTOR_UUID });
        return added.characteristicId;
      };
      let characteristicId = await addSmpService();

      const stats: PeripheralStats = { connections: 0, writes: 0, bytesFromPage: 0, largestWrite: 0, notifications: 0, bytesToPage: 0 };
      /** Pieces the board sent that the page has not read yet, and whether a read of the page waits for one. */
      let outbox: Uint8Array[] = [];
      let readWaiting = false;
      let notifying = false;
      let toBoard: Promise<void> = Promise.resolve();
      /** Counts links: a write the page made on a link that has since dropped never reaches the board. */
      let link = 0;
      let answering: Promise<void> = Promise.resolve();

      const answerRead = (code: number, piece?: Uint8Array) =>
        quietly(() =>
          central.send('BluetoothEmulation.simulateCharacteristicOperationResponse', {
            characteristicId,
            type: 'read',
            code,
            ...(piece ? { data: Buffer.from(piece).toString('base64') } : {}),
          }),
        );
      /** Resolved when the page has every piece and its next read is parked here (or it reads no more). */
      let whenIdle: (() => void) | null = null;
      const checkIdle = () => {
        if (whenIdle && (!notifying || (readWaiting && outbox.length === 0))) {
          whenIdle();
          whenIdle = null;
        }
      };
      /** Hands the next piece to the waiting read; one CDP answer at a time, so pieces keep their order. */
      const pump = () => {
        answering = answering.then(async () => {
          if (readWaiting && outbox.length > 0) {
            const piece = outbox.shift()!;
            readWaiting = false;
            stats.notifications++;
            stats.bytesToPage += piece.length;
            await answerRead(GATT_SUCCESS, piece);
          }
          checkIdle();
        });
      };
      const failWaitingRead = () => {
        answering = answering.then(async () => {
          if (!readWaiting) return;
          readWaiting = false;
          await answerRead(GATT_UNLIKELY_ERROR);
        });
      };

      const record: PeripheralRecord = {
        handle: undefined as unknown as EmulatedPeripheral,
        characteristicId,
        onConnection() {
          stats.connections++;
          // A new link: nothing of the old one is still in the air.
          outbox = [];
          readWaiting = false;
        },
        async onOperation(operation) {
          switch (operation.type) {
            case 'write': {
              const bytes = new Uint8Array(Buffer.from(operation.data ?? '', 'base64'));
              stats.writes++;
              stats.bytesFromPage += bytes.length;
              stats.largestWrite = Math.max(stats.largestWrite, bytes.length);
              // Writes reach the board in the order the page made them (CDP events arrive in order).
              const madeOn = link;
              toBoard = toBoard.then(() => (madeOn === link ? transport.send(bytes) : undefined)).catch(() => {});
              if (operation.writeType !== 'write-without-response') {
                await quietly(() => central.send('BluetoothEmulation.simulateCharacteristicOperationResponse', { characteristicId, type: 'write', code: GATT_SUCCESS }));
              }
              return;
            }
            case 'read':
              readWaiting = true;
              pump(); // answers at once if the board has bytes waiting, else the read stays parked here
              return;
            case 'subscribe-to-notifications':
              notifying = true;
              await quietly(() => central.send('BluetoothEmulation.simulateCharacteristicOperationResponse', { characteristicId, type: operation.type, code: GATT_SUCCESS }));
              return;
            case 'unsubscribe-from-notifications':
              notifying = false;
              failWaitingRead(); // ends the shim's long poll
              await quietly(() => central.send('BluetoothEmulation.simulateCharacteristicOperationResponse', { characteristicId, type: operation.type, code: GATT_SUCCESS }));
              return;
          }
        },
      };

      let resolveGone!: () => void;
      const gone = new Promise<void>((resolve) => (resolveGone = resolve));
      // Board → page: each chunk is one SMP packet; it goes out in notification-sized pieces.
      void (async () => {
        try {
          for await (const chunk of transport.receive()) {
            for (let offset = 0; offset < chunk.length; offset += notifySize) outbox.push(chunk.slice(offset, offset + notifySize));
            pump();
          }
        } catch {
          // The transport reports why through `disconnected`.
        }
      })();
      /**
       * Ends the GATT link. What the board sent before is delivered first, as a real link would. And
       * the link must not drop while the page's next read is still on its way through Chromium:
       * measured, the page then never hears `gattserverdisconnected`. So wait (briefly) for that
       * read to be parked here, and fail it before dropping the link.
       */
      const dropGatt = async () => {
        await Promise.race([new Promise<void>((resolve) => ((whenIdle = resolve), checkIdle())), delay(IDLE_WAIT_MS)]);
        whenIdle = null;
        notifying = false;
        failWaitingRead();
        await answering;
        await quietly(() => central.send('BluetoothEmulation.simulateGATTDisconnection', { address }));
      };
      void transport.disconnected.then(async () => {
        goneAddresses.add(address);
        await dropGatt();
        resolveGone();
      });

      const handle: EmulatedPeripheral = {
        address,
        name,
        stats,
        get notifying() {
          return notifying;
        },
        gone,
        async advertise(rssi) {
          if (!(Number.isInteger(rssi) && rssi >= -127 && rssi <= 20)) throw new Error(`rssi ${rssi} is not a received signal strength in dBm (-127..20)`);
          // appearance and txPower are required by the emulation; 0 is "unknown" appearance and a 0 dBm transmitter.
          const scanRecord = { name, uuids: [SMP_SERVICE_UUID], appearance: 0, txPower: 0, manufacturerData: [] };
          await central.send('BluetoothEmulation.simulateAdvertisement', { entry: { deviceAddress: address, rssi, scanRecord } });
        },
        async dropLink() {
          await dropGatt();
          link++; // what the page wrote and the board has not taken yet is lost with the link
          // Measured: a simulated GATT disconnection also removes the peripheral's services, so the
          // page's next connect would find no SMP service. A real board offers it again: so do we.
          characteristicId = await addSmpService();
          record.characteristicId = characteristicId;
        },
        async disconnect() {
          await transport.close();
          await gone;
        },
      };
      record.handle = handle;
      records.push(record);
      byAddress.set(address, record);
      return handle;
    },
    get peripherals() {
      return records.map((record) => record.handle);
    },
    cancelNextChooser() {
      cancelNext = true;
    },
    get choosersAnswered() {
      return answeredPrompts.size;
    },
    problems,
    async dispose() {
      if (disposed) return;
      await Promise.all(records.map((record) => record.handle.disconnect().catch(() => {})));
      disposed = true;
      await central.send('BluetoothEmulation.disable').catch(() => {});
      await central.detach().catch(() => {});
      await pageSession.detach().catch(() => {});
    },
  };
  return bridge;
}
