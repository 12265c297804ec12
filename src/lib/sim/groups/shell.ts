/** Shell group on the simulated board (Zephyr `shell_mgmt`): a few commands a test can rely on. */
import { MGMT_ERR, MGMT_GROUP_ID, SHELL_MGMT_ID } from '../../smp/ids';
import { mgmtFailure, type SimulatedBoard } from '../board';
import { SIM_KERNEL_RELEASE } from './os';

export function registerShellGroup(board: SimulatedBoard): void {
  board.register(MGMT_GROUP_ID.SHELL, SHELL_MGMT_ID.EXEC, {
    write: ({ payload }) => {
      const argv = payload.argv;
      if (!Array.isArray(argv) || argv.length === 0 || !argv.every((arg) => typeof arg === 'string')) return mgmtFailure(MGMT_ERR.EINVAL);
      const line = (argv as string[]).join(' ');
      if (line === 'kernel version') return { o: `Zephyr version ${SIM_KERNEL_RELEASE.slice(1)}`, ret: 0 };
      if (argv[0] === 'echo') return { o: (argv as string[]).slice(1).join(' '), ret: 0 };
      return { o: `${argv[0]}: command not found`, ret: -8 };
    },
  });
}
