/**
 * A connected board as one object: the SMP client plus the typed groups. `connectBoard` reads
 * the board's MCUmgr parameters first so no request is ever larger than its buffer.
 */
import { SmpClient, type SmpClientOptions } from '../smp/client';
import type { Transport } from '../transport/types';
import { ImageGroup } from './image';
import { KeysGroup } from './keys';
import { OsGroup, type McumgrParams } from './os';
import { SettingsGroup } from './settings';
import { ShellGroup, StatGroup } from './stat';

export class Board {
  readonly os: OsGroup;
  readonly image: ImageGroup;
  readonly stat: StatGroup;
  readonly shell: ShellGroup;
  /** Zephyr's settings group (3): values by name, for boards without the keys group. */
  readonly settings: SettingsGroup;
  /** Imprint's keys group, at the id the device profile gives (default 64). */
  readonly keys: KeysGroup;
  /** Known after `connectBoard` when the board answers MCUmgr parameters (not every board does). */
  params: McumgrParams | null = null;

  constructor(
    readonly client: SmpClient,
    options: { keysGroup?: number } = {},
  ) {
    this.os = new OsGroup(client);
    this.image = new ImageGroup(client);
    this.stat = new StatGroup(client);
    this.shell = new ShellGroup(client);
    this.settings = new SettingsGroup(client);
    this.keys = new KeysGroup(client, options.keysGroup);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Bytes of a console frame's length prefix and CRC, which share the board's SMP buffer. */
const CONSOLE_FRAME_OVERHEAD = 4;

export interface BoardOptions extends SmpClientOptions {
  /** Group id of the keys group on this board; default 64 (`MGMT_GROUP_ID_PERUSER`). */
  keysGroup?: number;
}

export async function connectBoard(transport: Transport, options: BoardOptions = {}): Promise<Board> {
  const board = new Board(new SmpClient(transport, options), { keysGroup: options.keysGroup });
  const params = await board.os.params();
  if (params.ok) {
    board.params = params.value;
    const overhead = transport.framing === 'console' ? CONSOLE_FRAME_OVERHEAD : 0;
    board.client.maxPacketSize = Math.min(options.maxPacketSize ?? Infinity, params.value.bufSize - overhead);
  }
  return board;
}
