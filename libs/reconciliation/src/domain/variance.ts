/**
 * Estimates against actuals, for teams tuning their estimates. Sums are exact micro-credits;
 * relative variance ((actual − estimate) / estimate, per commit) is a ratio, not money,
 * computed in Postgres's numeric and reported rounded to 6 decimals.
 */
export type VarianceGroupBy = 'project' | 'product' | 'user';

export const VARIANCE_GROUPS: readonly VarianceGroupBy[] = ['project', 'product', 'user'];

export interface VarianceGroup {
  /** The project id, the product (null: raw amounts), or the user as `{project, user}`. */
  key: { project_id?: string; user_id?: string; product?: string | null };
  count: number;
  estimate: number;
  actual: number;
  /** actual − estimate. */
  variance: number;
  /** Mean, p50 and p90 (nearest rank) of the relative variance over commits with an estimate above 0; null when none. */
  relative_mean: number | null;
  relative_p50: number | null;
  relative_p90: number | null;
  /** Commits whose actual priced above their hold. */
  overran: number;
  /**
   * Commits charged above their hold (the overage policy let some or all of the overrun through),
   * and the micro-credits so charged. A commit capped at its hold overran but has no overage.
   */
  overage_count: number;
  overage_amount: number;
}
