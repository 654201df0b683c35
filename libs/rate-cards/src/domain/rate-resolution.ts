import { PricingError } from './pricing.error';
import { inForce, matchesDimensions, priceSpecOf, Rate, RateOverride, ResolvedRate, sameIdentity } from './rate';

/**
 * Which rate prices each usage dimension of a request at an instant.
 *
 * Decisions:
 * - In force means `starting_at ≤ at < ending_before`, for rates and overrides alike.
 * - A product is known when the card has at least one rate for it in force at `at`, whatever
 *   its dimension or match. A product whose rates all start later, or all ended, is unknown
 *   (it cannot be sold now), which is distinct from a known product whose rates do not cover
 *   one usage dimension for these request dimensions (`unpriceable_dimension`).
 * - Among the rates in force for a dimension whose `match` is a subset of the request's
 *   dimensions, the most specific (most match keys) wins; `{}` is the catch-all.
 * - Two candidates equally specific is refused as `ambiguous_rate`, never settled by list
 *   order: validateRates refuses cards that allow it, this guards data written before that.
 * - An override replaces the price fields of the card rate that won, matched by identity
 *   (product + dimension + identical match), when the override is in force too. It does not
 *   take part in choosing the rate, and an override whose identity has no card rate in force
 *   prices nothing: the card decides what is sold, the override only at what price.
 */

export interface RateCardPrices {
  rates: readonly Rate[];
  /** The organization's overrides of this card. */
  overrides?: readonly RateOverride[];
}

export interface ResolutionRequest {
  product: string;
  dimensions: Readonly<Record<string, string>>;
  /** The usage keys to price (e.g. `['video_seconds']`). */
  usageDimensions: readonly string[];
  at: Date;
}

export type CannotPrice =
  | { ok: false; reason: 'unknown_product'; product: string }
  | { ok: false; reason: 'unpriceable_dimension'; product: string; dimension: string }
  | { ok: false; reason: 'ambiguous_rate'; product: string; dimension: string; rate_ids: string[] };

export type RateResolution = { ok: true; rates: Record<string, ResolvedRate> } | CannotPrice;

export function resolveRates(card: RateCardPrices, request: ResolutionRequest): RateResolution {
  const { product, at } = request;
  if (!(at instanceof Date) || Number.isNaN(at.getTime()))
    throw new PricingError('invalid_pricing_request', 'at: must be a valid Date.', { field: 'at' });
  const dimensions = request.dimensions ?? {};

  const live = card.rates.filter((rate) => rate.product === product && inForce(rate, at));
  if (live.length === 0) return { ok: false, reason: 'unknown_product', product };

  const rates: Record<string, ResolvedRate> = {};
  // Sorted so that, of several unpriceable dimensions, the same one is always named.
  for (const dimension of [...new Set(request.usageDimensions)].sort()) {
    const candidates = live.filter((rate) => rate.dimension === dimension && matchesDimensions(rate.match, dimensions));
    if (candidates.length === 0) return { ok: false, reason: 'unpriceable_dimension', product, dimension };
    const specificity = Math.max(...candidates.map((rate) => Object.keys(rate.match).length));
    const best = candidates.filter((rate) => Object.keys(rate.match).length === specificity);
    if (best.length > 1) return { ok: false, reason: 'ambiguous_rate', product, dimension, rate_ids: best.map((rate) => rate.id).sort() };
    const rate = best[0];

    const overrides = (card.overrides ?? []).filter((override) => sameIdentity(override, rate) && inForce(override, at));
    if (overrides.length > 1)
      return { ok: false, reason: 'ambiguous_rate', product, dimension, rate_ids: overrides.map((o) => o.id).sort() };
    const override = overrides[0];
    rates[dimension] = { dimension, rate_id: rate.id, override_id: override?.id ?? null, ...priceSpecOf(override ?? rate) };
  }
  return { ok: true, rates };
}
