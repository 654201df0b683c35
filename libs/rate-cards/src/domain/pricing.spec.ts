import { Decimal } from 'decimal.js';
import { PricingError } from './pricing.error';
import { priceUsage, PriceUsageInput } from './pricing';
import { PriceSpec, ResolvedRate } from './rate';

function resolved(dimension: string, spec: Partial<PriceSpec> & Pick<PriceSpec, 'model'>): ResolvedRate {
  return { dimension, rate_id: `rate_${dimension}`, override_id: null, tier_scope: 'request', ...spec };
}

const TOKENS_GRADUATED = resolved('tokens', {
  model: 'graduated',
  tiers: [
    { up_to: 1_000_000, unit_price: '0.000002' },
    { up_to: null, unit_price: '0.0000015' },
  ],
});
const TOKENS_VOLUME = { ...TOKENS_GRADUATED, model: 'volume' as const };
const TOKENS_PERIOD = { ...TOKENS_GRADUATED, tier_scope: 'period' as const };

function sut(rate: ResolvedRate, quantity: PriceUsageInput['usage'][string], mode: 'estimate' | 'actual' = 'actual', alreadyUsed?: string) {
  return priceUsage({
    rates: { [rate.dimension]: rate },
    usage: { [rate.dimension]: quantity },
    mode,
    alreadyUsed: alreadyUsed === undefined ? undefined : { [rate.dimension]: alreadyUsed },
  });
}

function pricingError(run: () => unknown): PricingError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PricingError);
    return error as PricingError;
  }
  throw new Error('expected a PricingError');
}

describe('priceUsage: flat', () => {
  it('8 video seconds at 0.3 credits cost 2,400,000 micro-credits (the API example)', () => {
    expect(sut(resolved('video_seconds', { model: 'flat', unit_price: '0.3' }), 8)).toEqual({
      lines: [{ dimension: 'video_seconds', quantity: '8', unit_price: '0.3', amount: 2_400_000 }],
      total: 2_400_000,
    });
  });

  it('prices fractional seconds exactly, whatever form the quantity comes in', () => {
    const rate = resolved('video_seconds', { model: 'flat', unit_price: '0.3' });
    expect(sut(rate, '8.5').total).toBe(2_550_000);
    // In floating point 0.1 * 0.3 is 0.030000000000000002.
    expect(sut(rate, 0.1).total).toBe(30_000);
    expect(sut(rate, new Decimal('0.1')).total).toBe(30_000);
    expect(sut(rate, '0.000001', 'estimate').lines[0]).toEqual({
      dimension: 'video_seconds',
      quantity: '0.000001',
      unit_price: '0.3',
      amount: 1,
    });
  });

  it('a quantity of 0 gives a line of 0', () => {
    expect(sut(resolved('images', { model: 'flat', unit_price: '0.04' }), 0)).toEqual({
      lines: [{ dimension: 'images', quantity: '0', unit_price: '0.04', amount: 0 }],
      total: 0,
    });
  });
});

describe('priceUsage: rounding per line', () => {
  const halfMicro = resolved('calls', { model: 'flat', unit_price: '0.0000005' });

  it.each([
    // quantity, exact micro-credits, estimate (ceil), actual (half-even)
    [1, '0.5', 1, 0],
    [3, '1.5', 2, 2],
    [5, '2.5', 3, 2],
    [7, '3.5', 4, 4],
    [4, '2', 2, 2],
  ])('%d calls at 0.5 micro: %s micro rounds to %d when estimating, %d when charging', (quantity, _exact, estimate, actual) => {
    expect(sut(halfMicro, quantity, 'estimate').total).toBe(estimate);
    expect(sut(halfMicro, quantity, 'actual').total).toBe(actual);
  });

  it('an estimate rounds the smallest fraction up; a charge rounds it away', () => {
    const tiny = resolved('calls', { model: 'flat', unit_price: '0.000000000001' });
    expect(sut(tiny, 1, 'estimate').total).toBe(1);
    expect(sut(tiny, 1, 'actual').total).toBe(0);
  });

  it('rounds each line, and the total is the sum of the rounded lines', () => {
    const result = priceUsage({
      rates: { a: resolved('a', { model: 'flat', unit_price: '0.0000005' }), b: resolved('b', { model: 'flat', unit_price: '0.0000005' }) },
      usage: { a: 1, b: 1 },
      mode: 'estimate',
    });
    // 0.5 + 0.5 would be 1 micro if rounded once; each line rounds up on its own.
    expect(result.lines.map((l) => l.amount)).toEqual([1, 1]);
    expect(result.total).toBe(2);
  });
});

describe('priceUsage: graduated', () => {
  it('1,500,000 tokens = 1,000,000 at 0.000002 + 500,000 at 0.0000015 = 2.75 credits, one line per tier', () => {
    expect(sut(TOKENS_GRADUATED, 1_500_000)).toEqual({
      lines: [
        { dimension: 'tokens', quantity: '1000000', unit_price: '0.000002', tier: 0, amount: 2_000_000 },
        { dimension: 'tokens', quantity: '500000', unit_price: '0.0000015', tier: 1, amount: 750_000 },
      ],
      total: 2_750_000,
    });
  });

  it('exactly up_to stays in the tier; one more unit starts the next', () => {
    expect(sut(TOKENS_GRADUATED, 1_000_000).lines).toEqual([
      { dimension: 'tokens', quantity: '1000000', unit_price: '0.000002', tier: 0, amount: 2_000_000 },
    ]);
    expect(sut(TOKENS_GRADUATED, 1_000_002).lines).toEqual([
      { dimension: 'tokens', quantity: '1000000', unit_price: '0.000002', tier: 0, amount: 2_000_000 },
      { dimension: 'tokens', quantity: '2', unit_price: '0.0000015', tier: 1, amount: 3 },
    ]);
  });

  it('splits a fractional quantity at the boundary', () => {
    const seconds = resolved('seconds', {
      model: 'graduated',
      tiers: [
        { up_to: 10, unit_price: '1' },
        { up_to: null, unit_price: '0.5' },
      ],
    });
    expect(sut(seconds, '10.25').lines.map((l) => [l.quantity, l.amount])).toEqual([
      ['10', 10_000_000],
      ['0.25', 125_000],
    ]);
  });

  it("charges a tier's flat price once, in the line of the tier it enters", () => {
    const rate = resolved('calls', {
      model: 'graduated',
      tiers: [
        { up_to: 100, unit_price: '0', flat_price: '1' },
        { up_to: null, unit_price: '0.01', flat_price: '0.5' },
      ],
    });
    expect(sut(rate, 150).lines).toEqual([
      { dimension: 'calls', quantity: '100', unit_price: '0', tier: 0, flat_price: '1', amount: 1_000_000 },
      { dimension: 'calls', quantity: '50', unit_price: '0.01', tier: 1, flat_price: '0.5', amount: 1_000_000 },
    ]);
    expect(sut(rate, 0).lines).toEqual([{ dimension: 'calls', quantity: '0', unit_price: '0', tier: 0, amount: 0 }]);
    const period = { ...rate, tier_scope: 'period' as const };
    expect(sut(period, 10, 'actual', '100').lines).toEqual([
      { dimension: 'calls', quantity: '10', unit_price: '0.01', tier: 1, flat_price: '0.5', amount: 600_000 },
    ]);
    expect(sut(period, 10, 'actual', '120').lines).toEqual([
      { dimension: 'calls', quantity: '10', unit_price: '0.01', tier: 1, amount: 100_000 },
    ]);
  });
});

describe('priceUsage: volume', () => {
  it('prices the whole quantity at the tier the total falls in', () => {
    expect(sut(TOKENS_VOLUME, 1_500_000).lines).toEqual([
      { dimension: 'tokens', quantity: '1500000', unit_price: '0.0000015', tier: 1, amount: 2_250_000 },
    ]);
    expect(sut(TOKENS_VOLUME, 1_000_000).lines).toEqual([
      { dimension: 'tokens', quantity: '1000000', unit_price: '0.000002', tier: 0, amount: 2_000_000 },
    ]);
  });

  it('is not monotonic: one more token past the boundary makes the whole cheaper (the point of volume pricing)', () => {
    // 1,000,001 × 0.0000015 = 1,500,001.5 micro: ceil and half-even both give 1,500,002.
    expect(sut(TOKENS_VOLUME, 1_000_001, 'estimate').total).toBe(1_500_002);
    expect(sut(TOKENS_VOLUME, 1_000_001, 'actual').total).toBe(1_500_002);
    expect(sut(TOKENS_VOLUME, 1_000_000).total).toBeGreaterThan(sut(TOKENS_VOLUME, 1_000_001).total);
  });

  it("adds the tier's flat price", () => {
    const rate = resolved('seats', {
      model: 'volume',
      tiers: [
        { up_to: 10, unit_price: '2', flat_price: '5' },
        { up_to: null, unit_price: '1', flat_price: '20' },
      ],
    });
    expect(sut(rate, 4).total).toBe(13_000_000);
    expect(sut(rate, 11).total).toBe(31_000_000);
    expect(sut(rate, 0).lines).toEqual([{ dimension: 'seats', quantity: '0', unit_price: '2', tier: 0, amount: 0 }]);
  });
});

describe('priceUsage: package', () => {
  const rate = resolved('tokens', { model: 'package', unit_price: '0.5', package_size: 1000 });

  it.each([
    [1, '1', 500_000],
    [1000, '1', 500_000],
    [1001, '2', 1_000_000],
    ['0.5', '1', 500_000],
    [0, '0', 0],
  ])('%s units use %s started packages of 1000', (quantity, packages, amount) => {
    expect(sut(rate, quantity).lines).toEqual([{ dimension: 'tokens', quantity: String(quantity), unit_price: '0.5', packages, amount }]);
  });

  it('with period scope, counts packages started by the cumulative quantity', () => {
    const period = { ...rate, tier_scope: 'period' as const };
    expect(sut(period, 2, 'actual', '999').lines[0].packages).toBe('1');
    expect(sut(period, 400, 'actual', '500').lines[0]).toMatchObject({ packages: '0', amount: 0 });
    expect(sut(period, 1000, 'actual', '1000').lines[0]).toMatchObject({ packages: '1', amount: 500_000 });
    expect(sut(period, 1, 'actual', '0').lines[0]).toMatchObject({ packages: '1', amount: 500_000 });
  });
});

describe('priceUsage: period-scope tiers', () => {
  it('the 1,000,000th token of the period is in the first tier, the 1,000,001st in the second', () => {
    expect(sut(TOKENS_PERIOD, 1, 'actual', '999999').lines).toEqual([
      { dimension: 'tokens', quantity: '1', unit_price: '0.000002', tier: 0, amount: 2 },
    ]);
    expect(sut(TOKENS_PERIOD, 10, 'actual', '1000000').lines).toEqual([
      { dimension: 'tokens', quantity: '10', unit_price: '0.0000015', tier: 1, amount: 15 },
    ]);
  });

  it('prices only the increment, split where it crosses a boundary', () => {
    // 1 token at 2 micro, then 9 at 1.5 = 13.5 → 14 (half-even), 2 + 14 = 16.
    expect(sut(TOKENS_PERIOD, 10, 'actual', '999999')).toEqual({
      lines: [
        { dimension: 'tokens', quantity: '1', unit_price: '0.000002', tier: 0, amount: 2 },
        { dimension: 'tokens', quantity: '9', unit_price: '0.0000015', tier: 1, amount: 14 },
      ],
      total: 16,
    });
  });

  it('a zero increment names the tier the next unit would be in', () => {
    expect(sut(TOKENS_PERIOD, 0, 'actual', '1000000').lines).toEqual([
      { dimension: 'tokens', quantity: '0', unit_price: '0.0000015', tier: 1, amount: 0 },
    ]);
  });

  it('volume: the increment is priced at the tier the running total reaches', () => {
    const volume = { ...TOKENS_VOLUME, tier_scope: 'period' as const };
    expect(sut(volume, 20, 'actual', '999990').lines).toEqual([
      { dimension: 'tokens', quantity: '20', unit_price: '0.0000015', tier: 1, amount: 30 },
    ]);
    expect(sut(volume, 20, 'actual', '0').lines[0]).toMatchObject({ tier: 0, amount: 40 });
  });

  it('volume: a flat price is charged by the operation that first reaches its tier', () => {
    const rate = resolved('seats', {
      model: 'volume',
      tier_scope: 'period',
      tiers: [
        { up_to: 10, unit_price: '1', flat_price: '5' },
        { up_to: null, unit_price: '1', flat_price: '7' },
      ],
    });
    expect(sut(rate, 3, 'actual', '0').total).toBe(8_000_000);
    expect(sut(rate, 3, 'actual', '3').total).toBe(3_000_000);
    expect(sut(rate, 3, 'actual', '9').total).toBe(10_000_000);
    expect(sut(rate, 3, 'actual', '12').total).toBe(3_000_000);
  });

  it('request scope ignores alreadyUsed', () => {
    expect(sut(TOKENS_GRADUATED, 1_500_000, 'actual', '5000000').total).toBe(2_750_000);
  });
});

describe('priceUsage: several dimensions', () => {
  it('sorts lines by dimension and sums them', () => {
    const result = priceUsage({
      rates: {
        output_tokens: resolved('output_tokens', { model: 'flat', unit_price: '0.000008' }),
        input_tokens: resolved('input_tokens', { model: 'flat', unit_price: '0.000002' }),
      },
      usage: { output_tokens: 1000, input_tokens: 3000 },
      mode: 'estimate',
    });
    expect(result.lines.map((l) => [l.dimension, l.amount])).toEqual([
      ['input_tokens', 6000],
      ['output_tokens', 8000],
    ]);
    expect(result.total).toBe(14_000);
  });

  it('prices only the dimensions in the usage', () => {
    const result = priceUsage({
      rates: { a: resolved('a', { model: 'flat', unit_price: '1' }), b: resolved('b', { model: 'flat', unit_price: '1' }) },
      usage: { b: 2 },
      mode: 'actual',
    });
    expect(result).toEqual({ lines: [{ dimension: 'b', quantity: '2', unit_price: '1', amount: 2_000_000 }], total: 2_000_000 });
  });
});

describe('priceUsage: refusals', () => {
  const flat = resolved('seconds', { model: 'flat', unit_price: '0.3' });

  it.each([
    [-1],
    ['-1'],
    [NaN],
    [Infinity],
    [-Infinity],
    ['1e3'],
    ['0x10'],
    [' 1'],
    [''],
    ['1.'],
    [null],
    [{}],
    [new Decimal(-2)],
    [new Decimal(NaN)],
    ['0.0000000000000000001'],
    ['1000000000000000000000'],
  ])('refuses the quantity %p', (quantity) => {
    const error = pricingError(() => sut(flat, quantity as never));
    expect(error.code).toBe('invalid_quantity');
    expect(error.extensions.field).toBe('usage.seconds');
  });

  it('accepts -0 as 0', () => {
    expect(sut(flat, -0).lines[0].quantity).toBe('0');
  });

  it('refuses a bad alreadyUsed on a period-scope rate', () => {
    expect(pricingError(() => sut(TOKENS_PERIOD, 1, 'actual', '-5')).extensions.field).toBe('alreadyUsed.tokens');
  });

  it('refuses a line beyond 2^53 − 1 micro-credits', () => {
    const error = pricingError(() => sut(resolved('x', { model: 'flat', unit_price: '999999999999' }), 10_000));
    expect(error.code).toBe('amount_overflow');
  });

  it('refuses a total beyond 2^53 − 1 even when each line fits', () => {
    const big = { model: 'flat' as const, unit_price: '5000000000' }; // 5 × 10^15 micro each
    const error = pricingError(() =>
      priceUsage({ rates: { a: resolved('a', big), b: resolved('b', big) }, usage: { a: 1, b: 1 }, mode: 'actual' }),
    );
    expect(error.code).toBe('amount_overflow');
    expect(error.extensions.field).toBe('total');
  });

  it('prices right up to 2^53 − 1', () => {
    expect(sut(resolved('x', { model: 'flat', unit_price: '0.000001' }), Number.MAX_SAFE_INTEGER).total).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses usage with no resolved rate', () => {
    expect(pricingError(() => priceUsage({ rates: {}, usage: { seconds: 1 }, mode: 'actual' })).code).toBe('no_rate_for_dimension');
  });

  it('refuses a rate it cannot read rather than misprice it', () => {
    expect(pricingError(() => sut(resolved('x', { model: 'flat', unit_price: '1e-6' }), 1)).code).toBe('invalid_rate');
    expect(pricingError(() => sut(resolved('x', { model: 'flat' }), 1)).code).toBe('invalid_rate');
    expect(pricingError(() => sut(resolved('x', { model: 'package', unit_price: '1', package_size: 0 }), 1)).code).toBe('invalid_rate');
    expect(pricingError(() => sut(resolved('x', { model: 'graduated', tiers: [{ up_to: 5, unit_price: '1' }] }), 1)).code).toBe(
      'invalid_rate',
    );
    expect(pricingError(() => sut(resolved('x', { model: 'volume', tiers: [] }), 1)).code).toBe('invalid_rate');
  });

  it('refuses an unknown mode', () => {
    expect(pricingError(() => sut(flat, 1, 'guess' as never)).code).toBe('invalid_pricing_request');
  });
});
