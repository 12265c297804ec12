/** Small display formats shared by the components. */

/** `2026-11-23`: a date as a day, in UTC (certificates and the audit log count in UTC). */
export function formatDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** `['2026-11-23', '08:09:35']`: an audit time (ISO UTC) to the second, as day and clock, for tables headed "(UTC)". */
export function utcParts(iso: string): [string, string] {
  return [iso.slice(0, 10), iso.slice(11, 19)];
}

/** `1.2 MB`: bytes for people (decimal units, as browsers report storage). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
