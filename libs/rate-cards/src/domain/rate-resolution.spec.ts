import { priceUsage } from './pricing';
import { PricingError } from './pricing.error';
import { Rate, RateOverride } from './rate';
import { RateCardPrices, resolveRates, ResolutionRequest } from './rate-resolution';

const at = (iso: string): Date => new Date(iso);
const JAN = at('2026-01-01T00:00:00Z');
const FEB = at('2026-02-01T00:00:00Z');
const MAR = at('2026-03-01T00:00:00Z');

function rate(id: string, fields: Partial<Rate> = {}): Rate {
  return {
    id,
    product: 'video.generate',
    dimension: 'video_seconds',
    match: {},
    model: 'flat',
    unit_price: '0.2',
    tier_scope: 'request',
    starting_at: JAN,
    ending_before: null,
    ...fields,
  };
}

function override(id: string, fields: Partial<RateOverride> = {}): RateOverride {
  return {
    id,
    product: 'video.generate',
    dimension: 'video_seconds',
    match: {},
    model: 'flat',
    unit_price: '0.1',
    tier_scope: 'request',
    ...fields,
  };
}

function request(fields: Partial<ResolutionRequest> = {}): ResolutionRequest {
  return { product: 'video.generate', dimensions: {}, usageDimensions: ['video_seconds'], at: at('2026-01-15T00:00:00Z'), ...fields };
}

/** The rate id, override id and price chosen for video_seconds, or the reason it could not be priced. */
function chosen(card: RateCardPrices, req: Partial<ResolutionRequest> = {}) {
  const sut = resolveRates(card, request(req));
  if (!sut.ok) return sut;
  const r = sut.rates.video_seconds;
  return { rate_id: r.rate_id, override_id: r.override_id, unit_price: r.unit_price };
}

describe('resolveRates: schedules', () => {
  const card = {
    rates: [rate('jan', { unit_price: '0.3', ending_before: FEB }), rate('feb', { unit_price: '0.25', starting_at: FEB })],
  };

  it('starting_at is inclusive and ending_before exclusive', () => {
    expect(chosen(card, { at: JAN })).toMatchObject({ rate_id: 'jan' });
    expect(chosen(card, { at: new Date(FEB.getTime() - 1) })).toMatchObject({ rate_id: 'jan', unit_price: '0.3' });
    expect(chosen(card, { at: FEB })).toMatchObject({ rate_id: 'feb', unit_price: '0.25' });
    expect(chosen(card, { at: at('2030-01-01T00:00:00Z') })).toMatchObject({ rate_id: 'feb' });
  });

  it('before any rate starts, the product is unknown', () => {
    expect(chosen(card, { at: new Date(JAN.getTime() - 1) })).toEqual({ ok: false, reason: 'unknown_product', product: 'video.generate' });
  });

  it('a product whose every rate has ended is unknown', () => {
    const retired = { rates: [rate('old', { ending_before: FEB })] };
    expect(chosen(retired, { at: FEB })).toEqual({ ok: false, reason: 'unknown_product', product: 'video.generate' });
  });

  it('refuses an invalid instant', () => {
    expect(() => resolveRates(card, request({ at: new Date(NaN) }))).toThrow(PricingError);
  });
});

describe('resolveRates: known product, unpriceable dimension', () => {
  const card = { rates: [rate('hd', { match: { resolution: '1080p' } }), rate('img', { product: 'image.generate', dimension: 'images' })] };

  it('a product with no rate at all is unknown', () => {
    expect(resolveRates(card, request({ product: 'audio.generate' }))).toEqual({
      ok: false,
      reason: 'unknown_product',
      product: 'audio.generate',
    });
  });

  it('a known product whose rates do not cover the request names the dimension', () => {
    expect(chosen(card, { dimensions: { resolution: '720p' } })).toEqual({
      ok: false,
      reason: 'unpriceable_dimension',
      product: 'video.generate',
      dimension: 'video_seconds',
    });
    expect(resolveRates(card, request({ dimensions: { resolution: '1080p' }, usageDimensions: ['video_seconds', 'frames'] }))).toEqual({
      ok: false,
      reason: 'unpriceable_dimension',
      product: 'video.generate',
      dimension: 'frames',
    });
  });

  it('a rate of the right dimension but another product does not count', () => {
    expect(resolveRates(card, request({ product: 'image.generate', usageDimensions: ['video_seconds'] }))).toMatchObject({
      reason: 'unpriceable_dimension',
    });
  });

  it('with no usage, a known product resolves to no rates', () => {
    expect(resolveRates(card, request({ usageDimensions: [] }))).toEqual({ ok: true, rates: {} });
  });
});

describe('resolveRates: most specific match', () => {
  const card = {
    rates: [
      rate('any', { unit_price: '0.2' }),
      rate('hd', { match: { resolution: '1080p' }, unit_price: '0.3' }),
      rate('hd60', { match: { resolution: '1080p', fps: '60' }, unit_price: '0.4' }),
    ],
  };

  it.each([
    [{ resolution: '1080p', fps: '60' }, 'hd60'],
    [{ resolution: '1080p', fps: '30' }, 'hd'],
    [{ resolution: '1080p' }, 'hd'],
    [{ resolution: '720p', fps: '60' }, 'any'],
    [{}, 'any'],
  ])('%p is priced by %s', (dimensions, id) => {
    expect(chosen(card, { dimensions })).toMatchObject({ rate_id: id });
  });

  it('a more specific rate not yet in force does not win', () => {
    const scheduled = { rates: [rate('any'), rate('hd', { match: { resolution: '1080p' }, starting_at: FEB })] };
    expect(chosen(scheduled, { dimensions: { resolution: '1080p' } })).toMatchObject({ rate_id: 'any' });
    expect(chosen(scheduled, { dimensions: { resolution: '1080p' }, at: FEB })).toMatchObject({ rate_id: 'hd' });
  });

  it('refuses to choose between two equally specific rates', () => {
    const ambiguous = { rates: [rate('hd', { match: { resolution: '1080p' } }), rate('turbo', { match: { model: 'turbo' } })] };
    expect(chosen(ambiguous, { dimensions: { resolution: '1080p', model: 'turbo' } })).toEqual({
      ok: false,
      reason: 'ambiguous_rate',
      product: 'video.generate',
      dimension: 'video_seconds',
      rate_ids: ['hd', 'turbo'],
    });
    expect(chosen(ambiguous, { dimensions: { resolution: '1080p', model: 'slow' } })).toMatchObject({ rate_id: 'hd' });
  });
});

describe('resolveRates: overrides', () => {
  const rates = [rate('any', { unit_price: '0.2' }), rate('hd', { match: { resolution: '1080p' }, unit_price: '0.3' })];

  it('an override in force replaces the price of the rate with its identity', () => {
    const card = { rates, overrides: [override('o1', { match: { resolution: '1080p' }, unit_price: '0.15' })] };
    expect(chosen(card, { dimensions: { resolution: '1080p' } })).toEqual({ rate_id: 'hd', override_id: 'o1', unit_price: '0.15' });
    expect(chosen(card, { dimensions: { resolution: '720p' } })).toEqual({ rate_id: 'any', override_id: null, unit_price: '0.2' });
  });

  it('only while in force, with the same boundary rule as rates', () => {
    const card = { rates, overrides: [override('promo', { starting_at: FEB, ending_before: MAR })] };
    expect(chosen(card, { at: new Date(FEB.getTime() - 1) })).toMatchObject({ override_id: null, unit_price: '0.2' });
    expect(chosen(card, { at: FEB })).toMatchObject({ override_id: 'promo', unit_price: '0.1' });
    expect(chosen(card, { at: MAR })).toMatchObject({ override_id: null });
  });

  it('does not take part in choosing: an override of the catch-all leaves a more specific rate alone', () => {
    const card = { rates, overrides: [override('cheap-any', { unit_price: '0.01' })] };
    expect(chosen(card, { dimensions: { resolution: '1080p' } })).toEqual({ rate_id: 'hd', override_id: null, unit_price: '0.3' });
  });

  it('outlives a scheduled change of the card rate it overrides', () => {
    const card = {
      rates: [rate('jan', { ending_before: FEB, unit_price: '0.3' }), rate('feb', { starting_at: FEB, unit_price: '0.5' })],
      overrides: [override('deal', { unit_price: '0.25' })],
    };
    expect(chosen(card, { at: FEB })).toEqual({ rate_id: 'feb', override_id: 'deal', unit_price: '0.25' });
  });

  it('cannot sell what the card does not: an override without a card rate in force prices nothing', () => {
    const card = {
      rates: [rate('hd', { match: { resolution: '1080p' }, ending_before: FEB })],
      overrides: [override('o', { match: { resolution: '1080p' } })],
    };
    expect(chosen(card, { dimensions: { resolution: '1080p' }, at: FEB })).toMatchObject({ reason: 'unknown_product' });
  });

  it('replaces every price field, model included', () => {
    const card = {
      rates,
      overrides: [
        override('tiered', {
          model: 'graduated',
          unit_price: undefined,
          tier_scope: 'period',
          tiers: [
            { up_to: 100, unit_price: '0.3' },
            { up_to: null, unit_price: '0.1' },
          ],
        }),
      ],
    };
    const sut = resolveRates(card, request());
    expect(sut).toEqual({
      ok: true,
      rates: {
        video_seconds: {
          dimension: 'video_seconds',
          rate_id: 'any',
          override_id: 'tiered',
          model: 'graduated',
          tier_scope: 'period',
          tiers: [
            { up_to: 100, unit_price: '0.3' },
            { up_to: null, unit_price: '0.1' },
          ],
        },
      },
    });
  });

  it('two overrides of one rate in force at once are refused, not picked', () => {
    const card = { rates, overrides: [override('a'), override('b')] };
    expect(chosen(card)).toMatchObject({ ok: false, reason: 'ambiguous_rate', rate_ids: ['a', 'b'] });
  });
});

describe('resolveRates then priceUsage', () => {
  it('prices an LLM call: input and output tokens, graduated input, per-org output price', () => {
    const card: RateCardPrices = {
      rates: [
        rate('in', {
          product: 'llm.chat',
          dimension: 'input_tokens',
          model: 'graduated',
          unit_price: undefined,
          tiers: [
            { up_to: 1_000_000, unit_price: '0.000002' },
            { up_to: null, unit_price: '0.0000015' },
          ],
        }),
        rate('out', { product: 'llm.chat', dimension: 'output_tokens', unit_price: '0.000008' }),
        rate('out-big', { product: 'llm.chat', dimension: 'output_tokens', match: { model: 'big' }, unit_price: '0.00003' }),
      ],
      overrides: [override('acme-out', { product: 'llm.chat', dimension: 'output_tokens', unit_price: '0.000006' })],
    };
    const resolution = resolveRates(
      card,
      request({ product: 'llm.chat', dimensions: { model: 'small' }, usageDimensions: ['input_tokens', 'output_tokens'] }),
    );
    if (!resolution.ok) throw new Error(resolution.reason);
    const sut = priceUsage({ rates: resolution.rates, usage: { input_tokens: 1_500_000, output_tokens: 10_000 }, mode: 'estimate' });
    expect(sut.lines.map((l) => [l.dimension, l.tier, l.amount])).toEqual([
      ['input_tokens', 0, 2_000_000],
      ['input_tokens', 1, 750_000],
      ['output_tokens', undefined, 60_000],
    ]);
    expect(sut.total).toBe(2_810_000);
  });
});
