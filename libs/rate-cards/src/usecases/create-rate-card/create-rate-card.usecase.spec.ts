import { PlatformError } from '@tollgate/platform';
import { rateCardsHarness, VIDEO_RATES } from '../rate-cards.spec-harness';

describe('CreateRateCardUseCase', () => {
  it('stores the card with ids, starts defaulted to now, ladders, and an audit entry of the whole card', async () => {
    const h = rateCardsHarness();
    const sut = h.createRateCard;

    const card = await sut.execute(h.platform, {
      name: 'Standard',
      rates: VIDEO_RATES,
      ladders: [{ product: 'video.generate', ladder: [{ resolution: '1080p' }, { product: 'video.fast' }] }],
    });

    expect(card.id).toMatch(/^rc_/);
    expect(card.rates.map((r) => [r.id.slice(0, 5), r.unit_price, r.starting_at, r.ending_before])).toEqual([
      ['rate_', '0.2', h.clock.now(), null],
      ['rate_', '0.3', h.clock.now(), null],
      ['rate_', '0.1', h.clock.now(), null],
    ]);
    expect(card.ladders).toEqual([
      expect.objectContaining({
        product: 'video.generate',
        ladder: [{ dimensions: { resolution: '1080p' } }, { product: 'video.fast', dimensions: {} }],
      }),
    ]);
    expect(await h.repository.findCard(card.id)).toEqual(card);
    expect(h.repository.audits).toEqual([
      expect.objectContaining({
        action: 'rate_card.created',
        orgId: null,
        resourceId: card.id,
        before: null,
        after: expect.objectContaining({ id: card.id, rates: expect.any(Array) }),
      }),
    ]);
  });

  it('accepts starts in the past (nobody priced with a card that did not exist) and chains a scheduled change', async () => {
    const h = rateCardsHarness();
    const card = await h.createRateCard.execute(h.platform, {
      name: 'History',
      rates: [
        { product: 'p', dimension: 'd', model: 'flat', unit_price: '1', starting_at: '2020-01-01T00:00:00Z' },
        { product: 'p', dimension: 'd', model: 'flat', unit_price: '2', starting_at: '2030-01-01T00:00:00Z' },
      ],
    });
    expect(card.rates.map((r) => r.ending_before?.toISOString() ?? null)).toEqual(['2030-01-01T00:00:00.000Z', null]);
  });

  it('refuses with every problem at once and stores nothing', async () => {
    const h = rateCardsHarness();
    const error = await h.createRateCard
      .execute(h.platform, {
        name: 'Bad',
        rates: [
          { product: 'p', dimension: 'd', model: 'volume', tiers: [{ up_to: 5, unit_price: '1' }] },
          { product: 'p', dimension: 'e', model: 'flat' },
        ],
        ladders: [{ product: 'q', ladder: [{}, { x: '1' }] }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).extensions.errors).toEqual([
      { field: 'rates[0].tiers[0].up_to', message: 'the last tier must be open (null)' },
      { field: 'rates[1].unit_price', message: 'is required for model flat' },
      { field: 'ladders[0].product', message: "no rate of this card prices product 'q'" },
    ]);
    expect(await h.repository.listCards(undefined, 10)).toEqual([]);
  });

  it('is for platform keys only', async () => {
    const h = rateCardsHarness();
    await expect(h.createRateCard.execute(h.orgKey('acme'), { name: 'x', rates: [] })).rejects.toMatchObject({
      code: 'platform_key_required',
    });
  });
});
