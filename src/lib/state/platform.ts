/**
 * What the connection state needs from the outside world, in one small interface: a simulated
 * board in this tab, and the WebSerial port chooser. The browser build uses `browserPlatform`;
 * unit tests pass their own, so the state class runs in Node without a browser.
 */
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice } from '../sim';
import { describeSerialPort, grantedSerialPorts, isWebSerialSupported, openWebSerial, requestSerialPort } from '../transport/webserial';
import { isWebBluetoothSupported, openWebBluetooth, requestBluetoothDevice } from '../transport/webbluetooth';
import { describeUsbDevice, grantedUsbDevices, isWebUsbSupported, openWebUsb, requestUsbDevice } from '../transport/webusb';
import type { Transport } from '../transport/types';

/** The simulated board's wire runs at a real UART speed, so bytes take the time they would on a cable. */
export const SIM_BAUD_RATE = 115200;

export interface Platform {
  openSimulated(): { transport: Transport; device: SimulatedDevice };
  isSerialSupported(): boolean;
  isBluetoothSupported(): boolean;
  grantedSerialPorts(): Promise<SerialPort[]>;
  /** Shows the chooser; null when the operator cancels it. */
  requestSerialPort(): Promise<SerialPort | null>;
  openSerial(port: SerialPort, baudRate: number): Promise<Transport>;
  describeSerialPort(port: SerialPort): string;
  /** Calls `onChange` when a serial port or USB device is plugged in or goes away; returns the unsubscribe. */
  watchSerialPorts(onChange: () => void): () => void;
  isUsbSupported(): boolean;
  /** Connects to `device` (one chosen before), or shows the Bluetooth chooser first; null when the operator cancels it. */
  openBluetooth(device?: BluetoothDevice): Promise<OpenedDevice | null>;
  /** Opens a USB device granted before, or shows the USB chooser first; null when the operator cancels it. */
  openUsb(baudRate: number, device?: USBDevice): Promise<OpenedDevice | null>;
  grantedUsbDevices(): Promise<USBDevice[]>;
  describeUsbDevice(device: USBDevice): string;
}

export interface OpenedDevice {
  transport: Transport;
  name: string;
  /** Lets the link use what the board's SMP buffer allows, once it is known (BLE write size). */
  onBoardBuffer?: (bufSize: number) => void;
  /** The simulated board, when that is what was opened (for fault injection). */
  simulated?: SimulatedDevice;
}

export type DeviceKind = 'sim' | 'serial' | 'ble' | 'usb';

/** What the operator is told when a chooser closes without a choice. */
export const NOTHING_CHOSEN: Record<DeviceKind, string> = {
  sim: 'The simulated board did not start.',
  serial: 'No serial port was chosen.',
  ble: 'No Bluetooth board was chosen.',
  usb: 'No USB device was chosen.',
};

/** Opens the link for a device kind: a granted serial port or USB device as given, else the browser's chooser; null when it was cancelled. */
export async function openDevice(platform: Platform, kind: DeviceKind, options: { port?: SerialPort; usbDevice?: USBDevice; bluetoothDevice?: BluetoothDevice; baudRate: number }): Promise<OpenedDevice | null> {
  if (kind === 'sim') {
    const { transport, device } = platform.openSimulated();
    return { transport, name: device.board.name, simulated: device };
  }
  if (kind === 'ble') return platform.openBluetooth(options.bluetoothDevice);
  if (kind === 'usb') return platform.openUsb(options.baudRate, options.usbDevice);
  const chosen = options.port ?? (await platform.requestSerialPort());
  if (!chosen) return null;
  return { transport: await platform.openSerial(chosen, options.baudRate), name: platform.describeSerialPort(chosen) };
}

export const browserPlatform: Platform = {
  openSimulated() {
    const device = createSimulatedDevice();
    return { transport: connectSimulatedBoard(device.board, { baudRate: SIM_BAUD_RATE }), device };
  },
  isSerialSupported: isWebSerialSupported,
  isBluetoothSupported: isWebBluetoothSupported,
  isUsbSupported: isWebUsbSupported,
  grantedUsbDevices,
  describeUsbDevice,
  async openBluetooth(chosen) {
    const device = chosen ?? (await requestBluetoothDevice());
    if (!device) return null;
    const transport = await openWebBluetooth(device);
    return { transport, name: device.name ?? 'Bluetooth board', onBoardBuffer: (bufSize) => transport.growWriteSize(bufSize) };
  },
  async openUsb(baudRate, granted) {
    const device = granted ?? (await requestUsbDevice());
    if (!device) return null;
    return { transport: await openWebUsb(device, { baudRate }), name: describeUsbDevice(device) };
  },
  grantedSerialPorts,
  requestSerialPort: () => requestSerialPort(),
  openSerial: (port, baudRate) => openWebSerial(port, { baudRate }),
  describeSerialPort,
  watchSerialPorts(onChange) {
    // Serial ports and USB devices both come and go; either changes what the Connect page offers.
    const sources: EventTarget[] = [isWebSerialSupported() ? navigator.serial : null, isWebUsbSupported() ? navigator.usb : null].filter((source) => source !== null);
    for (const source of sources) {
      source.addEventListener('connect', onChange);
      source.addEventListener('disconnect', onChange);
    }
    return () => {
      for (const source of sources) {
        source.removeEventListener('connect', onChange);
        source.removeEventListener('disconnect', onChange);
      }
    };
  },
};
