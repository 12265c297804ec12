/**
 * OS management group on the simulated board (Zephyr `os_mgmt`): echo, task and memory pool
 * statistics, date-time, reset, MCUmgr parameters, OS/application info, bootloader info.
 */
import { MGMT_ERR, MGMT_GROUP_ID, OS_MGMT_ERR, OS_MGMT_ID } from '../../smp/ids';
import { groupFailure, mgmtFailure, type SimulatedBoard } from '../board';

export const SIM_KERNEL_RELEASE = 'v3.4.99-imprint-sim';

export function registerOsGroup(board: SimulatedBoard): void {
  const group = MGMT_GROUP_ID.OS;
  const bootTime = () => Date.now();
  let bootedAt = bootTime();
  let clockOffsetMs = 0;
  board.onReboot(() => {
    bootedAt = bootTime();
    clockOffsetMs = 0;
  });

  board.register(group, OS_MGMT_ID.ECHO, {
    write: ({ payload }) => (typeof payload.d === 'string' ? { r: payload.d } : mgmtFailure(MGMT_ERR.EINVAL)),
  });

  board.register(group, OS_MGMT_ID.TASKSTAT, {
    read: () => {
      const uptime = Date.now() - bootedAt;
      const task = (prio: number, tid: number, stksiz: number, stkuse: number, share: number) => ({
        prio,
        tid,
        state: 0,
        stkuse,
        stksiz,
        cswcnt: Math.floor(uptime / 10) * share,
        runtime: Math.floor(uptime * share),
        last_checkin: 0,
        next_checkin: 0,
      });
      return { tasks: { idle: task(15, 1, 320, 64, 1), main: task(0, 2, 2048, 812, 0), smp_workq: task(7, 3, 2304, 1180, 0), shell_uart: task(14, 4, 2048, 940, 0) } };
    },
  });

  board.register(group, OS_MGMT_ID.MPSTAT, {
    read: () => ({ pools: { net_buf: { blksiz: board.bufSize, nblks: board.bufCount, nfree: board.bufCount - 1, min: board.bufCount - 2 } } }),
  });

  board.register(group, OS_MGMT_ID.DATETIME_STR, {
    read: () => ({ datetime: new Date(Date.now() + clockOffsetMs).toISOString().replace(/\.\d+Z$/, '') }),
    write: ({ payload }) => {
      if (typeof payload.datetime !== 'string') return mgmtFailure(MGMT_ERR.EINVAL);
      const parsed = Date.parse(payload.datetime.endsWith('Z') || /[+-]\d\d:\d\d$/.test(payload.datetime) ? payload.datetime : `${payload.datetime}Z`);
      if (Number.isNaN(parsed)) return mgmtFailure(MGMT_ERR.EINVAL);
      clockOffsetMs = parsed - Date.now();
      return {};
    },
  });

  board.register(group, OS_MGMT_ID.RESET, {
    write: () => {
      // Answer first, then go down, as Zephyr does (it waits for the response to leave).
      setTimeout(() => board.reboot(), 20);
      return {};
    },
  });

  board.register(group, OS_MGMT_ID.MCUMGR_PARAMS, {
    read: () => ({ buf_size: board.bufSize, buf_count: board.bufCount }),
  });

  board.register(group, OS_MGMT_ID.INFO, {
    read: ({ payload }) => {
      const format = payload.format === undefined ? 's' : payload.format;
      if (typeof format !== 'string') return mgmtFailure(MGMT_ERR.EINVAL);
      const parts: Record<string, string> = {
        s: 'Zephyr',
        n: board.name,
        r: SIM_KERNEL_RELEASE,
        v: `build ${board.bootCount}`,
        b: '2026-11-23T00:00:00',
        m: 'cortex-m33',
        p: 'arm',
        i: 'imprint_sim_board',
        o: 'Zephyr',
      };
      const letters = format.includes('a') ? 'snrvbmpio' : format;
      const output: string[] = [];
      for (const letter of letters) {
        const part = parts[letter];
        if (part === undefined) return groupFailure(group, OS_MGMT_ERR.INVALID_FORMAT, MGMT_ERR.EINVAL);
        output.push(part);
      }
      return { output: output.join(' ') };
    },
  });

  board.register(group, OS_MGMT_ID.BOOTLOADER_INFO, {
    read: ({ payload }) => {
      if (payload.query === undefined) return { bootloader: 'MCUboot' };
      if (payload.query === 'mode') return { mode: MCUBOOT_MODE_SWAP_USING_SCRATCH, 'no-downgrade': false };
      return groupFailure(group, OS_MGMT_ERR.QUERY_YIELDS_NO_ANSWER, MGMT_ERR.ENOTSUP);
    },
  });
}

/** MCUboot's mode number for swap using scratch, the classic default build. */
const MCUBOOT_MODE_SWAP_USING_SCRATCH = 1;
