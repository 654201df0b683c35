import { Rate, RateOverride } from './rate';
import { validateRateOverrides, validateRates } from './rate-validation';

const JAN = new Date('2026-01-01T00:00:00Z');
const FEB = new Date('2026-02-01T00:00:00Z');
const MAR = new Date('2026-03-01T00:00:00Z');

let ids = 0;
function rate(fields: Partial<Rate> = {}): Rate {
  return {
    id: `rate_${++ids}`,
    product: 'video.generate',
    dimension: 'video_seconds',
    match: {},
    model: 'flat',
    unit_price: '0.3',
    tier_scope: 'request',
    starting_at: JAN,
    ending_before: null,
    ...fields,
  };
}

const graduated = (tiers: unknown): Rate => rate({ model: 'graduated', unit_price: undefined, tiers: tiers as Rate['tiers'] });
const fields = (problems: Array<{ field: string }>): string[] => problems.map((p) => p.field);

describe('validateRates: a sound card', () => {
  it('has no problems', () => {
    expect(
      validateRates([
        rate({ match: { resolution: '1080p' } }),
        rate({ match: { resolution: '720p' }, unit_price: '0.15' }),
        rate({ product: 'video.generate', dimension: 'frames', model: 'package', unit_price: '1', package_size: 24 }),
        rate({
          product: 'llm.chat',
          dimension: 'input_tokens',
          model: 'volume',
          unit_price: undefined,
          tier_scope: 'period',
          tiers: [
            { up_to: 1_000_000, unit_price: '0.000002', flat_price: '0' },
            { up_to: null, unit_price: '0.0000015' },
          ],
        }),
        rate({ product: 'image.generate', dimension: 'images', unit_price: '0', starting_at: JAN, ending_before: FEB }),
        rate({ product: 'image.generate', dimension: 'images', unit_price: '0.04', starting_at: FEB }),
      ]),
    ).toEqual([]);
  });
});

describe('validateRates: prices', () => {
  it.each(['0', '0.3', '12', '0.000000000001', '999999999999.999999999999', '1.50'])('accepts %p', (price) => {
    expect(validateRates([rate({ unit_price: price })])).toEqual([]);
  });

  it.each(['-1', '1e-6', '0.0000000000001', '.5', '5.', '01', '', ' 1', '+1', '1,5', '1000000000000', 'NaN'])('refuses %p', (price) => {
    expect(validateRates([rate({ unit_price: price })])).toEqual([
      { field: 'rates[0].unit_price', message: expect.stringContaining('non-negative decimal string') },
    ]);
  });

  it('refuses a number where a decimal string belongs', () => {
    expect(fields(validateRates([rate({ unit_price: 0.3 as unknown as string })]))).toEqual(['rates[0].unit_price']);
  });
});

describe('validateRates: models', () => {
  it('flat and package need a unit_price and no tiers', () => {
    expect(validateRates([rate({ unit_price: undefined })])).toEqual([
      { field: 'rates[0].unit_price', message: 'is required for model flat' },
    ]);
    expect(fields(validateRates([rate({ tiers: [{ up_to: null, unit_price: '1' }] })]))).toEqual(['rates[0].tiers']);
  });

  it.each([[undefined], [0], [1.5], [-3], ['10']])('package needs an integer package_size of at least 1, not %p', (size) => {
    expect(fields(validateRates([rate({ model: 'package', package_size: size as number })]))).toEqual(['rates[0].package_size']);
  });

  it('package_size belongs to package only', () => {
    expect(fields(validateRates([rate({ package_size: 10 })]))).toEqual(['rates[0].package_size']);
  });

  it('refuses an unknown model or tier_scope', () => {
    expect(fields(validateRates([rate({ model: 'tiered' as never })]))).toEqual(['rates[0].model']);
    expect(fields(validateRates([rate({ tier_scope: 'month' as never })]))).toEqual(['rates[0].tier_scope']);
  });
});

describe('validateRates: tiers', () => {
  it.each([
    ['missing', undefined, 'rates[0].tiers'],
    ['empty', [], 'rates[0].tiers'],
    [
      'not ascending',
      [
        { up_to: 100, unit_price: '1' },
        { up_to: 100, unit_price: '1' },
        { up_to: null, unit_price: '1' },
      ],
      'rates[0].tiers[1].up_to',
    ],
    [
      'descending',
      [
        { up_to: 100, unit_price: '1' },
        { up_to: 50, unit_price: '1' },
        { up_to: null, unit_price: '1' },
      ],
      'rates[0].tiers[1].up_to',
    ],
    [
      'open in the middle',
      [
        { up_to: null, unit_price: '1' },
        { up_to: null, unit_price: '1' },
      ],
      'rates[0].tiers[0].up_to',
    ],
    ['closed at the end', [{ up_to: 100, unit_price: '1' }], 'rates[0].tiers[0].up_to'],
    [
      'zero',
      [
        { up_to: 0, unit_price: '1' },
        { up_to: null, unit_price: '1' },
      ],
      'rates[0].tiers[0].up_to',
    ],
    [
      'fractional',
      [
        { up_to: 2.5, unit_price: '1' },
        { up_to: null, unit_price: '1' },
      ],
      'rates[0].tiers[0].up_to',
    ],
    [
      'a bad unit price',
      [
        { up_to: 10, unit_price: '1' },
        { up_to: null, unit_price: '-1' },
      ],
      'rates[0].tiers[1].unit_price',
    ],
    [
      'a bad flat price',
      [
        { up_to: 10, unit_price: '1', flat_price: '1e3' },
        { up_to: null, unit_price: '1' },
      ],
      'rates[0].tiers[0].flat_price',
    ],
    ['not an object', [null, { up_to: null, unit_price: '1' }], 'rates[0].tiers[0]'],
  ])('refuses tiers %s', (_what, tiers, field) => {
    expect(fields(validateRates([graduated(tiers)]))).toEqual([field]);
  });

  it('a single open tier is a valid graduated rate', () => {
    expect(validateRates([graduated([{ up_to: null, unit_price: '1' }])])).toEqual([]);
  });

  it('graduated and volume take their prices from the tiers only', () => {
    expect(fields(validateRates([{ ...graduated([{ up_to: null, unit_price: '1' }]), unit_price: '1' }]))).toEqual(['rates[0].unit_price']);
  });

  it('reports every problem with its path', () => {
    const problems = validateRates([
      rate(),
      rate({ product: 'llm.chat' }),
      graduated([
        { up_to: 1000, unit_price: '0.1' },
        { up_to: 500, unit_price: 'x' },
        { up_to: 2000, unit_price: '0.1' },
      ]),
    ]);
    expect(fields(problems)).toEqual(['rates[2].tiers[1].up_to', 'rates[2].tiers[1].unit_price', 'rates[2].tiers[2].up_to']);
  });
});

describe('validateRates: names and match', () => {
  it.each(['', 'a b', 'x'.repeat(65), 'vidéo', 'a/b'])('refuses product and dimension %p', (name) => {
    expect(fields(validateRates([rate({ product: name, dimension: name })]))).toEqual(['rates[0].product', 'rates[0].dimension']);
  });

  it('accepts 64 characters of the alphabet', () => {
    expect(validateRates([rate({ product: 'a'.repeat(64), dimension: 'A-z_0.9:x' })])).toEqual([]);
  });

  it('checks match keys and values', () => {
    expect(fields(validateRates([rate({ match: { 'bad key': '1' } })]))).toEqual(['rates[0].match']);
    expect(fields(validateRates([rate({ match: { resolution: '' } })]))).toEqual(['rates[0].match.resolution']);
    expect(fields(validateRates([rate({ match: { resolution: 1080 as unknown as string } })]))).toEqual(['rates[0].match.resolution']);
    expect(fields(validateRates([rate({ match: null as never })]))).toEqual(['rates[0].match']);
    expect(fields(validateRates([rate({ match: { aspect: '16:9 wide' } })]))).toEqual([]);
  });

  it('refuses duplicate ids, also against existing rates', () => {
    const existing = rate({ id: 'r1', product: 'other' });
    expect(fields(validateRates([rate({ id: 'r1' })], [existing]))).toEqual(['rates[0].id']);
    expect(fields(validateRates([rate({ id: 'r2' }), rate({ id: 'r2', product: 'other' })]))).toEqual(['rates[1].id']);
  });
});

describe('validateRates: schedules', () => {
  it('starting_at must come before ending_before', () => {
    expect(fields(validateRates([rate({ starting_at: FEB, ending_before: FEB })]))).toEqual(['rates[0].ending_before']);
    expect(fields(validateRates([rate({ starting_at: FEB, ending_before: JAN })]))).toEqual(['rates[0].ending_before']);
    expect(fields(validateRates([rate({ starting_at: new Date(NaN) })]))).toEqual(['rates[0].starting_at']);
    expect(fields(validateRates([rate({ starting_at: undefined as never })]))).toEqual(['rates[0].starting_at']);
  });

  it('refuses two rates of one identity in force at once', () => {
    const problems = validateRates([rate({ ending_before: MAR }), rate({ starting_at: FEB })]);
    expect(problems).toEqual([{ field: 'rates[1].starting_at', message: expect.stringContaining('rates[0]') }]);
  });

  it('accepts back-to-back windows: ending_before is exclusive', () => {
    expect(validateRates([rate({ ending_before: FEB }), rate({ starting_at: FEB })])).toEqual([]);
  });

  it('tells identities apart by product, dimension and the whole match', () => {
    expect(
      validateRates([
        rate(),
        rate({ product: 'video.fast' }),
        rate({ dimension: 'frames' }),
        rate({ match: { resolution: '1080p' } }),
        rate({ match: { resolution: '1080p', fps: '60' } }),
      ]),
    ).toEqual([]);
    expect(fields(validateRates([rate({ match: { a: '1', b: '2' } }), rate({ match: { b: '2', a: '1' } })]))).toEqual([
      'rates[1].starting_at',
    ]);
  });

  it('checks scheduled additions against the rates already on the card', () => {
    const existing = [rate({ id: 'current', ending_before: null })];
    expect(validateRates([rate({ starting_at: MAR })], existing)).toEqual([
      { field: 'rates[0].starting_at', message: expect.stringContaining('existing rate current') },
    ]);
    const closed = [rate({ id: 'current', ending_before: MAR })];
    expect(validateRates([rate({ starting_at: MAR, unit_price: '0.25' })], closed)).toEqual([]);
  });
});

describe('validateRates: no request may match two equally specific rates', () => {
  it('refuses two one-key matches a request can satisfy together', () => {
    expect(validateRates([rate({ match: { resolution: '1080p' } }), rate({ match: { model: 'turbo' } })])).toEqual([
      { field: 'rates[1].match', message: expect.stringContaining('{"resolution":"1080p","model":"turbo"}') },
    ]);
  });

  it('accepts them with a rate for the combination covering their overlap', () => {
    const hd = rate({ match: { resolution: '1080p' } });
    const turbo = rate({ match: { model: 'turbo' }, starting_at: FEB });
    expect(validateRates([hd, turbo, rate({ match: { resolution: '1080p', model: 'turbo' }, starting_at: FEB })])).toEqual([]);
    expect(
      validateRates([
        hd,
        turbo,
        rate({ match: { model: 'turbo', resolution: '1080p' }, starting_at: FEB, ending_before: MAR }),
        rate({ match: { model: 'turbo', resolution: '1080p' }, starting_at: MAR }),
      ]),
    ).toEqual([]);
    // A gap in the combination's schedule leaves requests ambiguous.
    expect(fields(validateRates([hd, turbo, rate({ match: { resolution: '1080p', model: 'turbo' }, starting_at: MAR })]))).toEqual([
      'rates[1].match',
    ]);
  });

  it('accepts matches that exclude each other, differ in size, or are never in force together', () => {
    expect(validateRates([rate({ match: { resolution: '1080p' } }), rate({ match: { resolution: '720p' } })])).toEqual([]);
    expect(
      validateRates([rate({ match: { resolution: '1080p', fps: '60' } }), rate({ match: { resolution: '1080p', model: 'slow' } })]),
    ).toEqual([{ field: 'rates[1].match', message: expect.any(String) }]);
    expect(
      validateRates([rate({ match: { resolution: '1080p', fps: '60' } }), rate({ match: { resolution: '720p', model: 'slow' } })]),
    ).toEqual([]);
    expect(validateRates([rate({ match: { resolution: '1080p' } }), rate({ match: { resolution: '1080p', model: 'turbo' } })])).toEqual([]);
    expect(
      validateRates([rate({ match: { resolution: '1080p' }, ending_before: FEB }), rate({ match: { model: 'turbo' }, starting_at: FEB })]),
    ).toEqual([]);
    expect(validateRates([rate({ match: { resolution: '1080p' } }), rate({ match: { model: 'turbo' }, dimension: 'frames' })])).toEqual([]);
  });

  it('checks against existing rates too', () => {
    expect(fields(validateRates([rate({ match: { model: 'turbo' } })], [rate({ id: 'hd', match: { resolution: '1080p' } })]))).toEqual([
      'rates[0].match',
    ]);
  });
});

describe('validateRates: input that is not a list of rates', () => {
  it('says so', () => {
    expect(validateRates(null as never)).toEqual([{ field: 'rates', message: 'must be a list of rates' }]);
    expect(validateRates([null as never])).toEqual([{ field: 'rates[0]', message: 'must be an object' }]);
    expect(validateRates([], [], 'body.rates')).toEqual([]);
  });
});

describe('validateRateOverrides', () => {
  const override = (fields: Partial<RateOverride> = {}): RateOverride => ({
    id: `o_${++ids}`,
    product: 'video.generate',
    dimension: 'video_seconds',
    match: { resolution: '1080p' },
    model: 'flat',
    unit_price: '0.2',
    tier_scope: 'request',
    ...fields,
  });

  it('accepts an override with or without a window', () => {
    expect(validateRateOverrides([override(), override({ match: {}, starting_at: FEB, ending_before: MAR })])).toEqual([]);
  });

  it('checks the price fields and the window like a rate', () => {
    expect(
      fields(validateRateOverrides([override({ unit_price: '1e-3' }), override({ match: {}, starting_at: MAR, ending_before: FEB })])),
    ).toEqual(['overrides[0].unit_price', 'overrides[1].ending_before']);
  });

  it('refuses two overrides of one rate in force at once, also against existing ones', () => {
    expect(fields(validateRateOverrides([override(), override({ starting_at: FEB })]))).toEqual(['overrides[1].starting_at']);
    expect(validateRateOverrides([override({ starting_at: FEB })], [override({ id: 'old', ending_before: FEB })])).toEqual([]);
    expect(validateRateOverrides([override({ starting_at: FEB })], [override({ id: 'old' })])).toEqual([
      { field: 'overrides[0].starting_at', message: expect.stringContaining('existing override old') },
    ]);
  });
});
