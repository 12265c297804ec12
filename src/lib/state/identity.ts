/**
 * What a board says about itself when we connect: MCUmgr buffer parameters, the OS/application
 * info string, and the bootloader. Each part is its own result, because boards differ in what
 * they answer (Zephyr's smp_svr sample has no bootloader info) and one refusal must not hide the rest.
 */
import type { Board, McumgrParams, OsGroup } from '../device';
import type { SmpError, SmpErrorCode } from '../smp/errors';
import { type Result, ok } from '../smp/result';

export type BootloaderInfo = Extract<Awaited<ReturnType<OsGroup['bootloaderInfo']>>, { ok: true }>['value'];

export interface Identity {
  params: Result<McumgrParams, SmpError> | null;
  /** `os/info` with format `a`: kernel, node, release, version, build, machine, processor, platform, OS. */
  info: Result<string, SmpError> | null;
  bootloader: Result<BootloaderInfo, SmpError> | null;
}

export const EMPTY_IDENTITY: Identity = { params: null, info: null, bootloader: null };

/** MCUboot `enum mcuboot_mode` (boot/bootutil/include/bootutil/boot_status.h), as `os/bootloader-info` reports it. */
export const MCUBOOT_MODE_NAMES: Readonly<Record<number, string>> = {
  0: 'single slot',
  1: 'swap using scratch',
  2: 'overwrite only',
  3: 'swap using move',
  4: 'direct XIP',
  5: 'direct XIP with revert',
  6: 'RAM load',
  7: 'firmware loader',
  8: 'single slot RAM load',
  9: 'swap using offset',
};

/** @example describeMcubootMode(1) === 'swap using scratch (mode 1)' */
export function describeMcubootMode(mode: number): string {
  const name = MCUBOOT_MODE_NAMES[mode];
  return name ? `${name} (mode ${mode})` : `mode ${mode}`;
}

/** Errors that say the link itself is not working, as opposed to the board refusing one command. */
const LINK_ERRORS: ReadonlySet<SmpErrorCode> = new Set(['timeout', 'disconnected', 'not-connected', 'transport']);

export function isLinkError(code: SmpErrorCode): boolean {
  return LINK_ERRORS.has(code);
}

/**
 * Reads the identity parts in order. When the link itself fails, the remaining parts are not
 * asked: each would wait its full timeout. `fresh` asks MCUmgr parameters again even when known.
 */
export async function readIdentity(board: Board, fresh: boolean): Promise<Identity> {
  const params = !fresh && board.params ? ok(board.params) : await board.os.params();
  if (!params.ok && isLinkError(params.error.code)) return { ...EMPTY_IDENTITY, params };
  const info = await board.os.info('a');
  if (!info.ok && isLinkError(info.error.code)) return { params, info, bootloader: null };
  const bootloader = await board.os.bootloaderInfo();
  return { params, info, bootloader };
}
