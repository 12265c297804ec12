/**
 * WebUSB transport for boards whose USB CDC-ACM port no OS driver has claimed (common on
 * Android tablets and ChromeOS): web-serial-polyfill speaks CDC-ACM over WebUSB and gives us a
 * SerialPort, so the bytes take the same path, and framing, as WebSerial.
 */
import { SerialPort as UsbSerialPort } from 'web-serial-polyfill';
import { openWebSerial, type WebSerialOptions } from './webserial';
import { type Transport, TransportFailure } from './types';

/** USB class code for Communications (CDC). */
const USB_CLASS_CDC = 0x02;

export function isWebUsbSupported(): boolean {
  return typeof navigator !== 'undefined' && 'usb' in navigator && !!navigator.usb;
}

export function describeUsbDevice(device: USBDevice): string {
  const hex = (id: number) => id.toString(16).padStart(4, '0');
  return `${device.productName ?? 'USB CDC-ACM'} ${hex(device.vendorId)}:${hex(device.productId)}`;
}

export async function requestUsbDevice(): Promise<USBDevice | null> {
  if (!isWebUsbSupported()) throw new TransportFailure({ code: 'not-supported', message: 'this browser has no WebUSB: use Chrome or Edge, or the simulated board' });
  try {
    return await navigator.usb.requestDevice({ filters: [{ classCode: USB_CLASS_CDC }] });
  } catch (caught) {
    if (caught instanceof DOMException && caught.name === 'NotFoundError') return null;
    throw new TransportFailure({ code: 'open-failed', message: `could not choose a USB device: ${String(caught)}` });
  }
}

/** Devices this origin was granted before, offered again without the chooser. */
export async function grantedUsbDevices(): Promise<USBDevice[]> {
  return isWebUsbSupported() ? navigator.usb.getDevices() : [];
}

export async function openWebUsb(device: USBDevice, options: Pick<WebSerialOptions, 'baudRate'> = {}): Promise<Transport> {
  const port = new UsbSerialPort(device) as unknown as SerialPort;
  return openWebSerial(port, {
    ...options,
    description: `${describeUsbDevice(device)} over WebUSB`,
    disconnectEvents: { target: navigator.usb, isThisPort: (event) => (event as USBConnectionEvent).device === device },
  });
}
