/**
 * Budget periods: UTC calendar days, ISO weeks (Monday to Sunday) and months. A period is
 * named by an id, and counters are stored per id, so a new period starts from zero without
 * any reset job. Ids of one kind sort lexicographically in time order (the stores rely on it).
 */
export const PERIODS = ['none', 'day', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];

const DAY_MS = 86_400_000;

/** Instants outside this range are not a real clock; refusing them keeps every id four-digit-year. */
const EARLIEST_INSTANT_MS = Date.UTC(2000, 0, 1);
const LATEST_INSTANT_MS = Date.UTC(9000, 0, 1);

export function isValidInstant(now: Date): boolean {
  const ms = now instanceof Date ? now.getTime() : NaN;
  return Number.isFinite(ms) && ms >= EARLIEST_INSTANT_MS && ms < LATEST_INSTANT_MS;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function checkInstant(now: Date): void {
  if (!isValidInstant(now)) throw new RangeError(`not a usable instant: ${String(now)}`);
}

/** ISO 8601 week: the week (Monday first) belongs to the year of its Thursday. */
function isoWeek(now: Date): { year: number; week: number } {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const mondayBased = (now.getUTCDay() + 6) % 7;
  const thursday = new Date(midnight + (3 - mondayBased) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1;
  return { year, week };
}

/** `''` for none, `2026-11-28` (day), `2026-W48` (ISO week), `2026-11` (month). */
export function periodId(period: Period, now: Date): string {
  checkInstant(now);
  const y = now.getUTCFullYear();
  switch (period) {
    case 'none':
      return '';
    case 'day':
      return `${y}-${pad(now.getUTCMonth() + 1)}-${pad(now.getUTCDate())}`;
    case 'week': {
      const { year, week } = isoWeek(now);
      return `${year}-W${pad(week)}`;
    }
    case 'month':
      return `${y}-${pad(now.getUTCMonth() + 1)}`;
  }
}

/** The current period's ids of every kind at `now` (what a store needs to resolve any node). */
export function periodIds(now: Date): Record<Period, string> {
  return { none: '', day: periodId('day', now), week: periodId('week', now), month: periodId('month', now) };
}

/** [start, end) of the period containing `now`; null for `none`, which never ends. */
export function periodWindow(period: Period, now: Date): { start: Date; end: Date } | null {
  checkInstant(now);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const midnight = Date.UTC(y, m, now.getUTCDate());
  switch (period) {
    case 'none':
      return null;
    case 'day':
      return { start: new Date(midnight), end: new Date(midnight + DAY_MS) };
    case 'week': {
      const monday = midnight - ((now.getUTCDay() + 6) % 7) * DAY_MS;
      return { start: new Date(monday), end: new Date(monday + 7 * DAY_MS) };
    }
    case 'month':
      return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
  }
}

const ID_SHAPES: [Period, RegExp][] = [
  ['none', /^$/],
  ['day', /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/],
  ['week', /^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$/],
  ['month', /^\d{4}-(0[1-9]|1[0-2])$/],
];

/** The kind of a period id, or null when it is not one (shape only: `2026-02-31` passes). */
export function periodOfId(id: string): Period | null {
  for (const [period, shape] of ID_SHAPES) if (shape.test(id)) return period;
  return null;
}
