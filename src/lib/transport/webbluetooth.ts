/**
 * Web Bluetooth transport for the SMP GATT service (Zephyr `smp_bt`): requests go out as
 * writes without response, responses come back as notifications, reassembled by the SMP layer
 * (framing 'packet'). Web Bluetooth cannot tell us the ATT MTU, so writes start at the size every
 * link allows and grow once the board's SMP buffer is known; a write the link refuses is retried
 * smaller, so nothing is lost and the next packet uses the size that worked.
 */
import { AsyncQueue } from './queue';
import { type DisconnectInfo, type Transport, TransportFailure } from './types';

export const SMP_SERVICE_UUID = '8d53dc1d-1db7-4cd3-868b-8a527460aa84';
export const SMP_CHARACTERISTIC_UUID = 'da2e7828-fbce-4e01-ae9e-261174997c48';
/** Default ATT MTU 23 minus the 3-byte ATT header: what every link carries. */
export const SAFE_WRITE_SIZE = 20;
/** Sizes tried, largest first, when growing: 512 is the largest attribute value; 244 fits one LL PDU with DLE. */
const WRITE_SIZE_STEPS = [512, 495, 244, 180, 100, SAFE_WRITE_SIZE];

export function isWebBluetoothSupported(): boolean {
  return typeof navigator !== 'undefined' && 'bluetooth' in navigator && !!navigator.bluetooth;
}

/** Shows the chooser for boards advertising the SMP service; null when the user cancels. */
export async function requestBluetoothDevice(): Promise<BluetoothDevice | null> {
  if (!isWebBluetoothSupported()) throw new TransportFailure({ code: 'not-supported', message: 'this browser has no Web Bluetooth: use Chrome or Edge, or the simulated board' });
  try {
    return await navigator.bluetooth.requestDevice({ filters: [{ services: [SMP_SERVICE_UUID] }], optionalServices: [SMP_SERVICE_UUID] });
  } catch (caught) {
    if (caught instanceof DOMException && caught.name === 'NotFoundError') return null;
    throw new TransportFailure({ code: 'open-failed', message: `could not choose a Bluetooth device: ${String(caught)}` });
  }
}

/** Devices this origin was granted before (Chrome exposes them behind a flag; empty otherwise). */
export async function grantedBluetoothDevices(): Promise<BluetoothDevice[]> {
  if (!isWebBluetoothSupported() || typeof navigator.bluetooth.getDevices !== 'function') return [];
  try {
    return await navigator.bluetooth.getDevices();
  } catch {
    return [];
  }
}

export async function openWebBluetooth(device: BluetoothDevice): Promise<WebBluetoothTransport> {
  const name = device.name ?? 'Bluetooth board';
  try {
    const server = await device.gatt!.connect();
    const service = await server.getPrimaryService(SMP_SERVICE_UUID);
    const characteristic = await service.getCharacteristic(SMP_CHARACTERISTIC_UUID);
    const transport = new WebBluetoothTransport(device, characteristic, name);
    await characteristic.startNotifications();
    return transport;
  } catch (caught) {
    if (caught instanceof TransportFailure) throw caught;
    throw new TransportFailure({ code: 'open-failed', message: `could not reach the SMP service on ${name}: ${caught instanceof Error ? caught.message : String(caught)}. Is the board advertising and in range?` });
  }
}

export class WebBluetoothTransport implements Transport {
  readonly framing = 'packet' as const;
  readonly description: string;
  readonly disconnected: Promise<DisconnectInfo>;
  private readonly incoming = new AsyncQueue<Uint8Array>();
  private connected = true;
  private writeSize = SAFE_WRITE_SIZE;
  private writeChain: Promise<void> = Promise.resolve();
  private resolveDisconnected!: (info: DisconnectInfo) => void;
  private readonly onNotification = (event: Event) => {
    const value = (event.target as BluetoothRemoteGATTCharacteristic).value;
    if (value) this.incoming.push(new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)));
  };
  private readonly onGattDisconnected = () => this.finish({ reason: 'lost', message: `the Bluetooth link to ${this.description} dropped (out of range, or the board reset)` });

  constructor(
    readonly device: BluetoothDevice,
    private readonly characteristic: BluetoothRemoteGATTCharacteristic,
    name: string,
  ) {
    this.description = name;
    this.disconnected = new Promise((resolve) => (this.resolveDisconnected = resolve));
    characteristic.addEventListener('characteristicvaluechanged', this.onNotification);
    device.addEventListener('gattserverdisconnected', this.onGattDisconnected);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Lets writes grow towards what the board can take (its SMP buffer); the link may still refuse, then we shrink. */
  growWriteSize(boardBufferSize: number): void {
    this.writeSize = WRITE_SIZE_STEPS.find((size) => size <= boardBufferSize) ?? SAFE_WRITE_SIZE;
  }

  get currentWriteSize(): number {
    return this.writeSize;
  }

  send(bytes: Uint8Array): Promise<void> {
    // Writes of one packet must not interleave with the next packet's.
    const result = this.writeChain.then(() => this.writePacket(bytes));
    this.writeChain = result.catch(() => {});
    return result;
  }

  private async writePacket(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (!this.connected) throw new TransportFailure({ code: 'not-connected', message: `${this.description} is not connected` });
      const piece = bytes.slice(offset, offset + this.writeSize);
      try {
        await this.characteristic.writeValueWithoutResponse(piece);
        offset += piece.length;
      } catch (caught) {
        const smaller = WRITE_SIZE_STEPS.find((size) => size < this.writeSize);
        if (smaller === undefined || !this.connected) {
          throw new TransportFailure({ code: 'write-failed', message: `writing to ${this.description} failed: ${caught instanceof Error ? caught.message : String(caught)}` });
        }
        this.writeSize = smaller;
      }
    }
  }

  receive(): AsyncIterableIterator<Uint8Array> {
    return this.incoming;
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    try {
      await this.characteristic.stopNotifications();
    } catch {
      // The link may already be down.
    }
    this.finish({ reason: 'closed', message: `${this.description} closed` });
    this.device.gatt?.disconnect();
  }

  private finish(info: DisconnectInfo): void {
    if (!this.connected) return;
    this.connected = false;
    this.characteristic.removeEventListener('characteristicvaluechanged', this.onNotification);
    this.device.removeEventListener('gattserverdisconnected', this.onGattDisconnected);
    this.incoming.end();
    this.resolveDisconnected(info);
  }
}
