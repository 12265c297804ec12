/**
 * The simulated board: a real SMP server with fault injection. The app offers it as the default
 * device; unit tests and the e2e suite drive it.
 */
import { SimulatedBoard, type SimulatedBoardOptions } from './board';
import { registerImageGroup, syntheticImage, type SimImageSlots } from './groups/image';
import { registerImageUpload } from './groups/image-upload';
import { registerKeysGroup, type SimKeys, type SimKeysOptions } from './groups/keys';
import { registerOsGroup } from './groups/os';
import { registerSettingsGroup, type SimSettings, type SimSettingsOptions } from './groups/settings';
import { registerShellGroup } from './groups/shell';
import { registerStatGroup } from './groups/stat';
import { createSimulatedWire, type WireOptions } from './wire';
import type { Transport } from '../transport/types';

export { SimulatedBoard, type SimulatedBoardOptions, type Handler, type HandlerResult, type HandlerContext } from './board';
export { FaultState, type FaultPlan } from './faults';
export { createSimulatedWire, bleTransferMicros, BLE_1M_DEFAULT, USB_FULL_SPEED, type SimulatedWire, type WireOptions, type BleLinkModel, type UsbLinkModel } from './wire';
export { type SimImage, type SimImageSlots, syntheticImage } from './groups/image';
export { registerKeysGroup, SIM_KEYS_FIRMWARE, type SimKeys, type SimKeysOptions } from './groups/keys';
export { registerSettingsGroup, type SimSettings, type SimSettingsFaultPlan, type SimSettingsOptions } from './groups/settings';
export { type KeysFaultPlan, type SimKeyStore, type SimKeyRecord, type TamperRecord } from './keys/store';
export { seededRandom, systemRandom, type RandomSource } from './keys/crypto';

export interface SimulatedDeviceOptions extends SimulatedBoardOptions {
  /** Start with an update waiting in slot 1 (default true), so test/confirm can be tried at once. */
  withUpdateInSecondary?: boolean;
  /** Bytes an uploaded image may have; default 0x70000 (448 KiB). */
  slotSize?: number;
  /** The keys group: its id (default 64), slots, certificate size, randomness. */
  keys?: SimKeysOptions;
  /** Zephyr's settings group: name and value limits, registered roots. */
  settings?: SimSettingsOptions;
}

export const DEFAULT_SIM_SLOT_SIZE = 0x70000;

export interface SimulatedDevice extends StandardSimulatedDevice {
  keys: SimKeys;
}

/** A board with only Zephyr's standard groups: no keys group. */
export interface StandardSimulatedDevice {
  board: SimulatedBoard;
  slots: SimImageSlots;
  settings: SimSettings;
}

/** A board with the OS, image, stat, shell and settings groups, like Zephyr's smp_svr sample, plus Imprint's keys group. */
export function createSimulatedDevice(options: SimulatedDeviceOptions = {}): SimulatedDevice {
  const device = createStandardSimulatedDevice(options);
  const keys = registerKeysGroup(device.board, options.keys);
  return { ...device, keys };
}

/** A board whose firmware has only Zephyr's standard groups (OS, image, stat, shell, settings): the `settings-only` profile's board. */
export function createStandardSimulatedDevice(options: Omit<SimulatedDeviceOptions, 'keys'> = {}): StandardSimulatedDevice {
  const board = new SimulatedBoard(options);
  const slots: SimImageSlots = {
    primary: syntheticImage(board.name, '1.0.0'),
    secondary: options.withUpdateInSecondary === false ? null : syntheticImage(board.name, '1.1.0'),
    confirmed: true,
    pending: null,
    testing: false,
  };
  registerOsGroup(board);
  registerImageGroup(board, slots);
  registerImageUpload(board, slots, options.slotSize ?? DEFAULT_SIM_SLOT_SIZE);
  registerStatGroup(board);
  registerShellGroup(board);
  const settings = registerSettingsGroup(board, options.settings);
  return { board, slots, settings };
}

/** Wires a board to a fresh link and returns the host's end of it. */
export function connectSimulatedBoard(board: SimulatedBoard, wire: WireOptions = {}): Transport {
  const { host, board: boardEnd } = createSimulatedWire(wire);
  board.serve(boardEnd);
  return host;
}
