import { readLadder, readPriceItems } from './rate-input';

describe('readPriceItems', () => {
  it('reads a rate, with match and tier_scope defaulted and null price fields taken as absent', () => {
    const { items, problems } = readPriceItems(
      [
        {
          product: 'p',
          dimension: 'd',
          model: 'graduated',
          unit_price: null,
          package_size: null,
          tiers: [{ up_to: null, unit_price: '1', flat_price: null }],
          starting_at: '2026-01-01T00:00:00+01:00',
          ending_before: null,
        },
      ],
      'rates',
      'rate',
      10,
    );
    expect(problems).toEqual([]);
    expect(items).toEqual([
      {
        product: 'p',
        dimension: 'd',
        match: {},
        model: 'graduated',
        tier_scope: 'request',
        tiers: [{ up_to: null, unit_price: '1' }],
        starting_at: new Date('2025-12-31T23:00:00Z'),
        ending_before: null,
      },
    ]);
  });

  it('names unknown fields (of rates and of tiers), unreadable instants and non-objects, by path', () => {
    const { problems } = readPriceItems(
      [
        { product: 'p', dimension: 'd', model: 'flat', unit_price: '1', ending_befor: '2030-01-01T00:00:00Z' },
        {
          product: 'p',
          dimension: 'd',
          model: 'volume',
          tiers: [{ up_to: null, price: '1' }],
          starting_at: '2026-01-01',
          ending_before: 12,
        },
        7,
      ],
      'rates',
      'rate',
      10,
    );
    expect(problems.map((p) => p.field)).toEqual([
      'rates[0].ending_befor',
      'rates[1].tiers[0].price',
      'rates[1].starting_at',
      'rates[1].ending_before',
      'rates[2]',
    ]);
  });

  it('refuses a list that is not one, or is too long', () => {
    expect(readPriceItems({}, 'rates', 'rate', 10).problems).toEqual([{ field: 'rates', message: 'must be a list of rates' }]);
    expect(readPriceItems([{}, {}], 'overrides', 'override', 1).problems).toEqual([
      { field: 'overrides', message: 'must have at most 1 overrides' },
    ]);
  });
});

describe('readLadder', () => {
  it("reads API.md's flat steps: `product` names a product, every other key a dimension", () => {
    const { ladder, problems } = readLadder(
      { product: 'video', ladder: [{ resolution: '1080p' }, { product: 'video.fast', resolution: '720p' }] },
      'ladders[0]',
    );
    expect(problems).toEqual([]);
    expect(ladder).toEqual({
      product: 'video',
      ladder: [{ dimensions: { resolution: '1080p' } }, { product: 'video.fast', dimensions: { resolution: '720p' } }],
    });
  });

  it('reports problems at the flat paths a client wrote', () => {
    expect(
      readLadder({ product: 'video', ladder: [{ resolution: 7 }, { resolution: 7 }], extra: 1 }, '').problems.map((p) => p.field),
    ).toEqual(['extra', 'ladder[0].resolution', 'ladder[1].resolution', 'ladder[1]']);
    expect(readLadder({ product: 'video', ladder: [{}] }, 'ladders[2]').problems.map((p) => p.field)).toEqual(['ladders[2].ladder']);
  });
});
