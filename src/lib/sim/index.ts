/**
 * The simulated board: a real SMP server with fault injection. The app offers it as the default
 * device; unit tests and the e2e suite drive it.
 */
import { SimulatedBoard, type SimulatedBoardOptions } from './board';
import { registerImageGroup, syntheticImage, type SimImageSlots } from './groups/image';
import { registerImageUpload } from './groups/image-upload';
import { registerKeysGroup, type SimKeys, type SimKeysOptions } from './groups/keys';
import { registerOsGroup } from './groups/os';
import { registerShellGroup } from './groups/shell';
import { registerStatGroup } from './groups/stat';
import { createSimulatedWire, type WireOptions } from './wire';
import type { Transport } from '../transport/types';

export { SimulatedBoard, type SimulatedBoardOptions, type Handler, type HandlerResult, type HandlerContext } from './board';
export { FaultState, type FaultPlan } from './faults';
export { createSimulatedWire, bleTransferMicros, BLE_1M_DEFAULT, type SimulatedWire, type WireOptions, type BleLinkModel } from './wire';
export { type SimImage, type SimImageSlots, syntheticImage } from './groups/image';
export { registerKeysGroup, SIM_KEYS_FIRMWARE, type SimKeys, type SimKeysOptions } from './groups/keys';
export { type KeysFaultPlan, type SimKeyStore, type SimKeyRecord, type TamperRecord } from './keys/store';
export { seededRandom, systemRandom, type RandomSource } from './keys/crypto';

export interface SimulatedDeviceOptions extends SimulatedBoardOptions {
  /** Start with an update waiting in slot 1 (default true), so test/confirm can be tried at once. */
  withUpdateInSecondary?: boolean;
  /** Bytes an uploaded image may have; default 0x70000 (448 KiB). */
  slotSize?: number;
  /** The keys group: its id (default 64), slots, certificate size, randomness. */
  keys?: SimKeysOptions;
}

export const DEFAULT_SIM_SLOT_SIZE = 0x70000;

export interface SimulatedDevice {
  board: SimulatedBoard;
  slots: SimImageSlots;
  keys: SimKeys;
}

/** A board with the OS, image, stat and shell groups, like Zephyr's smp_svr sample, plus Imprint's keys group. */
export function createSimulatedDevice(options: SimulatedDeviceOptions = {}): SimulatedDevice {
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
  const keys = registerKeysGroup(board, options.keys);
  return { board, slots, keys };
}

/** Wires a board to a fresh link and returns the host's end of it. */
export function connectSimulatedBoard(board: SimulatedBoard, wire: WireOptions = {}): Transport {
  const { host, board: boardEnd } = createSimulatedWire(wire);
  board.serve(boardEnd);
  return host;
}
