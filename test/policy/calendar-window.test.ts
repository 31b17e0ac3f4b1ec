// Quota calendar windows: exact bounds and ids in UTC, month lengths, DST days in America/New_York, a month across
// Europe/Berlin's change, half- and quarter-hour zones, dates whose midnight falls in a DST gap or repeats, the
// repeated fall-back hour, and a long sweep checking the memo against fresh computations and an Intl-based oracle.
// Instants are parameters: no clock, no sleeps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeQuotaWindow, isKnownTimeZone, quotaWindowAt } from '../../proxy/policy/rate-limit/calendar-window.ts';
import type { QuotaWindow } from '../../proxy/policy/rate-limit/limit-types.ts';
import type { QuotaPeriod } from '../../proxy/table/table-schema.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const at = (iso: string): number => Date.parse(iso);

function windowOf(iso: string, period: QuotaPeriod, zone: string): QuotaWindow {
  return quotaWindowAt(at(iso), period, zone);
}

/** The window as ISO strings, for readable failures. */
function shown(w: QuotaWindow): { id: string; start: string; end: string } {
  return { id: w.id, start: new Date(w.startMs).toISOString(), end: new Date(w.endMs).toISOString() };
}

function assertWindow(iso: string, period: QuotaPeriod, zone: string, id: string, start: string, end: string): QuotaWindow {
  const w = windowOf(iso, period, zone);
  assert.deepEqual(shown(w), { id, start: new Date(at(start)).toISOString(), end: new Date(at(end)).toISOString() }, `${period} of ${iso} in ${zone}`);
  return w;
}

test('UTC: each period has exact bounds, and the instant at endMs opens the next window', () => {
  const now = '2026-11-30T14:05:09.123Z';
  const cases: Array<[QuotaPeriod, string, string, string, string]> = [
    ['second', '2026-11-30T14:05:09', '2026-11-30T14:05:09Z', '2026-11-30T14:05:10Z', '2026-11-30T14:05:10'],
    ['minute', '2026-11-30T14:05', '2026-11-30T14:05:00Z', '2026-11-30T14:06:00Z', '2026-11-30T14:06'],
    ['hour', '2026-11-30T14', '2026-11-30T14:00:00Z', '2026-11-30T15:00:00Z', '2026-11-30T15'],
    ['day', '2026-11-30', '2026-11-30T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-01'],
    ['month', '2026-11', '2026-11-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12'],
  ];
  for (const [period, id, start, end, nextId] of cases) {
    const w = assertWindow(now, period, 'UTC', id, start, end);
    assert.equal(quotaWindowAt(w.startMs, period, 'UTC').id, id, `${period}: startMs is inside`);
    assert.equal(quotaWindowAt(w.endMs - 1, period, 'UTC').id, id, `${period}: endMs - 1 is inside`);
    const next = quotaWindowAt(w.endMs, period, 'UTC');
    assert.equal(next.id, nextId, `${period}: endMs is in the next window`);
    assert.equal(next.startMs, w.endMs);
    assert.equal(quotaWindowAt(w.startMs - 1, period, 'UTC').endMs, w.startMs, `${period}: startMs - 1 is in the previous window`);
  }
  assertWindow('2026-12-31T23:59:59.999Z', 'month', 'UTC', '2026-12', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z');
  assertWindow('2027-01-01T00:00:00Z', 'day', 'UTC', '2027-01-01', '2027-01-01T00:00:00Z', '2027-01-02T00:00:00Z');
});

test('UTC aliases ("Etc/UTC", "GMT", "utc") give the same windows as "UTC"', () => {
  const t = at('2026-06-15T10:20:30.400Z');
  for (const period of ['second', 'hour', 'month'] as const) {
    for (const alias of ['Etc/UTC', 'GMT', 'utc']) assert.deepEqual(quotaWindowAt(t, period, alias), quotaWindowAt(t, period, 'UTC'));
  }
});

test('months are 31, 30, 29 or 28 days long', () => {
  const days = (iso: string) => {
    const w = windowOf(iso, 'month', 'UTC');
    return (w.endMs - w.startMs) / DAY;
  };
  assert.equal(days('2026-01-17T00:00:00Z'), 31);
  assert.equal(days('2028-02-29T23:59:59.999Z'), 29, 'leap year');
  assert.equal(days('2027-02-01T00:00:00Z'), 28);
  assert.equal(days('2100-02-10T00:00:00Z'), 28, 'century, not a leap year');
  assert.equal(days('2000-02-10T00:00:00Z'), 29, '400th year, a leap year');
  assert.equal(days('2026-04-30T12:00:00Z'), 30);
  assertWindow('2028-02-29T23:59:59.999Z', 'month', 'UTC', '2028-02', '2028-02-01T00:00:00Z', '2028-03-01T00:00:00Z');
});

test('America/New_York: the spring-forward day is 23 h, the fall-back day 25 h, both from local midnight', () => {
  const zone = 'America/New_York';
  const spring = assertWindow('2026-03-08T12:00:00Z', 'day', zone, '2026-03-08', '2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z');
  assert.equal(spring.endMs - spring.startMs, 23 * HOUR);
  const fall = assertWindow('2026-11-01T12:00:00Z', 'day', zone, '2026-11-01', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z');
  assert.equal(fall.endMs - fall.startMs, 25 * HOUR);
  // Both ends of the long day, and the neighbours.
  assert.equal(windowOf('2026-11-01T03:59:59.999Z', 'day', zone).id, '2026-10-31');
  assert.equal(windowOf('2026-11-02T04:59:59.999Z', 'day', zone).id, '2026-11-01');
  assert.equal(windowOf('2026-11-02T05:00:00Z', 'day', zone).id, '2026-11-02');
  assertWindow('2026-03-31T23:00:00Z', 'month', zone, '2026-03', '2026-03-01T05:00:00Z', '2026-04-01T04:00:00Z');
  // Hours next to the gap are plain local hours: 01:00 EST is followed by 03:00 EDT.
  assertWindow('2026-03-08T06:59:59.999Z', 'hour', zone, '2026-03-08T01', '2026-03-08T06:00:00Z', '2026-03-08T07:00:00Z');
  assertWindow('2026-03-08T07:00:00Z', 'hour', zone, '2026-03-08T03', '2026-03-08T07:00:00Z', '2026-03-08T08:00:00Z');
});

test('Europe/Berlin: a month across a DST change is 31 days minus (March) or plus (October) one hour', () => {
  const march = assertWindow('2026-03-29T12:00:00Z', 'month', 'Europe/Berlin', '2026-03', '2026-02-28T23:00:00Z', '2026-03-31T22:00:00Z');
  assert.equal(march.endMs - march.startMs, 31 * DAY - HOUR);
  const october = assertWindow('2026-10-01T00:00:00Z', 'month', 'Europe/Berlin', '2026-10', '2026-09-30T22:00:00Z', '2026-10-31T23:00:00Z');
  assert.equal(october.endMs - october.startMs, 31 * DAY + HOUR);
  assert.equal(windowOf('2026-02-28T22:59:59.999Z', 'month', 'Europe/Berlin').id, '2026-02');
});

test('Asia/Kolkata (+05:30) and Asia/Kathmandu (+05:45): days and hours start at local :00', () => {
  assertWindow('2026-05-05T18:29:59.999Z', 'day', 'Asia/Kolkata', '2026-05-05', '2026-05-04T18:30:00Z', '2026-05-05T18:30:00Z');
  assertWindow('2026-05-05T18:30:00Z', 'day', 'Asia/Kolkata', '2026-05-06', '2026-05-05T18:30:00Z', '2026-05-06T18:30:00Z');
  assertWindow('2026-05-05T18:45:00Z', 'hour', 'Asia/Kolkata', '2026-05-06T00', '2026-05-05T18:30:00Z', '2026-05-05T19:30:00Z');
  assertWindow('2026-05-05T18:29:59.999Z', 'hour', 'Asia/Kathmandu', '2026-05-06T00', '2026-05-05T18:15:00Z', '2026-05-05T19:15:00Z');
  assertWindow('2026-05-31T18:15:00Z', 'month', 'Asia/Kathmandu', '2026-06', '2026-05-31T18:15:00Z', '2026-06-30T18:15:00Z');
  // Minutes and seconds are whole minutes of UTC too, only named by the local clock.
  assertWindow('2026-05-05T18:29:59.999Z', 'minute', 'Asia/Kathmandu', '2026-05-06T00:14', '2026-05-05T18:29:00Z', '2026-05-05T18:30:00Z');
  assertWindow('2026-05-05T18:29:59.999Z', 'second', 'Asia/Kolkata', '2026-05-05T23:59:59', '2026-05-05T18:29:59Z', '2026-05-05T18:30:00Z');
});

test('a date whose midnight is skipped starts at the first instant of that date (America/Santiago, Asia/Beirut)', () => {
  // The independent oracle first: on 2026-09-06 Santiago's clock jumps from 24:00 (-04) to 01:00 (-03) at 04:00Z.
  assert.equal(localText(at('2026-09-06T03:59:59Z'), 'America/Santiago'), '2026-09-05 23:59:59 GMT-04:00');
  assert.equal(localText(at('2026-09-06T04:00:00Z'), 'America/Santiago'), '2026-09-06 01:00:00 GMT-03:00');
  const gap = assertWindow('2026-09-06T12:00:00Z', 'day', 'America/Santiago', '2026-09-06', '2026-09-06T04:00:00Z', '2026-09-07T03:00:00Z');
  assert.equal(gap.endMs - gap.startMs, 23 * HOUR);
  assertWindow('2026-09-06T03:59:59.999Z', 'day', 'America/Santiago', '2026-09-05', '2026-09-05T04:00:00Z', '2026-09-06T04:00:00Z');
  assertWindow('2026-09-06T04:00:00Z', 'hour', 'America/Santiago', '2026-09-06T01', '2026-09-06T04:00:00Z', '2026-09-06T05:00:00Z');
  // Santiago's fall-back at 24:00 repeats 23:00 of the previous day: that day is 25 h, the next starts at midnight.
  const long = assertWindow('2026-04-05T02:00:00Z', 'day', 'America/Santiago', '2026-04-04', '2026-04-04T03:00:00Z', '2026-04-05T04:00:00Z');
  assert.equal(long.endMs - long.startMs, 25 * HOUR);
  // Beirut jumps from 00:00 (+02) to 01:00 (+03) on 2026-03-29.
  assert.equal(localText(at('2026-03-28T22:00:00Z'), 'Asia/Beirut'), '2026-03-29 01:00:00 GMT+03:00');
  assertWindow('2026-03-29T12:00:00Z', 'day', 'Asia/Beirut', '2026-03-29', '2026-03-28T22:00:00Z', '2026-03-29T21:00:00Z');
  assertWindow('2026-03-15T12:00:00Z', 'month', 'Asia/Beirut', '2026-03', '2026-02-28T22:00:00Z', '2026-03-31T21:00:00Z');
});

test('a date whose midnight happens twice starts at the first one (America/Havana, Atlantic/Azores)', () => {
  // Havana falls back from 01:00 (-04) to 00:00 (-05) on 2026-11-01: 00:00 occurs at 04:00Z and again at 05:00Z.
  assert.equal(localText(at('2026-11-01T04:00:00Z'), 'America/Havana'), '2026-11-01 00:00:00 GMT-04:00');
  assert.equal(localText(at('2026-11-01T05:00:00Z'), 'America/Havana'), '2026-11-01 00:00:00 GMT-05:00');
  for (const t of ['2026-11-01T04:00:00Z', '2026-11-01T05:30:00Z', '2026-11-02T04:59:59.999Z']) {
    assertWindow(t, 'day', 'America/Havana', '2026-11-01', '2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z');
  }
  assertWindow('2026-10-25T12:00:00Z', 'day', 'Atlantic/Azores', '2026-10-25', '2026-10-25T00:00:00Z', '2026-10-26T01:00:00Z');
  assertWindow('2026-10-10T12:00:00Z', 'month', 'Atlantic/Azores', '2026-10', '2026-10-01T00:00:00Z', '2026-11-01T01:00:00Z');
  // The repeated hour 00:00-01:00 is two windows.
  const first = windowOf('2026-10-25T00:30:00Z', 'hour', 'Atlantic/Azores');
  const second = windowOf('2026-10-25T01:30:00Z', 'hour', 'Atlantic/Azores');
  assert.deepEqual([first.id, second.id], ['2026-10-25T00+00:00', '2026-10-25T00-01:00']);
});

test('America/New_York fall-back: the repeated 01:00 hour is two windows with distinct ids, its neighbours keep bare ids', () => {
  const zone = 'America/New_York';
  assertWindow('2026-11-01T04:59:59.999Z', 'hour', zone, '2026-11-01T00', '2026-11-01T04:00:00Z', '2026-11-01T05:00:00Z');
  const edt = assertWindow('2026-11-01T05:00:00Z', 'hour', zone, '2026-11-01T01-04:00', '2026-11-01T05:00:00Z', '2026-11-01T06:00:00Z');
  const est = assertWindow('2026-11-01T06:59:59.999Z', 'hour', zone, '2026-11-01T01-05:00', '2026-11-01T06:00:00Z', '2026-11-01T07:00:00Z');
  assert.notEqual(edt.id, est.id);
  assertWindow('2026-11-01T07:00:00Z', 'hour', zone, '2026-11-01T02', '2026-11-01T07:00:00Z', '2026-11-01T08:00:00Z');
  // Minutes and seconds of the repeated hour are repeated too; those just outside are not.
  assert.equal(windowOf('2026-11-01T05:30:10Z', 'minute', zone).id, '2026-11-01T01:30-04:00');
  assert.equal(windowOf('2026-11-01T06:30:10Z', 'minute', zone).id, '2026-11-01T01:30-05:00');
  assert.equal(windowOf('2026-11-01T06:59:59.5Z', 'second', zone).id, '2026-11-01T01:59:59-05:00');
  assert.equal(windowOf('2026-11-01T04:59:00Z', 'minute', zone).id, '2026-11-01T00:59');
  assert.equal(windowOf('2026-11-01T07:00:00Z', 'minute', zone).id, '2026-11-01T02:00');
});

test('Antarctica/Troll: a 2-hour fall-back repeats two hours, each as two windows', () => {
  // 2026-10-25 03:00 (+02) -> 01:00 (+00) at 01:00Z.
  const ids = [-3, -2, -1, 0, 1, 2].map((h) => windowOf(new Date(at('2026-10-25T01:30:00Z') + h * HOUR).toISOString(), 'hour', 'Antarctica/Troll').id);
  assert.deepEqual(ids, ['2026-10-25T00', '2026-10-25T01+02:00', '2026-10-25T02+02:00', '2026-10-25T01+00:00', '2026-10-25T02+00:00', '2026-10-25T03']);
  const day = windowOf('2026-10-25T12:00:00Z', 'day', 'Antarctica/Troll');
  assert.equal(day.endMs - day.startMs, 26 * HOUR);
});

test('Australia/Lord_Howe: half-hour DST changes cut hours at the change', () => {
  const zone = 'Australia/Lord_Howe';
  // 2026-04-05 02:00 (+11) -> 01:30 (+10:30): 01:00-02:00 is lived for 60 min, then its second half again.
  assertWindow('2026-04-04T14:59:59.999Z', 'hour', zone, '2026-04-05T01+11:00', '2026-04-04T14:00:00Z', '2026-04-04T15:00:00Z');
  assertWindow('2026-04-04T15:00:00Z', 'hour', zone, '2026-04-05T01+10:30', '2026-04-04T15:00:00Z', '2026-04-04T15:30:00Z');
  assertWindow('2026-04-04T15:30:00Z', 'hour', zone, '2026-04-05T02', '2026-04-04T15:30:00Z', '2026-04-04T16:30:00Z');
  // 2026-10-04 02:00 (+10:30) -> 02:30 (+11): the 02 hour is only its second half.
  assertWindow('2026-10-03T15:29:59.999Z', 'hour', zone, '2026-10-04T01', '2026-10-03T14:30:00Z', '2026-10-03T15:30:00Z');
  assertWindow('2026-10-03T15:30:00Z', 'hour', zone, '2026-10-04T02', '2026-10-03T15:30:00Z', '2026-10-03T16:00:00Z');
  assertWindow('2026-10-03T16:00:00Z', 'hour', zone, '2026-10-04T03', '2026-10-03T16:00:00Z', '2026-10-03T17:00:00Z');
  const day = windowOf('2026-04-05T06:00:00Z', 'day', zone);
  assert.equal(day.endMs - day.startMs, 24 * HOUR + 30 * MINUTE);
});

test('the memo answers with the same frozen window inside it, and moves on at endMs', () => {
  const t = at('2031-07-04T10:00:00Z');
  const a = quotaWindowAt(t, 'day', 'Europe/Paris');
  const b = quotaWindowAt(t + 5 * HOUR, 'day', 'Europe/Paris');
  assert.equal(a, b);
  assert.ok(Object.isFrozen(a));
  assert.deepEqual(a, computeQuotaWindow(t, 'day', 'Europe/Paris'));
  assert.notEqual(quotaWindowAt(a.endMs, 'day', 'Europe/Paris').id, a.id);
  // Going back in time (another request with an older clock reading) is answered correctly too.
  assert.deepEqual(quotaWindowAt(t, 'day', 'Europe/Paris'), a);
  assert.deepEqual(quotaWindowAt(a.startMs - 1, 'day', 'Europe/Paris'), computeQuotaWindow(a.startMs - 1, 'day', 'Europe/Paris'));
});

test('sweep: every 17 min over 400 days, memo equals fresh, windows tile time and match the local calendar', () => {
  const from = at('2026-01-01T00:00:00Z');
  const to = from + 400 * DAY;
  for (const zone of ['America/New_York', 'Australia/Lord_Howe', 'America/Santiago']) {
    for (const period of ['hour', 'day', 'month'] as const) {
      const seen = new Map<string, QuotaWindow>();
      let prev: QuotaWindow | undefined;
      for (let t = from; t < to; t += 17 * MINUTE) {
        const w = quotaWindowAt(t, period, zone);
        if (w === prev) continue;
        const where = `${zone} ${period} at ${new Date(t).toISOString()}`;
        assert.deepEqual(w, computeQuotaWindow(t, period, zone), where);
        assert.ok(w.startMs <= t && t < w.endMs, where);
        if (prev !== undefined) {
          assert.equal(w.startMs, prev.endMs, `${where}: contiguous`);
          assert.ok(!seen.has(w.id), `${where}: id ${w.id} names one window`);
        }
        checkAgainstCalendar(w, period, zone);
        seen.set(w.id, w);
        prev = w;
      }
      const expected = { hour: 400 * 24, day: 400, month: 14 }[period];
      assert.ok(Math.abs(seen.size - expected) <= 2, `${zone} ${period}: ${seen.size} windows`);
    }
  }
});

test('sweep: across fall-back and spring-forward, minute and second windows tile time with distinct ids', () => {
  const changes: Array<[string, string]> = [
    ['America/New_York', '2026-11-01T06:00:00Z'],
    ['America/New_York', '2026-03-08T07:00:00Z'],
    ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
    ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
  ];
  for (const [zone, change] of changes) {
    for (const period of ['second', 'minute'] as const) {
      const ids = new Set<string>();
      let prev: QuotaWindow | undefined;
      const span = period === 'second' ? 15 * MINUTE : 2 * HOUR;
      for (let t = at(change) - span; t < at(change) + span; t += period === 'second' ? 997 : 7_000) {
        const w = quotaWindowAt(t, period, zone);
        if (w === prev) continue;
        const where = `${zone} ${period} at ${new Date(t).toISOString()}`;
        assert.deepEqual(w, computeQuotaWindow(t, period, zone), where);
        if (prev !== undefined) assert.equal(w.startMs, prev.endMs, `${where}: contiguous`);
        assert.ok(!ids.has(w.id), `${where}: id ${w.id} names one window`);
        checkAgainstCalendar(w, period, zone);
        ids.add(w.id);
        prev = w;
      }
    }
  }
});

test('isKnownTimeZone: what Intl accepts', () => {
  assert.equal(isKnownTimeZone('Europe/Paris'), true);
  assert.equal(isKnownTimeZone('UTC'), true);
  assert.equal(isKnownTimeZone('Asia/Kolkata'), true);
  assert.equal(isKnownTimeZone('Asia/Calcutta'), true, 'a backward-compatible alias');
  assert.equal(isKnownTimeZone('Mars/Base'), false);
  assert.equal(isKnownTimeZone(''), false);
  assert.equal(isKnownTimeZone('Europe/Paris '), false);
  assert.throws(() => quotaWindowAt(0, 'day', 'Mars/Base'), RangeError);
});

// An oracle read from Intl's full rendering, separate from the implementation (which reads only the offset).
const oracleFormats = new Map<string, Intl.DateTimeFormat>();

/** "2026-09-06 01:00:00 GMT-03:00": the wall clock and offset at an instant. */
function localText(ms: number, zone: string): string {
  let format = oracleFormats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset' });
    oracleFormats.set(zone, format);
  }
  const text = format.format(ms);
  const m = /^(\d\d)\/(\d\d)\/(\d{4}), (\d\d:\d\d:\d\d) (GMT\S*)$/.exec(text);
  assert.ok(m, `unexpected rendering ${JSON.stringify(text)}`);
  return `${m[3]}-${m[1]}-${m[2]} ${m[4]} ${m[5]}`;
}

/**
 * A window is maximal for its calendar label: its first and last instants carry the label (for clock periods, at one
 * offset), the instants just outside do not; and the id is the label, with the offset only on a repeated label.
 */
function checkAgainstCalendar(w: QuotaWindow, period: QuotaPeriod, zone: string): void {
  const keyLength = { second: 19, minute: 16, hour: 13, day: 10, month: 7 }[period];
  const clock = period === 'second' || period === 'minute' || period === 'hour';
  const key = (ms: number) => {
    const text = localText(ms, zone).replace(' ', 'T');
    return clock ? `${text.slice(0, keyLength)}|${text.slice(20)}` : text.slice(0, keyLength);
  };
  const where = `${zone} ${period} ${JSON.stringify(shown(w))}`;
  assert.equal(key(w.startMs), key(w.endMs - 1), `${where}: one label throughout`);
  // With windows contiguous, a label change at every start is also one at every end.
  assert.notEqual(key(w.startMs - 1), key(w.startMs), `${where}: starts where the label starts`);
  const label = key(w.startMs).split('|')[0]!;
  assert.ok(w.id === label || (clock && w.id.startsWith(label) && /^[+-]\d\d:\d\d$/.test(w.id.slice(label.length))), `${where}: id names the label`);
}
