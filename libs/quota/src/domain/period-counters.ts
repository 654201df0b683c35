import { Period } from './period';

/**
 * How committed spend is counted per period. Every node keeps one counter per period kind
 * (`none`, `day`, `week`, `month`) whatever its configuration, each tagged with the period it
 * counts: a configuration change (limit, period kind, default cap) only chooses which counter
 * a decision reads, so it can never forget spend. The Redis scripts implement the same rules
 * in Lua (lib.lua); the in-memory store uses these.
 */

/** Period ids of every kind with a calendar (`none` is always ''). */
export type CalendarIds = Record<Exclude<Period, 'none'>, string>;

/** A counter of one kind: the period it counts, and what was committed in it. */
export interface PeriodCounter {
  periodId: string;
  amount: number;
}

export const CALENDAR_KINDS = ['day', 'week', 'month'] as const;
export const PERIOD_KINDS = ['none', ...CALENDAR_KINDS] as const;

/**
 * The scope's current ids: per kind, the newer of what the scope has already counted in
 * (`mark`) and the caller's clock. An instance whose clock lags another by a few ms around
 * midnight joins the newer period, so no period is ever reopened.
 */
export function currentIds(mark: CalendarIds | undefined, clock: CalendarIds): CalendarIds {
  if (!mark) return { day: clock.day, week: clock.week, month: clock.month };
  return {
    day: mark.day > clock.day ? mark.day : clock.day,
    week: mark.week > clock.week ? mark.week : clock.week,
    month: mark.month > clock.month ? mark.month : clock.month,
  };
}

export function idOfKind(ids: CalendarIds, kind: Period): string {
  return kind === 'none' ? '' : ids[kind];
}

/** What the counter says was committed in `periodId` (0 when it counts another period). */
export function committedIn(counter: PeriodCounter | undefined, periodId: string): number {
  return counter !== undefined && counter.periodId === periodId ? counter.amount : 0;
}

/**
 * The counter after a commit of `amount` for a hold admitted in `admitted`: added when it is
 * the counter's period, started anew when it is a newer one, and unchanged (null) when it is
 * older: that period is over for every admission (the scope has counted in a newer one), and
 * the ledger keeps the charge.
 */
export function charged(counter: PeriodCounter | undefined, admitted: string, amount: number): PeriodCounter | null {
  if (counter === undefined || admitted > counter.periodId) return { periodId: admitted, amount };
  if (admitted === counter.periodId) return { periodId: admitted, amount: counter.amount + amount };
  return null;
}

/**
 * The counter after an adjustment of `delta` (signed) for a hold admitted in `admitted`. A
 * positive delta counts as a commit does (charged). A negative one takes back only from the
 * period it was charged in, never below zero: a counter of another period (an older one, over;
 * a newer one) has nothing of this hold's to give back. null: unchanged.
 */
export function adjusted(counter: PeriodCounter | undefined, admitted: string, delta: number): PeriodCounter | null {
  if (delta > 0) return charged(counter, admitted, delta);
  if (delta === 0 || counter === undefined || counter.periodId !== admitted) return null;
  return { periodId: admitted, amount: Math.max(0, counter.amount + delta) };
}
