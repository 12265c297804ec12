/** Statistics group on the simulated board (Zephyr `stat_mgmt`): list and show. */
import { MGMT_ERR, MGMT_GROUP_ID, STAT_MGMT_ID } from '../../smp/ids';
import { mgmtFailure, type SimulatedBoard } from '../board';

export function registerStatGroup(board: SimulatedBoard): void {
  const groups: Record<string, () => Record<string, number>> = {
    smp_svr_stats: () => ({ ticks: board.stats.requests }),
    smp_link_stats: () => ({ rx_packets: board.stats.requests, tx_packets: board.stats.responses, rx_dropped: board.stats.dropped }),
  };
  board.register(MGMT_GROUP_ID.STAT, STAT_MGMT_ID.LIST, { read: () => ({ stat_list: Object.keys(groups) }) });
  board.register(MGMT_GROUP_ID.STAT, STAT_MGMT_ID.SHOW, {
    read: ({ payload }) => {
      const read = typeof payload.name === 'string' ? groups[payload.name] : undefined;
      if (!read) return mgmtFailure(MGMT_ERR.ENOENT);
      return { name: payload.name as string, fields: read() };
    },
  });
}
