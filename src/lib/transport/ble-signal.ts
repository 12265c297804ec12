/**
 * The signal of a Bluetooth board the operator chose: its advertisements as the browser hears
 * them (`device.watchAdvertisements()` and `advertisementreceived`, with the RSSI in dBm). Chrome
 * offers this only behind "Experimental Web Platform features"; elsewhere the watch reports that
 * it is not supported and the page says "signal unknown". Web Bluetooth has no scan for boards the
 * page was not given: the chooser (`requestBluetoothDevice`) is the only way to find new ones.
 */

export interface AdvertisementHeard {
  /** Received signal strength in dBm; null when the packet did not carry it. */
  rssi: number | null;
  /** The transmitter's stated power in dBm, when advertised. */
  txPower: number | null;
}

export type SignalWatch = { supported: true; stop(): void } | { supported: false; reason: string };

/**
 * @example const watch = await watchSignal(device, ({ rssi }) => (board.rssi = rssi)); … if (watch.supported) watch.stop();
 */
export async function watchSignal(device: BluetoothDevice, onHeard: (heard: AdvertisementHeard) => void): Promise<SignalWatch> {
  if (typeof device.watchAdvertisements !== 'function') return { supported: false, reason: 'this browser cannot listen to advertisements' };
  const stopper = new AbortController();
  const listener = (event: BluetoothAdvertisingEvent) => onHeard({ rssi: event.rssi ?? null, txPower: event.txPower ?? null });
  device.addEventListener('advertisementreceived', listener);
  const stop = () => {
    stopper.abort();
    device.removeEventListener('advertisementreceived', listener);
  };
  try {
    await device.watchAdvertisements({ signal: stopper.signal });
    return { supported: true, stop };
  } catch (caught) {
    stop();
    return { supported: false, reason: `the browser refused to listen to its advertisements (${caught instanceof Error ? caught.message : String(caught)})` };
  }
}
