import fc from 'fast-check';
import { Decimal } from 'decimal.js';
import { PriceResult, priceUsage, PricingMode } from './pricing';
import { RateTier, ResolvedRate, TierScope } from './rate';

/*
 * priceUsage against a reference written independently: plain BigInt fixed-point arithmetic.
 * Quantities are integers of 10^-6 units, prices integers of 10^-12 credits, so a quantity
 * times a price is an integer of 10^-18 credits = 10^-12 micro-credits, exact. The reference
 * shares no code with the engine (not even the tier boundary rule, which it restates).
 */

const Q = 10n ** 6n; // quantity scale
const P = 10n ** 12n; // price scale
const EXACT = 10n ** 12n; // reference amounts are micro-credits × 10^12

function fixed(value: bigint, scale: bigint, digits: number): string {
  const whole = value / scale;
  const fraction = (value % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}
const priceString = (p: bigint): string => fixed(p, P, 12);
const quantityString = (q: bigint): string => fixed(q, Q, 6);

function parseScaled(text: string, digits: number): bigint {
  const [whole, fraction = ''] = text.split('.');
  if (fraction.length > digits) throw new Error(`${text} has more than ${digits} decimals`);
  return BigInt(whole + fraction.padEnd(digits, '0'));
}

function roundReference(exact: bigint, mode: PricingMode): bigint {
  const q = exact / EXACT;
  const r = exact % EXACT;
  if (r === 0n) return q;
  if (mode === 'estimate') return q + 1n;
  if (2n * r > EXACT) return q + 1n;
  if (2n * r < EXACT) return q;
  return q % 2n === 0n ? q : q + 1n;
}

interface RefLine {
  dimension: string;
  tier: number | null;
  quantity: bigint;
  packages: bigint | null;
  amount: bigint;
}

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** Scaled bounds of each tier: [lo, hi), hi null when open. Restated from the rate definition. */
function bounds(tiers: RateTier[]): Array<{ lo: bigint; hi: bigint | null; price: bigint; flat: bigint }> {
  let lo = 0n;
  return tiers.map((t) => {
    const hi = t.up_to === null ? null : BigInt(t.up_to) * Q;
    const b = { lo, hi, price: parseScaled(t.unit_price, 12), flat: t.flat_price === undefined ? 0n : parseScaled(t.flat_price, 12) };
    if (hi !== null) lo = hi;
    return b;
  });
}

function referenceDimension(dimension: string, rate: ResolvedRate, q: bigint, used: bigint, mode: PricingMode): RefLine[] {
  const a = rate.tier_scope === 'period' ? used : 0n;
  const line = (tier: number | null, quantity: bigint, exact: bigint, packages: bigint | null = null): RefLine => ({
    dimension,
    tier,
    quantity,
    packages,
    amount: roundReference(exact, mode),
  });
  switch (rate.model) {
    case 'flat':
      return [line(null, q, q * parseScaled(rate.unit_price!, 12))];
    case 'package': {
      const size = BigInt(rate.package_size!) * Q;
      const packages = ceilDiv(a + q, size) - ceilDiv(a, size);
      return [line(null, q, packages * parseScaled(rate.unit_price!, 12) * Q, packages)];
    }
    case 'graduated': {
      const tiers = bounds(rate.tiers!);
      if (q === 0n) {
        const next = tiers.findIndex((t) => t.hi === null || a < t.hi);
        return [line(next, 0n, 0n)];
      }
      const lines: RefLine[] = [];
      tiers.forEach((t, i) => {
        // Units (a, a + q] that fall in (lo, hi].
        const top = t.hi === null || a + q < t.hi ? a + q : t.hi;
        const bottom = a > t.lo ? a : t.lo;
        if (top <= bottom) return;
        const flat = a <= t.lo ? t.flat * Q : 0n;
        lines.push(line(i, top - bottom, (top - bottom) * t.price + flat));
      });
      return lines;
    }
    case 'volume': {
      const tiers = bounds(rate.tiers!);
      const k = tiers.findIndex((t) => t.hi === null || a + q <= t.hi);
      const t = tiers[k];
      if (q === 0n) return [line(k, 0n, 0n)];
      return [line(k, q, q * t.price + (a <= t.lo ? t.flat * Q : 0n))];
    }
  }
}

function actualLines(result: PriceResult): RefLine[] {
  return result.lines.map((l) => ({
    dimension: l.dimension,
    tier: l.tier ?? null,
    quantity: parseScaled(l.quantity, 6),
    packages: l.packages === undefined ? null : BigInt(l.packages),
    amount: BigInt(l.amount),
  }));
}

// ---- generators ----

const priceArb = fc.oneof(
  fc.constant(0n),
  fc.bigInt({ min: 0n, max: 10n ** 15n }), // up to 1000 credits, 12 decimals
  fc.bigInt({ min: 1n, max: 10n ** 7n }), // sub-micro prices
  fc.integer({ min: 0, max: 2000 }).map((n) => BigInt(n) * 10n ** 9n), // short decimals
);

const tiersArb = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 800 }), { minLength: 0, maxLength: 4 }),
    fc.array(fc.tuple(priceArb, fc.option(priceArb, { nil: undefined })), { minLength: 5, maxLength: 5 }),
  )
  .map(([steps, prices]) => {
    let upTo = 0;
    const tiers: RateTier[] = steps.map((step, i) => {
      upTo += step;
      return tierOf(upTo, prices[i]);
    });
    tiers.push(tierOf(null, prices[steps.length]));
    return tiers;
  });

function tierOf(upTo: number | null, [price, flat]: [bigint, bigint | undefined]): RateTier {
  const tier: RateTier = { up_to: upTo, unit_price: priceString(price) };
  if (flat !== undefined) tier.flat_price = priceString(flat);
  return tier;
}

const scopeArb = fc.constantFrom<TierScope>('request', 'period');

function rateArb(
  dimension: string,
  models: ResolvedRate['model'][] = ['flat', 'package', 'graduated', 'volume'],
): fc.Arbitrary<ResolvedRate> {
  const base = { dimension, rate_id: `r_${dimension}`, override_id: null };
  return fc.constantFrom(...models).chain((model): fc.Arbitrary<ResolvedRate> => {
    switch (model) {
      case 'flat':
        return fc
          .record({ price: priceArb, scope: scopeArb })
          .map(({ price, scope }) => ({ ...base, model, unit_price: priceString(price), tier_scope: scope }));
      case 'package':
        return fc
          .record({ price: priceArb, size: fc.integer({ min: 1, max: 500 }), scope: scopeArb })
          .map(({ price, size, scope }) => ({ ...base, model, unit_price: priceString(price), package_size: size, tier_scope: scope }));
      default:
        return fc.record({ tiers: tiersArb, scope: scopeArb }).map(({ tiers, scope }) => ({ ...base, model, tiers, tier_scope: scope }));
    }
  });
}

/** Scaled quantities: whole units, fractional units, and exact tier boundaries (0..3000 units). */
const quantityArb = fc.oneof(
  fc.integer({ min: 0, max: 3000 }).map((n) => BigInt(n) * Q),
  fc.bigInt({ min: 0n, max: 3000n * Q }),
  fc.constantFrom(0n, 1n, Q, Q - 1n, Q + 1n),
);

/**
 * [quantity, alreadyUsed] for a rate: free pairs, and pairs whose running total lands on, or a
 * hair either side of, a tier or package boundary (random draws seldom hit one exactly).
 */
function usageArb(rate: ResolvedRate): fc.Arbitrary<[bigint, bigint]> {
  const boundaries = (rate.tiers ?? []).flatMap((t) => (t.up_to === null ? [] : [BigInt(t.up_to) * Q]));
  if (rate.package_size !== undefined) boundaries.push(BigInt(rate.package_size) * Q, 3n * BigInt(rate.package_size) * Q);
  const free = fc.tuple(quantityArb, quantityArb);
  if (boundaries.length === 0) return free;
  const onBoundary = fc
    .tuple(fc.constantFrom(...boundaries), fc.constantFrom(-Q, -1n, 0n, 1n, Q))
    .map(([b, delta]) => (b + delta < 0n ? 0n : b + delta))
    .chain((total) =>
      fc
        .oneof(fc.constant(0n), fc.constant(total), fc.bigInt({ min: 0n, max: total }))
        .map((used): [bigint, bigint] => [total - used, used]),
    );
  return fc.oneof(free, onBoundary);
}

/** How the quantity reaches the engine: all three forms must price the same. */
function asInput(q: bigint, form: number): string | number | Decimal {
  const text = quantityString(q);
  return form === 0 ? text : form === 1 ? Number(text) : new Decimal(text);
}

const DIMENSIONS = ['input_tokens', 'output_tokens', 'video_seconds'];

const caseArb = fc
  .uniqueArray(fc.constantFrom(...DIMENSIONS), { minLength: 1, maxLength: 3 })
  .chain((dims) =>
    fc.record({
      rates: fc.tuple(...dims.map((d) => rateArb(d))),
      mode: fc.constantFrom<PricingMode>('estimate', 'actual'),
    }),
  )
  .chain(({ rates, mode }) =>
    fc
      .tuple(
        ...rates.map((rate) =>
          fc.tuple(usageArb(rate), fc.integer({ min: 0, max: 2 })).map(([[q, used], form]): [bigint, bigint, number] => [q, used, form]),
        ),
      )
      .map((usage) => ({ rates, usage, mode })),
  );

function run(rates: ResolvedRate[], usage: Array<[bigint, bigint, number]>, mode: PricingMode): PriceResult {
  return priceUsage({
    rates: Object.fromEntries(rates.map((r) => [r.dimension, r])),
    usage: Object.fromEntries(rates.map((r, i) => [r.dimension, asInput(usage[i][0], usage[i][2])])),
    alreadyUsed: Object.fromEntries(rates.map((r, i) => [r.dimension, quantityString(usage[i][1])])),
    mode,
  });
}

function priceOne(rate: ResolvedRate, q: bigint, used: bigint, mode: PricingMode): PriceResult {
  return priceUsage({
    rates: { [rate.dimension]: rate },
    usage: { [rate.dimension]: quantityString(q) },
    alreadyUsed: { [rate.dimension]: quantityString(used) },
    mode,
  });
}

describe('priceUsage, properties', () => {
  it('agrees with an independent BigInt reference, line by line, for every model, scope and mode', () => {
    fc.assert(
      fc.property(caseArb, ({ rates, usage, mode }) => {
        const result = run(rates, usage, mode);
        const expected = [...rates]
          .map((rate, i) => ({ rate, i }))
          .sort((x, y) => (x.rate.dimension < y.rate.dimension ? -1 : 1))
          .flatMap(({ rate, i }) => referenceDimension(rate.dimension, rate, usage[i][0], usage[i][1], mode));
        expect(actualLines(result)).toEqual(expected);
        expect(BigInt(result.total)).toBe(expected.reduce((sum, l) => sum + l.amount, 0n));
      }),
      { numRuns: 1500 },
    );
  });

  it('an estimate is at least the charge, and at most 1 micro-credit more per line', () => {
    fc.assert(
      fc.property(caseArb, ({ rates, usage }) => {
        const estimate = run(rates, usage, 'estimate');
        const actual = run(rates, usage, 'actual');
        expect(estimate.lines.length).toBe(actual.lines.length);
        estimate.lines.forEach((line, i) => {
          expect(line.amount - actual.lines[i].amount).toBeGreaterThanOrEqual(0);
          expect(line.amount - actual.lines[i].amount).toBeLessThanOrEqual(1);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('period-scope graduated and package pricing is additive: a, then b after it, costs what a + b costs', () => {
    const periodRate = rateArb('tokens', ['graduated', 'package']).map((r) => ({ ...r, tier_scope: 'period' as const }));
    fc.assert(
      fc.property(
        periodRate.chain((rate) => fc.tuple(fc.constant(rate), usageArb(rate), quantityArb)),
        ([rate, [a, used], b]) => {
          const first = priceOne(rate, a, used, 'actual');
          const second = priceOne(rate, b, used + a, 'actual');
          const whole = priceOne(rate, a + b, used, 'actual');
          // Each line is within half a micro-credit of its exact amount.
          const slack = (first.lines.length + second.lines.length + whole.lines.length) / 2;
          expect(Math.abs(first.total + second.total - whole.total)).toBeLessThanOrEqual(slack);
          // Quantities and packages add up exactly.
          const units = (r: PriceResult) => r.lines.reduce((s, l) => s + parseScaled(l.quantity, 6), 0n);
          expect(units(first) + units(second)).toBe(units(whole));
          if (rate.model === 'package')
            expect(BigInt(first.lines[0].packages!) + BigInt(second.lines[0].packages!)).toBe(BigInt(whole.lines[0].packages!));
        },
      ),
      { numRuns: 800 },
    );
  });

  it('with whole-micro prices and whole units, period-scope graduated pricing is exactly additive', () => {
    const micro = fc.integer({ min: 0, max: 5000 }).map((n) => BigInt(n) * 10n ** 6n); // whole micro-credits, as 10^-12 credits
    const tiers = fc
      .tuple(
        fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 4 }),
        fc.array(fc.tuple(micro, fc.option(micro, { nil: undefined })), { minLength: 5, maxLength: 5 }),
      )
      .map(([steps, prices]) => {
        let upTo = 0;
        return [...steps.map((s, i) => tierOf((upTo += s), prices[i])), tierOf(null, prices[steps.length])];
      });
    const whole = fc.integer({ min: 0, max: 2500 }).map((n) => BigInt(n) * Q);
    fc.assert(
      fc.property(tiers, whole, whole, whole, fc.constantFrom<PricingMode>('estimate', 'actual'), (t, used, a, b, mode) => {
        const rate: ResolvedRate = {
          dimension: 'tokens',
          rate_id: 'r',
          override_id: null,
          model: 'graduated',
          tiers: t,
          tier_scope: 'period',
        };
        expect(priceOne(rate, a, used, mode).total + priceOne(rate, b, used + a, mode).total).toBe(priceOne(rate, a + b, used, mode).total);
      }),
      { numRuns: 500 },
    );
  });

  it('flat, package and graduated prices never fall as the quantity grows', () => {
    fc.assert(
      fc.property(
        rateArb('tokens', ['flat', 'package', 'graduated']).chain((rate) => fc.tuple(fc.constant(rate), usageArb(rate), quantityArb)),
        fc.constantFrom<PricingMode>('estimate', 'actual'),
        ([rate, [x, used], y], mode) => {
          const [small, large] = x <= y ? [x, y] : [y, x];
          expect(priceOne(rate, small, used, mode).total).toBeLessThanOrEqual(priceOne(rate, large, used, mode).total);
        },
      ),
      { numRuns: 800 },
    );
  });

  it('a quantity of 0 costs 0 on every model', () => {
    fc.assert(
      fc.property(rateArb('tokens'), quantityArb, fc.constantFrom<PricingMode>('estimate', 'actual'), (rate, used, mode) => {
        const result = priceOne(rate, 0n, used, mode);
        expect(result.total).toBe(0);
        expect(result.lines).toHaveLength(1);
      }),
      { numRuns: 300 },
    );
  });
});
