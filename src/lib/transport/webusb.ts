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

/** Bytes asked for per bulk IN transfer: a transfer completes at the device's first short packet, so this is only a ceiling. */
const BULK_IN_TRANSFER_SIZE = 16 * 1024;

/**
 * web-serial-polyfill 1.0.15 with one change: its `readable` starts a transferIn on every pull
 * without returning the promise, so the stream never waits and a new 64 KiB transfer is queued per
 * chunk received (they pile up until close(), and after a close the leftovers swallow the next
 * session's bytes). This readable keeps exactly one transfer in flight and errors with the
 * DOMException itself (NotFoundError on unplug), not its string.
 */
class CdcAcmPort extends UsbSerialPort {
  private stream: ReadableStream<Uint8Array> | null = null;
  private readonly inEndpoint: USBEndpoint;

  constructor(private readonly usb: USBDevice) {
    super(usb);
    const data = usb.configurations[0]?.interfaces.find((iface) => iface.alternates[0]?.interfaceClass === 10);
    const endpoint = data?.alternates[0]?.endpoints.find((candidate) => candidate.direction === 'in');
    if (!endpoint) throw new TypeError('the USB device has no CDC data interface with a bulk IN endpoint');
    this.inEndpoint = endpoint;
  }

  override get readable(): ReadableStream<Uint8Array> | null {
    if (!this.stream && this.usb.opened) {
      const stream: ReadableStream<Uint8Array> = new ReadableStream<Uint8Array>(
        {
          pull: async (controller) => {
            try {
              for (;;) {
                const result = await this.usb.transferIn(this.inEndpoint.endpointNumber, BULK_IN_TRANSFER_SIZE);
                if (result.status === 'stall') await this.usb.clearHalt('in', this.inEndpoint.endpointNumber);
                else if (result.status !== 'ok') throw new DOMException(`USB transfer status ${result.status}`, 'NetworkError');
                if (result.data && result.data.byteLength > 0) {
                  controller.enqueue(new Uint8Array(result.data.buffer.slice(result.data.byteOffset, result.data.byteOffset + result.data.byteLength)));
                  return;
                }
              }
            } catch (caught) {
              if (this.stream === stream) this.stream = null;
              controller.error(caught);
            }
          },
          cancel: () => {
            if (this.stream === stream) this.stream = null;
          },
        },
        { highWaterMark: 0 },
      );
      this.stream = stream;
    }
    return this.stream;
  }
}

export async function openWebUsb(device: USBDevice, options: Pick<WebSerialOptions, 'baudRate'> = {}): Promise<Transport> {
  const port = new CdcAcmPort(device) as unknown as SerialPort;
  return openWebSerial(port, {
    ...options,
    description: `${describeUsbDevice(device)} over WebUSB`,
    disconnectEvents: { target: navigator.usb, isThisPort: (event) => (event as USBConnectionEvent).device === device },
  });
}
