/**
 * The link models spend the time they claim: an upload over each one takes at least the time the
 * model says its bytes need (so benchmark ratios against them mean something), and still lands.
 * These check the models, not our speed: only lower bounds are asserted.
 */
import { describe, expect, test } from 'vitest';
import { connectBoard } from '../../src/lib/device';
import { buildMcubootImage } from '../../src/lib/device/mcuboot-image';
import { uploadImage } from '../../src/lib/device/upload';
import { BLE_1M_DEFAULT, USB_FULL_SPEED, bleTransferMicros, connectSimulatedBoard, createSimulatedDevice, type WireOptions } from '../../src/lib/sim';
import type { Transport } from '../../src/lib/transport';

const image = buildMcubootImage({ version: { major: 1, minor: 0, revision: 0, build: 0 }, body: new Uint8Array(24 * 1024).map((_, i) => i & 0xff) });

async function upload(wire: WireOptions): Promise<{ seconds: number; packets: number[]; landed: boolean }> {
  const { board, slots } = createSimulatedDevice();
  const transport: Transport = connectSimulatedBoard(board, wire);
  const packets: number[] = [];
  const send = transport.send.bind(transport);
  transport.send = (bytes) => {
    packets.push(bytes.length);
    return send(bytes);
  };
  const connected = await connectBoard(transport);
  packets.length = 0;
  const result = await uploadImage(connected.client, image, { params: connected.params, window: 2 });
  await connected.close();
  return { seconds: result.ok ? result.value.seconds : NaN, packets, landed: slots.secondary?.version === '1.0.0' };
}

describe('link models', () => {
  test('USB full speed: 64-byte bulk packets, 19 per 1 ms frame', async () => {
    const { seconds, packets, landed } = await upload({ usb: USB_FULL_SPEED });
    expect(landed).toBe(true);
    const modelled = packets.reduce((sum, bytes) => sum + Math.ceil(bytes / 64) / 19, 0) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(modelled * 0.9);
  });

  test('BLE 1M PHY: ATT writes cut into link-layer PDUs', async () => {
    const { seconds, packets, landed } = await upload({ ble: BLE_1M_DEFAULT });
    expect(landed).toBe(true);
    const modelled = packets.reduce((sum, bytes) => sum + bleTransferMicros(bytes, BLE_1M_DEFAULT), 0) / 1e6;
    expect(seconds).toBeGreaterThanOrEqual(modelled * 0.9);
    // One full 251-byte PDU: (251 + 10) × 8 µs on air + empty PDU 80 µs + two inter-frame spaces of 150 µs.
    expect(bleTransferMicros(244, BLE_1M_DEFAULT)).toBe(251 * 8 + 460);
  });

  test('serial 8N1: ten bits a byte', async () => {
    const { seconds, packets, landed } = await upload({ baudRate: 921600 });
    expect(landed).toBe(true);
    const modelled = packets.reduce((sum, bytes) => sum + (bytes * 10) / 921600, 0);
    expect(seconds).toBeGreaterThanOrEqual(modelled * 0.9);
  });
});
