/**
 * Rate cards, modelled on Metronome's: a rate prices one usage dimension of one product, for
 * requests whose dimensions contain its `match`, from `starting_at` (inclusive) to
 * `ending_before` (exclusive, null = open). Prices are decimal strings of credits per unit and
 * are never turned into JS numbers; amounts are integer micro-credits.
 */

export const RATE_MODELS = ['flat', 'graduated', 'volume', 'package'] as const;
export type RateModel = (typeof RATE_MODELS)[number];

export const TIER_SCOPES = ['request', 'period'] as const;
/**
 * Where tiers (and package blocks) count from. `request`: the quantity of this one operation.
 * `period`: the organization's cumulative quantity of this product and dimension in the billing
 * period. No effect on flat rates.
 */
export type TierScope = (typeof TIER_SCOPES)[number];

/** Tier i covers (up_to of tier i−1, up_to]; the first starts above 0; the last is open (null). */
export interface RateTier {
  up_to: number | null;
  unit_price: string;
  /** Charged once, when usage enters the tier. */
  flat_price?: string;
}

/** The fields that set a price; an override replaces exactly these. */
export interface PriceSpec {
  model: RateModel;
  /** flat: per unit; package: per started block of `package_size` units. */
  unit_price?: string;
  package_size?: number;
  /** graduated and volume. */
  tiers?: RateTier[];
  tier_scope: TierScope;
}

/** `product` + `dimension` + `match` identify a rate across its schedule. */
export interface RateIdentity {
  product: string;
  dimension: string;
  match: Record<string, string>;
}

export interface Rate extends RateIdentity, PriceSpec {
  id: string;
  starting_at: Date;
  ending_before: Date | null;
}

/**
 * One organization's price for one rate identity. Without `starting_at` it applies from the
 * beginning of time; without `ending_before`, forever.
 */
export interface RateOverride extends RateIdentity, PriceSpec {
  id: string;
  starting_at?: Date | null;
  ending_before?: Date | null;
}

/** Product, dimension and match key names. */
export const NAME_PATTERN = /^[a-zA-Z0-9._:-]{1,64}$/;

/** Non-negative, plain notation (no sign, no exponent), at most 12 integer digits and 12 decimals. */
export const PRICE_PATTERN = /^(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?$/;

export const MAX_MATCH_KEYS = 16;
export const MAX_MATCH_VALUE_LENGTH = 128;
export const MAX_TIERS = 32;

export function sameMatch(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && b[k] === a[k]);
}

/** Every key of `match` is in `dimensions` with the same value. */
export function matchesDimensions(match: Record<string, string>, dimensions: Record<string, string>): boolean {
  return Object.keys(match).every((k) => Object.prototype.hasOwnProperty.call(dimensions, k) && dimensions[k] === match[k]);
}

export function sameIdentity(a: RateIdentity, b: RateIdentity): boolean {
  return a.product === b.product && a.dimension === b.dimension && sameMatch(a.match, b.match);
}

/** `starting_at ≤ at < ending_before`; a missing bound is open. */
export function inForce(window: { starting_at?: Date | null; ending_before?: Date | null }, at: Date): boolean {
  const t = at.getTime();
  return (
    (window.starting_at == null || window.starting_at.getTime() <= t) &&
    (window.ending_before == null || t < window.ending_before.getTime())
  );
}

export function priceSpecOf(source: PriceSpec): PriceSpec {
  const spec: PriceSpec = { model: source.model, tier_scope: source.tier_scope };
  if (source.unit_price !== undefined) spec.unit_price = source.unit_price;
  if (source.package_size !== undefined) spec.package_size = source.package_size;
  if (source.tiers !== undefined) spec.tiers = source.tiers.map((t) => ({ ...t }));
  return spec;
}

/** The price in force for one usage dimension of one request, and where it came from. */
export interface ResolvedRate extends PriceSpec {
  dimension: string;
  rate_id: string;
  /** Set when an organization override replaced the card's price fields. */
  override_id: string | null;
}
