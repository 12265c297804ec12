/** Transports: byte movers, nothing more. */
export type { Transport, DisconnectInfo, DisconnectReason, TransportError, TransportErrorCode } from './types';
export { TransportFailure } from './types';
export { LoopbackTransport } from './loopback';
export { AsyncQueue } from './queue';
export { openWebSerial, requestSerialPort, grantedSerialPorts, describeSerialPort, isWebSerialSupported, DEFAULT_BAUD_RATE, RECEIVE_BUFFER_SIZE, type WebSerialOptions } from './webserial';
export { openWebBluetooth, requestBluetoothDevice, grantedBluetoothDevices, isWebBluetoothSupported, WebBluetoothTransport, SMP_SERVICE_UUID, SMP_CHARACTERISTIC_UUID } from './webbluetooth';
export { watchSignal, type AdvertisementHeard, type SignalWatch } from './ble-signal';
export { openWebUsb, requestUsbDevice, grantedUsbDevices, isWebUsbSupported, describeUsbDevice } from './webusb';
