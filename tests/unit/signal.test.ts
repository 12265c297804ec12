import { describe, expect, it } from 'vitest';
import { describeSignal, rankBoards, SIGNAL_STALE_MS, signalLevel } from '../../src/lib/state/signal';

describe('signalLevel', () => {
  it('puts each RSSI in its band, edges included', () => {
    const table: [number | null, string, number][] = [
      [-40, 'strong', 4],
      [-60, 'strong', 4],
      [-61, 'good', 3],
      [-70, 'good', 3],
      [-71, 'fair', 2],
      [-80, 'fair', 2],
      [-81, 'weak', 1],
      [-90, 'weak', 1],
      [-91, 'very weak', 0],
      [-127, 'very weak', 0],
      [null, 'unknown', 0],
      [Number.NaN, 'unknown', 0],
    ];
    for (const [rssi, level, bars] of table) expect([rssi, signalLevel(rssi)]).toEqual([rssi, { level, bars }]);
  });
});

describe('describeSignal', () => {
  it('says the dBm figure and the word while the reading is fresh', () => {
    expect(describeSignal({ rssi: -58, heardAt: 1000 }, 1000 + SIGNAL_STALE_MS)).toEqual({ level: 'strong', bars: 4, text: '−58 dBm · strong' });
  });

  it('says "signal unknown" when nothing was heard', () => {
    expect(describeSignal({ rssi: null, heardAt: null }, 5000)).toEqual({ level: 'unknown', bars: 0, text: 'signal unknown' });
  });

  it('does not pass an old reading off as the signal now', () => {
    expect(describeSignal({ rssi: -81, heardAt: 0 }, 25_000)).toEqual({ level: 'unknown', bars: 0, text: '−81 dBm · weak · last heard 25 s ago' });
    expect(describeSignal({ rssi: -81, heardAt: 0 }, 300_000).text).toBe('−81 dBm · weak · last heard 5 min ago');
  });
});

describe('rankBoards', () => {
  it('orders by current signal, then stale readings, then boards never heard, by name within a group', () => {
    const now = 100_000;
    const boards = [
      { name: 'never-b', rssi: null, heardAt: null },
      { name: 'stale', rssi: -40, heardAt: now - SIGNAL_STALE_MS - 1 },
      { name: 'far', rssi: -85, heardAt: now },
      { name: 'never-a', rssi: null, heardAt: null },
      { name: 'near', rssi: -52, heardAt: now - 100 },
    ];
    expect(rankBoards(boards, now).map((board) => board.name)).toEqual(['near', 'far', 'stale', 'never-a', 'never-b']);
    expect(boards[0]!.name).toBe('never-b'); // the input is left as it was
  });
});
