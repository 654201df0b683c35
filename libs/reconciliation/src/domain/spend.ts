/**
 * Spend over time, for charts and reports: what was charged (the ledger's `amount`, after the
 * overage policy) per calendar bucket in UTC and per group. Buckets are UTC days, ISO weeks
 * (from Monday) and calendar months; the window bounds how many a request may ask for.
 */
export type SpendInterval = 'day' | 'week' | 'month';
export type SpendGroupBy = 'project' | 'product' | 'user';

export const SPEND_INTERVALS: readonly SpendInterval[] = ['day', 'week', 'month'];
export const SPEND_GROUPS: readonly SpendGroupBy[] = ['project', 'product', 'user'];

const DAY_MS = 86_400_000;

/** The longest window per interval: about 400 buckets of days, 160 weeks, 120 months. */
export const MAX_SPEND_WINDOW_DAYS: Record<SpendInterval, number> = { day: 400, week: 1_120, month: 3_660 };

/** Why a window cannot be reported (`to` not after `from`, or too long), or null when it can. */
export function spendWindowProblem(from: Date, to: Date, interval: SpendInterval): string | null {
  if (from.getTime() >= to.getTime()) return 'to must be after from';
  const max = MAX_SPEND_WINDOW_DAYS[interval];
  if (to.getTime() - from.getTime() > max * DAY_MS) return `to must be at most ${max} days after from for interval ${interval}`;
  return null;
}

/**
 * Groups answered per bucket at most (the largest; ties by key): a bucket of an organization with
 * a million users stays a chart's worth, and what is cut is summed into `others`.
 */
export const DEFAULT_SPEND_TOP = 100;
export const MAX_SPEND_TOP = 1_000;

export interface SpendGroup {
  /** The project id, the product (null: raw amounts) or the user id (with its project_id). */
  key: string | null;
  project_id?: string;
  /** Micro-credits charged. */
  amount: number;
  /** Commits. */
  count: number;
}

export interface SpendBucket {
  /** The calendar bucket's bounds in UTC, start inclusive, end exclusive (the first and last may extend past the window). */
  start: Date;
  end: Date;
  amount: number;
  count: number;
  /** The `top` largest groups, in key order. */
  groups: SpendGroup[];
  /** The groups past `top`, summed; absent when every group is listed. */
  others?: { groups: number; amount: number; count: number };
}
