/** `watchSignal` against a stand-in BluetoothDevice: what it reports, and that stopping really stops. */
import { describe, expect, it } from 'vitest';
import { type AdvertisementHeard, watchSignal } from '../../src/lib/transport/ble-signal';

/** An EventTarget with Chrome's watchAdvertisements, which can be told to refuse. */
function device(options: { refuse?: Error; noWatch?: boolean } = {}) {
  const target = new EventTarget() as EventTarget & { watchAdvertisements?: (options?: { signal?: AbortSignal }) => Promise<void>; signal?: AbortSignal };
  if (!options.noWatch) {
    target.watchAdvertisements = async (watchOptions) => {
      if (options.refuse) throw options.refuse;
      target.signal = watchOptions?.signal;
    };
  }
  const advertise = (rssi: number | undefined) => target.dispatchEvent(Object.assign(new Event('advertisementreceived'), { rssi, txPower: 4 }));
  return { target, advertise, asDevice: target as unknown as BluetoothDevice };
}

describe('watchSignal', () => {
  it('reports each advertisement until stopped, then aborts the watch', async () => {
    const fake = device();
    const heard: AdvertisementHeard[] = [];
    const watch = await watchSignal(fake.asDevice, (reading) => heard.push(reading));
    expect(watch.supported).toBe(true);
    fake.advertise(-61);
    fake.advertise(undefined);
    expect(heard).toEqual([
      { rssi: -61, txPower: 4 },
      { rssi: null, txPower: 4 },
    ]);
    if (watch.supported) watch.stop();
    expect(fake.target.signal?.aborted).toBe(true);
    fake.advertise(-40);
    expect(heard).toHaveLength(2);
  });

  it('says why when the browser has no watchAdvertisements or refuses it', async () => {
    expect(await watchSignal(device({ noWatch: true }).asDevice, () => {})).toEqual({ supported: false, reason: 'this browser cannot listen to advertisements' });
    const refused = device({ refuse: new Error('Permission denied.') });
    const heard: AdvertisementHeard[] = [];
    expect(await watchSignal(refused.asDevice, (reading) => heard.push(reading))).toEqual({ supported: false, reason: 'the browser refused to listen to its advertisements (Permission denied.)' });
    refused.advertise(-50);
    expect(heard).toEqual([]);
  });
});
