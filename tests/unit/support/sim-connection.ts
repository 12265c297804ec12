/** A `Connection` to a fresh simulated board at wire speed, for state-class tests that need a board. */
import { Connection, type Platform } from '../../../src/lib/state';
import { connectSimulatedBoard, createSimulatedDevice, type SimulatedDevice, type SimulatedDeviceOptions } from '../../../src/lib/sim';

/** Connects to a new simulated board; `device` is the board itself, for reaching around the app. */
export async function simConnection(options: SimulatedDeviceOptions = {}): Promise<{ connection: Connection; device: SimulatedDevice }> {
  const device = createSimulatedDevice(options);
  const platform: Platform = {
    openSimulated: () => ({ device, transport: connectSimulatedBoard(device.board, { baudRate: Infinity }) }),
    isSerialSupported: () => false,
    isBluetoothSupported: () => false,
    isUsbSupported: () => false,
    grantedSerialPorts: async () => [],
    requestSerialPort: async () => null,
    openSerial: () => Promise.reject(new Error('no serial ports here')),
    describeSerialPort: () => '',
    watchSerialPorts: () => () => {},
    openBluetooth: async () => null,
    openUsb: async () => null,
    grantedUsbDevices: async () => [],
    describeUsbDevice: () => 'USB device',
  };
  const connection = new Connection({ platform, client: { timeoutMs: 2000 } });
  if (!(await connection.connect('sim'))) throw new Error(`simulated board did not connect: ${connection.errors.connect}`);
  return { connection, device };
}
