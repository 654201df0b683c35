import fc from 'fast-check';
import { PERIODS, periodId, periodIds, periodOfId, periodWindow } from './period';

const at = (iso: string) => new Date(iso);

/** A second, independent ISO week: week 1 is the week holding January 4th. */
function referenceIsoWeek(date: Date): string {
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const mondayOfWeek1 = (year: number) => {
    const jan4 = Date.UTC(year, 0, 4);
    return jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * 86_400_000;
  };
  let year = date.getUTCFullYear() + 1;
  while (mondayOfWeek1(year) > day) year--;
  const week = Math.floor((day - mondayOfWeek1(year)) / (7 * 86_400_000)) + 1;
  return `${year}-W${String(week).padStart(2, '0')}`;
}

describe('periodId', () => {
  it('names days, ISO weeks and months in UTC; none has the empty id', () => {
    const now = at('2026-11-28T15:04:05.678Z');
    expect(periodId('day', now)).toBe('2026-11-28');
    expect(periodId('week', now)).toBe('2026-W48');
    expect(periodId('month', now)).toBe('2026-11');
    expect(periodId('none', now)).toBe('');
    expect(periodIds(now)).toEqual({ none: '', day: '2026-11-28', week: '2026-W48', month: '2026-11' });
  });

  it('uses UTC, not the local calendar', () => {
    expect(periodId('day', at('2026-11-28T23:59:59.999-05:00'))).toBe('2026-11-29');
  });

  it.each([
    ['2026-11-28T23:59:59.999Z', '2026-11-28', '2026-11'],
    ['2026-11-29T00:00:00.000Z', '2026-11-29', '2026-11'],
    ['2026-12-31T23:59:59.999Z', '2026-12-31', '2026-12'],
    ['2027-01-01T00:00:00.000Z', '2027-01-01', '2027-01'],
    ['2028-02-29T12:00:00.000Z', '2028-02-29', '2028-02'],
  ])('day and month boundaries: %s', (iso, day, month) => {
    expect(periodId('day', at(iso))).toBe(day);
    expect(periodId('month', at(iso))).toBe(month);
  });

  it.each([
    ['2026-11-22T23:59:59.999Z', '2026-W47'], // Sunday ends a week
    ['2026-11-23T00:00:00.000Z', '2026-W48'], // Monday starts one
    ['2025-12-28T23:59:59.999Z', '2025-W52'],
    ['2025-12-29T00:00:00.000Z', '2026-W01'], // week 1 of 2026 starts in December 2025
    ['2026-01-01T00:00:00.000Z', '2026-W01'],
    ['2027-01-01T00:00:00.000Z', '2026-W53'], // January 1st in the last week of the year before
    ['2024-12-30T00:00:00.000Z', '2025-W01'],
    ['2021-01-03T23:59:59.999Z', '2020-W53'],
  ])('ISO week boundaries: %s is %s', (iso, week) => {
    expect(periodId('week', at(iso))).toBe(week);
  });

  it('agrees with an independent ISO week computation over 2000-2100', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        expect(periodId('week', new Date(ms))).toBe(referenceIsoWeek(new Date(ms)));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses instants that are not a usable clock', () => {
    expect(() => periodId('day', new Date(NaN))).toThrow(RangeError);
    expect(() => periodId('day', new Date(0))).toThrow(RangeError);
    expect(() => periodId('day', at('9999-01-01T00:00:00Z'))).toThrow(RangeError);
  });
});

describe('periodWindow', () => {
  it('is null for none: it never ends', () => {
    expect(periodWindow('none', at('2026-11-28T10:00:00Z'))).toBeNull();
  });

  it('spans the UTC day, the ISO week (Monday to Monday) and the month', () => {
    const now = at('2026-11-28T10:00:00Z');
    expect(periodWindow('day', now)).toEqual({ start: at('2026-11-28T00:00:00Z'), end: at('2026-11-29T00:00:00Z') });
    expect(periodWindow('week', now)).toEqual({ start: at('2026-11-23T00:00:00Z'), end: at('2026-11-30T00:00:00Z') });
    expect(periodWindow('month', now)).toEqual({ start: at('2026-11-01T00:00:00Z'), end: at('2026-12-01T00:00:00Z') });
  });

  it('crosses years and knows leap Februaries', () => {
    expect(periodWindow('month', at('2026-12-15T00:00:00Z'))).toEqual({
      start: at('2026-12-01T00:00:00Z'),
      end: at('2027-01-01T00:00:00Z'),
    });
    expect(periodWindow('month', at('2028-02-10T00:00:00Z'))).toEqual({
      start: at('2028-02-01T00:00:00Z'),
      end: at('2028-03-01T00:00:00Z'),
    });
    expect(periodWindow('week', at('2027-01-01T00:00:00Z'))).toEqual({
      start: at('2026-12-28T00:00:00Z'),
      end: at('2027-01-04T00:00:00Z'),
    });
  });

  it('holds exactly the instants that share its id, and ids grow with time', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('day', 'week', 'month' as const),
        fc.integer({ min: Date.UTC(2001, 0, 1), max: Date.UTC(2100, 0, 1) }),
        (period, ms) => {
          const now = new Date(ms);
          const window = periodWindow(period, now)!;
          const id = periodId(period, now);
          expect(window.start.getTime()).toBeLessThanOrEqual(ms);
          expect(window.end.getTime()).toBeGreaterThan(ms);
          expect(periodId(period, window.start)).toBe(id);
          expect(periodId(period, new Date(window.end.getTime() - 1))).toBe(id);
          expect(periodId(period, new Date(window.start.getTime() - 1)) < id).toBe(true);
          expect(periodId(period, window.end) > id).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('periodOfId', () => {
  it('tells the kind of an id', () => {
    expect(PERIODS.map((p) => periodOfId(periodId(p, at('2026-11-28T00:00:00Z'))))).toEqual([...PERIODS]);
    expect(periodOfId('2026-13')).toBeNull();
    expect(periodOfId('2026-W54')).toBeNull();
    expect(periodOfId('26-11-28')).toBeNull();
  });
});
