import { Period, periodOfId } from './period';

/**
 * How a node's committed counters move between periods. The Redis scripts implement the same
 * rules in Lua (lib.lua); the in-memory store uses these. A node remembers the newest period it
 * has counted in (`latest`) and the one before (`previous`); older counters are dropped.
 */
export interface PeriodMarks {
  latest: string | undefined;
  previous: string | undefined;
}

/**
 * The period new activity counts in. Never older than `latest`: an instance whose clock lags
 * another by a few ms around midnight counts in the newer period, so no period is reopened.
 * A change of the node's period kind starts at the current id of the new kind.
 */
export function effectivePeriodId(marks: PeriodMarks, period: Period, nowId: string): string {
  const { latest } = marks;
  if (latest !== undefined && periodOfId(latest) === period && latest >= nowId) return latest;
  return nowId;
}

/** The marks after counting in `effective`, and the counter ids that are no longer needed. */
export function rollPeriod(marks: PeriodMarks, period: Period, effective: string): { marks: PeriodMarks; drop: string[] } {
  const { latest, previous } = marks;
  if (effective === latest) return { marks, drop: [] };
  if (latest !== undefined && periodOfId(latest) === period) {
    return { marks: { latest: effective, previous: latest }, drop: previous === undefined ? [] : [previous] };
  }
  return { marks: { latest: effective, previous: undefined }, drop: [latest, previous].filter((id): id is string => id !== undefined) };
}

/**
 * Where a commit of a hold admitted in `admitted` is charged, given marks already rolled to
 * `effective`: its own period while the node still counts it; nothing when that period is over
 * (two or more periods ago, no admission can count it any more, and the ledger keeps the
 * charge); the current period when the node's period kind changed since (conservative: the
 * spend is counted rather than lost).
 */
export function chargePeriodId(marks: PeriodMarks, period: Period, admitted: string): string | null {
  if (admitted === marks.latest || admitted === marks.previous) return admitted;
  if (periodOfId(admitted) === period && marks.latest !== undefined && admitted < marks.latest) return null;
  return marks.latest ?? null;
}
