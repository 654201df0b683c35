/**
 * Budget alert thresholds, the arithmetic both stores share (lib.lua has the same in Lua):
 * a node reaches `pct`% of its limit when its usage is at least ceil(limit × pct / 100),
 * computed exactly for any safe-integer limit (limit = 100q + r, so no product leaves the
 * exact range of doubles).
 */
export function thresholdAmount(limit: number, pct: number): number {
  const r = limit % 100;
  return ((limit - r) / 100) * pct + Math.ceil((r * pct) / 100);
}

/** The thresholds (ascending) that usage going from `before` to `after` crosses upwards. */
export function crossedThresholds(limit: number, before: number, after: number, thresholds: readonly number[]): number[] {
  if (after <= before) return [];
  return thresholds.filter((pct) => {
    const at = thresholdAmount(limit, pct);
    return before < at && after >= at;
  });
}
