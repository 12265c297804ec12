/**
 * The page half of the BLE bridge's return path (see ble-bridge.ts): Chromium's BluetoothEmulation
 * cannot notify, so while notifications are on the page keeps one read of the SMP characteristic
 * outstanding and the bridge answers it with the board's next piece. Test-only; never in src/.
 */

/**
 * Runs in the page before its scripts (serialised by Playwright, so self-contained): while
 * notifications are on for the SMP characteristic, keeps one `readValue()` outstanding. Chromium
 * fires `characteristicvaluechanged` when a read completes, so the transport's notification
 * listener gets every piece the bridge answers a read with. Test-only: the emulation cannot notify.
 */
export function installReadPollShim(characteristicUuid: string): void {
  // @types/web-bluetooth declares the interface only, not the global constructor.
  const constructor = (globalThis as { BluetoothRemoteGATTCharacteristic?: { prototype: BluetoothRemoteGATTCharacteristic } }).BluetoothRemoteGATTCharacteristic;
  if (!constructor) return;
  const prototype = constructor.prototype;
  const startNotifications = prototype.startNotifications;
  const stopNotifications = prototype.stopNotifications;
  const readValue = prototype.readValue;
  const polls = new WeakMap<BluetoothRemoteGATTCharacteristic, { active: boolean }>();

  prototype.startNotifications = async function (this: BluetoothRemoteGATTCharacteristic) {
    const result = await startNotifications.call(this);
    if (this.uuid === characteristicUuid && !polls.get(this)?.active) {
      const poll = { active: true };
      polls.set(this, poll);
      void (async () => {
        while (poll.active && this.service.device.gatt?.connected) {
          try {
            await readValue.call(this);
          } catch {
            break; // stopNotifications, a dropped link, or a closing page: the next startNotifications polls again
          }
        }
        poll.active = false;
      })();
    }
    return result;
  };
  prototype.stopNotifications = async function (this: BluetoothRemoteGATTCharacteristic) {
    const poll = polls.get(this);
    if (poll) poll.active = false;
    return stopNotifications.call(this);
  };
}
