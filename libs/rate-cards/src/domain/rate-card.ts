import { DowngradeLadder } from './downgrade';
import { Rate, RateOverride } from './rate';
import { RateProblem } from './rate-validation';

/**
 * A rate card as stored: a catalog object shared by every organization assigned to it.
 * Rates are append-only (a price change is a new rate; an existing rate may only have its
 * `ending_before` brought forward, see rate-schedule.ts); ladders are replaced whole.
 */
export interface RateRecord extends Rate {
  created_at: Date;
}

export interface LadderRecord extends DowngradeLadder {
  created_at: Date;
  updated_at: Date;
}

export interface RateCard {
  id: string;
  name: string;
  created_at: Date;
  /** Last time a rate or ladder was added or changed. */
  updated_at: Date;
  rates: RateRecord[];
  ladders: LadderRecord[];
}

export type RateCardSummary = Pick<RateCard, 'id' | 'name' | 'created_at' | 'updated_at'>;

/** One organization's price for one rate identity; the organization's, whatever card it is on. */
export interface OverrideRecord extends RateOverride {
  org_id: string;
  created_at: Date;
}

/** A rate whose `ending_before` an addition brought forward. */
export interface EndedRate {
  id: string;
  ending_before: Date;
  /** What it was before (null: open-ended). */
  previous: Date | null;
}

export const MAX_CARD_NAME_LENGTH = 200;

/**
 * A ladder's steps must name products this card sells (at some time): a step that can never be
 * priced is a typo, not a downgrade.
 * `field` is the ladder's path (`ladders[0]`, or '' when the ladder is the whole body).
 */
export function checkLadderProducts(ladder: DowngradeLadder, rates: readonly Rate[], field: string): RateProblem[] {
  const at = (suffix: string): string => (field ? `${field}.${suffix}` : suffix);
  const sold = new Set(rates.map((rate) => rate.product));
  const problems: RateProblem[] = [];
  if (!sold.has(ladder.product))
    problems.push({ field: at('product'), message: `no rate of this card prices product '${ladder.product}'` });
  ladder.ladder.forEach((step, k) => {
    if (step.product !== undefined && !sold.has(step.product)) {
      problems.push({ field: at(`ladder[${k}].product`), message: `no rate of this card prices product '${step.product}'` });
    }
  });
  return problems;
}
