// Calendar windows of a quota: the second, minute, hour, day or month an instant falls in, on the wall clock of an IANA
// time zone. Pure (the instant is a parameter) and cheap on the request path: the last window per (zone, period) is
// memoised, so the usual cost is a map lookup and two comparisons; Intl is only consulted when a window ends.
//
// Days and months run from the first instant of their local date to the first instant of the next one, so they follow
// DST: a spring-forward day is 23 h, a fall-back day 25 h, and a date whose midnight falls in a DST gap (e.g.
// America/Santiago, Asia/Beirut) starts at 01:00. Hours, minutes and seconds align to the local clock (an hour in
// Asia/Kolkata starts at UTC :30). A wall-clock label that occurs twice (the repeated hour at fall-back) names two
// windows; those ids carry the UTC offset ("2026-11-01T01-04:00", "2026-11-01T01-05:00"), all others are bare labels.
//
// Ids depend only on the window and the zone's rules, so every proxy with the same tz data derives the same Redis key.
import type { QuotaPeriod } from '../../table/table-schema.ts';
import type { QuotaWindow } from './limit-types.ts';

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * How far either side of an instant to look for an offset change when building a sub-day window. Must exceed the
 * largest backward jump plus an hour (real ones are at most 2 h) and stay below the gap between two changes (months).
 */
const PROBE_MS = 6 * HOUR_MS;

/** Length of the id prefix of `Date#toISOString()` per clock period: "2026-11-30T14:05:09". */
const LABEL_LENGTH = { second: 19, minute: 16, hour: 13 } as const;
const CLOCK_SIZE_MS = { second: SECOND_MS, minute: MINUTE_MS, hour: HOUR_MS } as const;

interface ZoneState {
  /** Renders an instant's UTC offset ("…, GMT-04:00"); undefined for UTC, whose offset is always 0. */
  readonly offsetFormat: Intl.DateTimeFormat | undefined;
  /** The last window computed per period: the memo that makes the common case two comparisons. */
  readonly last: Record<QuotaPeriod, QuotaWindow | undefined>;
}

const zones = new Map<string, ZoneState>();

/**
 * The calendar window of `period` in `timeZone` that holds the instant `nowMs` (startMs <= nowMs < endMs).
 * Throws a RangeError for a zone Intl does not know (the compiler rejects those, see isKnownTimeZone).
 */
export function quotaWindowAt(nowMs: number, period: QuotaPeriod, timeZone: string): QuotaWindow {
  const zone = zones.get(timeZone) ?? addZone(timeZone);
  const last = zone.last[period];
  if (last !== undefined && nowMs >= last.startMs && nowMs < last.endMs) return last;
  const window = windowAt(zone.offsetFormat, nowMs, period);
  zone.last[period] = window;
  return window;
}

/** quotaWindowAt without the memo: the same answer, always computed (for tests and one-off use). */
export function computeQuotaWindow(nowMs: number, period: QuotaPeriod, timeZone: string): QuotaWindow {
  return windowAt((zones.get(timeZone) ?? addZone(timeZone)).offsetFormat, nowMs, period);
}

/** Whether Intl knows the zone: an IANA name or alias in any case ("europe/paris"), or an offset such as "+05:30". */
export function isKnownTimeZone(zone: string): boolean {
  if (typeof zone !== 'string' || zone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function addZone(timeZone: string): ZoneState {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
  // Aliases of UTC ("Etc/UTC", "GMT", "utc") resolve to "UTC": plain arithmetic, no Intl on the request path.
  const utc = format.resolvedOptions().timeZone === 'UTC';
  const zone: ZoneState = { offsetFormat: utc ? undefined : format, last: { second: undefined, minute: undefined, hour: undefined, day: undefined, month: undefined } };
  zones.set(timeZone, zone);
  return zone;
}

function windowAt(format: Intl.DateTimeFormat | undefined, nowMs: number, period: QuotaPeriod): QuotaWindow {
  switch (period) {
    case 'second':
    case 'minute':
    case 'hour':
      return clockWindow(format, nowMs, period);
    case 'day':
    case 'month':
      return dateWindow(format, nowMs, period);
    default: {
      const never: never = period;
      throw new Error(`unknown quota period ${String(never)}`);
    }
  }
}

/**
 * A second, minute or hour: the run of instants sharing both the wall-clock label and the UTC offset. Away from an
 * offset change that is simply the aligned local period; next to one it is cut at the change.
 */
function clockWindow(format: Intl.DateTimeFormat | undefined, nowMs: number, period: 'second' | 'minute' | 'hour'): QuotaWindow {
  const size = CLOCK_SIZE_MS[period];
  const offset = offsetAt(format, nowMs);
  const wallStart = Math.floor((nowMs + offset) / size) * size;
  let startMs = wallStart - offset;
  let endMs = startMs + size;
  let id = new Date(wallStart).toISOString().slice(0, LABEL_LENGTH[period]);
  if (format === undefined) return Object.freeze({ id, startMs, endMs });
  const before = offsetAt(format, nowMs - PROBE_MS);
  const after = offsetAt(format, nowMs + PROBE_MS);
  if (before !== offset || after !== offset) {
    // Cut at a change inside the aligned period (30-min jumps, as in Australia/Lord_Howe, change mid-hour).
    if (offsetAt(format, startMs) !== offset) startMs = firstInstant(startMs, nowMs, (u) => offsetAt(format, u) === offset);
    if (offsetAt(format, endMs - 1) !== offset) endMs = firstInstant(nowMs, endMs - 1, (u) => offsetAt(format, u) !== offset);
    if (labelRecurs(format, wallStart, size, offset, before) || labelRecurs(format, wallStart, size, offset, after)) id += offsetText(offset);
  }
  return Object.freeze({ id, startMs, endMs });
}

/** Whether the wall-clock period [wallStart, wallStart + size) is also lived at offset `other` (a repeated hour). */
function labelRecurs(format: Intl.DateTimeFormat, wallStart: number, size: number, offset: number, other: number): boolean {
  return other !== offset && (offsetAt(format, wallStart - other) === other || offsetAt(format, wallStart + size - 1 - other) === other);
}

/** A day or month: from the first instant of its local date to the first instant of the next period's. */
function dateWindow(format: Intl.DateTimeFormat | undefined, nowMs: number, period: 'day' | 'month'): QuotaWindow {
  let wallStart = periodStartWall(nowMs + offsetAt(format, nowMs), period);
  let wallEnd = shiftWall(wallStart, period, 1);
  let startMs = firstInstantOfWall(format, wallStart);
  let endMs = firstInstantOfWall(format, wallEnd);
  // Only a backward jump across midnight (America/Goose_Bay until 2011) can leave nowMs outside: step to its window.
  for (let i = 0; i < 4 && nowMs >= endMs; i++) {
    wallStart = wallEnd;
    wallEnd = shiftWall(wallStart, period, 1);
    startMs = endMs;
    endMs = firstInstantOfWall(format, wallEnd);
  }
  for (let i = 0; i < 4 && nowMs < startMs; i++) {
    wallStart = shiftWall(wallStart, period, -1);
    endMs = startMs;
    startMs = firstInstantOfWall(format, wallStart);
  }
  if (!(startMs <= nowMs && nowMs < endMs)) throw new Error(`no ${period} window holds ${nowMs}`);
  return Object.freeze({ id: new Date(wallStart).toISOString().slice(0, period === 'day' ? 10 : 7), startMs, endMs });
}

/** The wall-clock start (local time read as UTC) of the day or month holding wall time `wall`. */
function periodStartWall(wall: number, period: 'day' | 'month'): number {
  const start = Math.floor(wall / DAY_MS) * DAY_MS;
  if (period === 'day') return start;
  const d = new Date(start);
  return start - (d.getUTCDate() - 1) * DAY_MS;
}

function shiftWall(wallStart: number, period: 'day' | 'month', by: 1 | -1): number {
  if (period === 'day') return wallStart + by * DAY_MS;
  // Date's setter rather than Date.UTC, which reads years 0-99 as 19xx.
  const d = new Date(wallStart);
  return d.setUTCMonth(d.getUTCMonth() + by);
}

/**
 * The first instant whose wall clock reads `wall` or later: the instant of local midnight, or, when midnight falls in
 * a DST gap, the first instant after it. A function of `wall` alone (no hint), so neighbouring windows share a bound.
 */
function firstInstantOfWall(format: Intl.DateTimeFormat | undefined, wall: number): number {
  if (format === undefined) return wall;
  // Two rounds of "instant = wall - offset at the guess" settle wherever the offset does not change nearby.
  const guess = wall - offsetAt(format, wall - offsetAt(format, wall));
  if (startsWall(format, guess, wall)) return guess;
  const again = wall - offsetAt(format, guess);
  if (again !== guess && startsWall(format, again, wall)) return again;
  // Midnight in a gap that does not end at a whole offset step, or repeated (Atlantic/Azores at fall-back): search.
  return firstInstant(wall - 2 * DAY_MS, wall + 2 * DAY_MS, (u) => u + offsetAt(format, u) >= wall);
}

/** Whether the wall clock reaches `wall` exactly at instant `u` (and read earlier one ms before). */
function startsWall(format: Intl.DateTimeFormat, u: number, wall: number): boolean {
  return u + offsetAt(format, u) >= wall && u - 1 + offsetAt(format, u - 1) < wall;
}

/** The least instant in (lo, hi] where `holds` turns true, given false at lo and true at hi (binary search to the ms). */
function firstInstant(lo: number, hi: number, holds: (u: number) => boolean): number {
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (holds(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The zone's UTC offset at instant `ms`, in ms (wall clock = ms + offset). */
function offsetAt(format: Intl.DateTimeFormat | undefined, ms: number): number {
  if (format === undefined) return 0;
  // "longOffset" renders "…, GMT-04:00" (or "GMT-00:44:30" for old local mean times; "GMT" alone may mean 0). One
  // format() call is about 3x cheaper than formatToParts, and the offset is all that is needed.
  const text = format.format(ms);
  const at = text.lastIndexOf('GMT') + 3;
  if (at === 2) throw new Error(`unexpected offset rendering ${JSON.stringify(text)}`);
  if (at === text.length) return 0;
  const sign = text.charCodeAt(at) === 0x2b ? 1 : -1; // '+', else '-' or U+2212
  const seconds = text.length >= at + 9 ? twoDigits(text, at + 7) : 0;
  return sign * (twoDigits(text, at + 1) * HOUR_MS + twoDigits(text, at + 4) * MINUTE_MS + seconds * SECOND_MS);
}

function twoDigits(text: string, at: number): number {
  return (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48;
}

/** "+05:30", "-04:00", or with seconds for old local mean times. */
function offsetText(offset: number): string {
  const abs = Math.abs(offset);
  const pad = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(abs / HOUR_MS);
  const m = Math.floor((abs % HOUR_MS) / MINUTE_MS);
  const s = Math.floor((abs % MINUTE_MS) / SECOND_MS);
  return `${offset < 0 ? '-' : '+'}${pad(h)}:${pad(m)}${s === 0 ? '' : `:${pad(s)}`}`;
}
