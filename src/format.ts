/**
 * How numbers, sizes, durations and dates are shown. Pure functions; the
 * words go through the caller's translation bundle.
 */
import { TranslationBundle } from '@jupyterlab/translation';

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** A size in decimal (SI) units, as storage systems count: 4096 → "4.1 kB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) {
    return '–';
  }
  if (bytes < 1000) {
    return `${Math.max(0, Math.round(bytes))} B`;
  }
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  // Three significant digits: 4.1 kB, 26.1 kB, 198 kB.
  const digits = value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** "3 files" / "1 file". */
export function formatFileCount(
  count: number | null | undefined,
  trans: TranslationBundle
): string {
  if (count === null || count === undefined) {
    return '';
  }
  return trans._n('%1 file', '%1 files', count);
}

/** A duration in the largest sensible units: "59 min", "1 h 5 min", "3 days". */
export function formatDuration(
  seconds: number,
  trans: TranslationBundle
): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return trans._n('%1 second', '%1 seconds', s);
  }
  const minutes = Math.floor(s / 60);
  if (minutes < 60) {
    return trans.__('%1 min', minutes);
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    const rest = minutes % 60;
    return rest
      ? trans.__('%1 h %2 min', hours, rest)
      : trans.__('%1 h', hours);
  }
  // A 7-day rule reads "7 days" until its last day, not "6 days".
  return trans._n('%1 day', '%1 days', Math.round(s / 86400));
}

/**
 * A Rucio date-time as a Date. Rucio sends UTC without a zone
 * (`2026-11-24T22:25:24`): read it as UTC, not as local time.
 */
export function parseRucioDate(value: string | null | undefined): Date | null {
  if (!value) {
    return null;
  }
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
  const date = new Date(hasZone ? value : `${value}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "in 6 days" / "2 h ago", relative to `now`. */
export function formatRelative(
  date: Date,
  now: number,
  trans: TranslationBundle
): string {
  const seconds = (date.getTime() - now) / 1000;
  return seconds >= 0
    ? trans.__('in %1', formatDuration(seconds, trans))
    : trans.__('%1 ago', formatDuration(-seconds, trans));
}

/** A date and time in the user's locale, to the minute. */
export function formatDateTime(date: Date): string {
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit'
  });
}

/** The part of a DID after `scope:`. */
export function didName(did: string): string {
  const index = did.indexOf(':');
  return index === -1 ? did : did.slice(index + 1);
}

/** A metadata value as text. */
export function formatMetadataValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (typeof value === 'object') {
    return JSON.stringify(value);
  }
  return String(value);
}

/** The DOI in a metadata value (`10.x/y`, `doi:10.x/y` or a doi.org URL), or null. */
export function extractDoi(value: unknown): string | null {
  if (typeof value !== 'string') {
    return null;
  }
  const match =
    /^(?:doi:|https?:\/\/(?:dx\.)?doi\.org\/)?(10\.\d{4,9}\/\S+)$/i.exec(
      value.trim()
    );
  return match ? match[1] : null;
}

/** A `jp-mod-` class for a state: `NOT_AVAILABLE` → `jp-mod-not-available`. */
export function modClass(state: string): string {
  return `jp-mod-${state.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}
