/**
 * What a Bluetooth board's received signal strength (RSSI, dBm) means to someone standing next to
 * it with a tablet: a few bars and a word, and the order in which to offer the boards found. The
 * bands are the usual BLE rules of thumb (not a standard): above −60 dBm the board is within a
 * couple of metres; −60…−70 connects reliably; −70…−80 connects, uploads slow down; −80…−90 links
 * drop; below that, move closer. A reading older than `SIGNAL_STALE_MS` is not shown as current:
 * boards stop advertising while connected, or have walked out of range.
 */

export type SignalLevel = 'strong' | 'good' | 'fair' | 'weak' | 'very weak' | 'unknown';

/** A reading older than this is shown as "last heard … ago", not as the signal now. */
export const SIGNAL_STALE_MS = 10_000;

/** Lower edge (dBm) of each band, strongest first; the bars a band shows are 4 down to 0. */
const BANDS: readonly { atLeast: number; level: SignalLevel; bars: number }[] = [
  { atLeast: -60, level: 'strong', bars: 4 },
  { atLeast: -70, level: 'good', bars: 3 },
  { atLeast: -80, level: 'fair', bars: 2 },
  { atLeast: -90, level: 'weak', bars: 1 },
];

export interface SignalReading {
  /** dBm; null when nothing was heard (or the browser cannot listen). */
  rssi: number | null;
  /** When it was heard (ms, the same clock as `now`). */
  heardAt: number | null;
}

export interface SignalView {
  level: SignalLevel;
  /** 0–4 */
  bars: number;
  /** `−58 dBm · strong`, `signal unknown`, `−81 dBm · weak · last heard 25 s ago`. */
  text: string;
}

/** @example signalLevel(-58) // { level: 'strong', bars: 4 } */
export function signalLevel(rssi: number | null): { level: SignalLevel; bars: number } {
  if (rssi === null || !Number.isFinite(rssi)) return { level: 'unknown', bars: 0 };
  const band = BANDS.find((candidate) => rssi >= candidate.atLeast);
  return band ? { level: band.level, bars: band.bars } : { level: 'very weak', bars: 0 };
}

/**
 * @example describeSignal({ rssi: -58, heardAt: 1000 }, 2000) // { level: 'strong', bars: 4, text: '−58 dBm · strong' }
 */
export function describeSignal(reading: SignalReading, now: number): SignalView {
  if (reading.rssi === null || reading.heardAt === null) return { level: 'unknown', bars: 0, text: 'signal unknown' };
  const { level, bars } = signalLevel(reading.rssi);
  const text = `${formatDbm(reading.rssi)} · ${level}`;
  const age = now - reading.heardAt;
  if (age <= SIGNAL_STALE_MS) return { level, bars, text };
  return { level: 'unknown', bars: 0, text: `${text} · last heard ${formatAge(age)} ago` };
}

/**
 * Strongest current signal first, then boards heard only a while ago, then those never heard;
 * by name within each. Does not change `boards`.
 * @example rankBoards([{ name: 'b', rssi: -80, heardAt: now }, { name: 'a', rssi: -50, heardAt: now }], now) // a, b
 */
export function rankBoards<T extends SignalReading & { name: string }>(boards: readonly T[], now: number): T[] {
  const group = (board: T) => (board.rssi === null || board.heardAt === null ? 2 : now - board.heardAt > SIGNAL_STALE_MS ? 1 : 0);
  return [...boards].sort((a, b) => group(a) - group(b) || (group(a) === 0 ? b.rssi! - a.rssi! : 0) || a.name.localeCompare(b.name));
}

/** `−58 dBm`, with a real minus sign. */
function formatDbm(rssi: number): string {
  return `${rssi < 0 ? '−' : ''}${Math.abs(Math.round(rssi))} dBm`;
}

function formatAge(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}
