import { Decimal } from 'decimal.js';
import { checkAmount, Exact, parseQuantity, QuantityInput, toMicro } from './exact-decimal';
import { PricingError } from './pricing.error';
import { PRICE_PATTERN, ResolvedRate, RateTier } from './rate';

/**
 * Pricing an operation: resolved rates × usage → priced lines, in integer micro-credits.
 *
 * Decisions (DESIGN.md "Money is exact"):
 * - All arithmetic is exact Decimal; the only rounding is each line's credits → whole
 *   micro-credits: up (ceil) in `estimate` mode, so a hold never falls short; half-even in
 *   `actual` mode, so charges carry no bias. The total is the sum of the rounded lines, so the
 *   lines on an invoice always add up to it.
 * - Tiered rates give one line per tier touched, with that tier's unit price and its 0-based
 *   `tier` index; a tier's `flat_price` is included in its line when the usage enters the tier.
 * - Tier i covers (up_to of tier i−1, up_to]. An operation occupies the cumulative interval
 *   (alreadyUsed, alreadyUsed + quantity]: with 1,000,000 already used in the period, the
 *   1,000,001st unit is the first of the next tier; the 1,000,000th was the last of the first.
 *   `request` scope prices from 0: alreadyUsed is ignored.
 * - Period-scope graduated (and package) pricing is additive: pricing a then b after it charges
 *   exactly what a + b at once would, before rounding.
 * - Period-scope volume is a running price: the increment is priced at the tier the running
 *   total reaches, and a tier's flat_price is charged by the operation that first reaches it.
 *   Earlier increments are not repriced (that is the invoice's business at period end).
 * - Package, period scope: blocks count on the cumulative quantity, so the operation pays
 *   ceil((a + q) / size) − ceil(a / size) blocks. Flat rates ignore the scope.
 * - Lines are sorted by dimension name, so the same usage always prices to the same lines.
 * - A quantity of 0 gives one line of amount 0 (a tier's flat_price is not charged).
 */

export type PricingMode = 'estimate' | 'actual';

export interface PriceLine {
  dimension: string;
  /** Exact decimal, plain notation: the units priced on this line. */
  quantity: string;
  /** Credits per unit (per package for `package`), as written on the rate. */
  unit_price: string;
  /** 0-based tier index, tiered models only. */
  tier?: number;
  /** The tier's flat price, when this line charges it. */
  flat_price?: string;
  /** Packages charged, `package` model only. */
  packages?: string;
  /** Micro-credits, rounded per the mode. */
  amount: number;
}

export interface PriceResult {
  lines: PriceLine[];
  /** Sum of the lines' amounts. */
  total: number;
}

export interface PriceUsageInput {
  /** Resolved rate per usage dimension (rateResolution's `rates`). */
  rates: Readonly<Record<string, ResolvedRate>>;
  /** Quantity per usage dimension: non-negative, finite. */
  usage: Readonly<Record<string, QuantityInput>>;
  mode: PricingMode;
  /** Period-scope rates: the period's cumulative quantity per dimension before this operation (missing = 0). */
  alreadyUsed?: Readonly<Record<string, QuantityInput>>;
}

interface ExactLine {
  quantity: Decimal;
  unit_price: string;
  tier?: number;
  flat_price?: string;
  packages?: Decimal;
  credits: Decimal;
}

const ROUNDING: Record<PricingMode, Decimal.Rounding> = { estimate: Decimal.ROUND_CEIL, actual: Decimal.ROUND_HALF_EVEN };

export function priceUsage(input: PriceUsageInput): PriceResult {
  const rounding = ROUNDING[input.mode];
  if (rounding === undefined)
    throw new PricingError('invalid_pricing_request', `mode: must be 'estimate' or 'actual', got ${String(input.mode)}.`, {
      field: 'mode',
    });
  if (input.usage === null || typeof input.usage !== 'object')
    throw new PricingError('invalid_pricing_request', 'usage: must be an object.', { field: 'usage' });
  if (input.rates === null || typeof input.rates !== 'object')
    throw new PricingError('invalid_pricing_request', 'rates: must be an object.', { field: 'rates' });

  const lines: PriceLine[] = [];
  let total = new Exact(0);
  for (const dimension of Object.keys(input.usage).sort()) {
    const rate = Object.prototype.hasOwnProperty.call(input.rates, dimension) ? input.rates[dimension] : undefined;
    if (rate === undefined) {
      throw new PricingError('no_rate_for_dimension', `usage.${dimension}: no rate was resolved for this dimension.`, {
        field: `usage.${dimension}`,
        dimension,
      });
    }
    const quantity = parseQuantity(`usage.${dimension}`, input.usage[dimension]);
    const used = input.alreadyUsed?.[dimension];
    const alreadyUsed = rate.tier_scope === 'period' && used !== undefined ? parseQuantity(`alreadyUsed.${dimension}`, used) : new Exact(0);

    for (const line of priceDimension(dimension, rate, quantity, alreadyUsed)) {
      const amount = toMicro(`usage.${dimension}`, line.credits, rounding);
      total = total.plus(amount);
      lines.push({
        dimension,
        quantity: line.quantity.toFixed(),
        unit_price: line.unit_price,
        ...(line.tier !== undefined && { tier: line.tier }),
        ...(line.flat_price !== undefined && { flat_price: line.flat_price }),
        ...(line.packages !== undefined && { packages: line.packages.toFixed() }),
        amount,
      });
    }
  }
  return { lines, total: checkAmount('total', total) };
}

function priceDimension(dimension: string, rate: ResolvedRate, quantity: Decimal, alreadyUsed: Decimal): ExactLine[] {
  const field = `rates.${dimension}`;
  switch (rate.model) {
    case 'flat': {
      const price = parsePrice(`${field}.unit_price`, rate.unit_price);
      return [{ quantity, unit_price: rate.unit_price!, credits: quantity.times(price) }];
    }
    case 'package': {
      const price = parsePrice(`${field}.unit_price`, rate.unit_price);
      const size = rate.package_size;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1)
        throw PricingError.invalidRate(`${field}.package_size`, 'must be an integer of at least 1');
      const packages = startedBlocks(alreadyUsed.plus(quantity), size).minus(startedBlocks(alreadyUsed, size));
      return [{ quantity, unit_price: rate.unit_price!, packages, credits: packages.times(price) }];
    }
    case 'graduated':
      return graduated(checkTiers(field, rate.tiers), quantity, alreadyUsed);
    case 'volume':
      return volume(checkTiers(field, rate.tiers), quantity, alreadyUsed);
    default:
      throw PricingError.invalidRate(`${field}.model`, `unknown model ${String((rate as { model: unknown }).model)}`);
  }
}

/** ceil(x / size), exactly. */
function startedBlocks(x: Decimal, size: number): Decimal {
  const whole = x.dividedToIntegerBy(size);
  return whole.times(size).lt(x) ? whole.plus(1) : whole;
}

interface Band {
  index: number;
  lower: Decimal;
  /** null: open. */
  upper: Decimal | null;
  tier: RateTier;
  price: Decimal;
  flat: Decimal | null;
}

function graduated(bands: Band[], quantity: Decimal, alreadyUsed: Decimal): ExactLine[] {
  const start = alreadyUsed;
  const end = alreadyUsed.plus(quantity);
  if (quantity.isZero()) {
    const next = bands.find((b) => b.upper === null || start.lt(b.upper))!;
    return [{ quantity, unit_price: next.tier.unit_price, tier: next.index, credits: new Exact(0) }];
  }
  const lines: ExactLine[] = [];
  for (const band of bands) {
    // Exact's own comparisons: Decimal.max/min would build instances of the 20-digit default constructor.
    const from = start.gt(band.lower) ? start : band.lower;
    const to = band.upper !== null && band.upper.lt(end) ? band.upper : end;
    if (to.lte(from)) continue;
    const part = to.minus(from);
    lines.push(tierLine(band, part, start.lte(band.lower)));
  }
  return lines;
}

function volume(bands: Band[], quantity: Decimal, alreadyUsed: Decimal): ExactLine[] {
  const reached = alreadyUsed.plus(quantity);
  const band = bands.find((b) => b.upper === null || reached.lte(b.upper))!;
  if (quantity.isZero()) return [{ quantity, unit_price: band.tier.unit_price, tier: band.index, credits: new Exact(0) }];
  return [tierLine(band, quantity, alreadyUsed.lte(band.lower))];
}

/** `entered`: this operation holds the tier's first unit, so it pays the tier's flat price. */
function tierLine(band: Band, part: Decimal, entered: boolean): ExactLine {
  const line: ExactLine = { quantity: part, unit_price: band.tier.unit_price, tier: band.index, credits: part.times(band.price) };
  if (entered && band.flat !== null && !band.flat.isZero()) {
    line.flat_price = band.tier.flat_price;
    line.credits = line.credits.plus(band.flat);
  }
  return line;
}

/** The engine trusts validateRates but refuses, rather than misprices, a tier list it cannot read. */
function checkTiers(field: string, tiers: RateTier[] | undefined): Band[] {
  if (!Array.isArray(tiers) || tiers.length === 0) throw PricingError.invalidRate(`${field}.tiers`, 'must be a non-empty list');
  let lower = new Exact(0);
  return tiers.map((tier, index) => {
    const last = index === tiers.length - 1;
    const upTo = tier?.up_to;
    if (last ? upTo !== null : !(Number.isSafeInteger(upTo) && lower.lt(upTo as number))) {
      throw PricingError.invalidRate(`${field}.tiers[${index}].up_to`, 'tiers must ascend and only the last may be open');
    }
    const band: Band = {
      index,
      lower,
      upper: upTo === null ? null : new Exact(upTo),
      tier,
      price: parsePrice(`${field}.tiers[${index}].unit_price`, tier.unit_price),
      flat: tier.flat_price === undefined ? null : parsePrice(`${field}.tiers[${index}].flat_price`, tier.flat_price),
    };
    if (band.upper !== null) lower = band.upper;
    return band;
  });
}

function parsePrice(field: string, price: unknown): Decimal {
  if (typeof price !== 'string' || !PRICE_PATTERN.test(price))
    throw PricingError.invalidRate(field, 'must be a non-negative decimal string');
  return new Exact(price);
}
