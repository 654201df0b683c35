import { rateCardsHarness, VIDEO_RATES } from '../rate-cards.spec-harness';

describe('PriceOperationUseCase', () => {
  async function setUp() {
    const h = rateCardsHarness();
    const card = await h.createRateCard.execute(h.platform, {
      name: 'Standard',
      rates: VIDEO_RATES,
      ladders: [{ product: 'video.generate', ladder: [{ resolution: '1080p' }, { resolution: '720p' }, { product: 'video.fast' }] }],
    });
    const org = await h.putOrg('acme', card.id);
    const price = (fields: Record<string, unknown> = {}) =>
      h.pricing.execute({
        orgId: org,
        environment: 'live',
        product: 'video.generate',
        usage: { video_seconds: 8 },
        dimensions: { resolution: '1080p' },
        at: h.clock.now(),
        mode: 'estimate',
        ...fields,
      });
    return { h, card, org, sut: h.pricing, price };
  }

  it('prices with the most specific rate in force and says which rates it used', async () => {
    const { card, price } = await setUp();
    expect(await price()).toEqual({
      rate_card_id: card.id,
      lines: [{ dimension: 'video_seconds', quantity: '8', unit_price: '0.3', amount: 2_400_000 }],
      total: 2_400_000,
      rates: [
        {
          dimension: 'video_seconds',
          rate_id: card.rates[1].id,
          override_id: null,
          model: 'flat',
          unit_price: '0.3',
          tier_scope: 'request',
        },
      ],
    });
    expect((await price({ dimensions: { resolution: '720p' } })).total).toBe(1_600_000);
  });

  it('reads nothing from the repository once warm', async () => {
    const { h, price } = await setUp();
    await price();
    const reads = h.repository.reads;
    for (let i = 0; i < 5; i++) await price({ usage: { video_seconds: i + 1 } });
    await h.pricing.downgradeOptions('acme', 'video.generate', { resolution: '1080p' });
    expect(h.repository.reads).toBe(reads);
  });

  it('sees an added rate and an override at once: writes invalidate the cached card and overrides', async () => {
    const { h, card, org, price } = await setUp();
    await price();
    h.clock.advance(1_000);
    await h.addRates.execute(h.platform, card.id, [
      { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.25' },
    ]);
    expect((await price({ at: h.clock.now() })).total).toBe(2_000_000);
    await h.addOverrides.execute(h.platform, org, [
      { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.1' },
    ]);
    expect(await price({ at: h.clock.now() })).toMatchObject({
      total: 800_000,
      rates: [expect.objectContaining({ override_id: expect.stringMatching(/^ro_/) })],
    });
  });

  it('follows the organization to another card', async () => {
    const { h, org, price } = await setUp();
    const cheap = await h.createRateCard.execute(h.platform, {
      name: 'Cheap',
      rates: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.01' }],
    });
    await h.putOrg(org, cheap.id);
    expect(await price()).toMatchObject({ rate_card_id: cheap.id, total: 80_000 });
  });

  it('refuses what it cannot price with stable codes', async () => {
    const { h, price } = await setUp();
    await expect(price({ product: 'audio' })).rejects.toMatchObject({ code: 'unknown_product', extensions: { product: 'audio' } });
    await expect(price({ usage: { video_seconds: 1, frames: 2 } })).rejects.toMatchObject({
      code: 'unpriceable_usage',
      extensions: { dimension: 'frames', field: 'usage.frames' },
    });
    await expect(price({ usage: {} })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(price({ usage: { video_seconds: '1e3' } })).rejects.toMatchObject({
      code: 'validation_failed',
      extensions: { errors: [{ field: 'usage.video_seconds' }] },
    });
    await expect(price({ usage: { video_seconds: 1e15 } })).rejects.toMatchObject({ code: 'amount_overflow' });
    await h.putOrg('bare', null);
    await expect(price({ orgId: 'bare' })).rejects.toMatchObject({ code: 'no_rate_card' });
    await h.putOrg('dangling', 'rc_gone');
    await expect(price({ orgId: 'dangling' })).rejects.toMatchObject({ code: 'no_rate_card' });
    await expect(price({ orgId: 'nobody' })).rejects.toMatchObject({ code: 'unknown_org' });
  });

  it('prices a commit at the recorded rates, without any look-up', async () => {
    const { h, sut, price } = await setUp();
    const hold = await price();
    const reads = h.repository.reads;
    expect(sut.priceWithRecordedRates(hold.rates, { video_seconds: '6.5' }, 'actual')).toEqual({
      lines: [{ dimension: 'video_seconds', quantity: '6.5', unit_price: '0.3', amount: 1_950_000 }],
      total: 1_950_000,
    });
    expect(() => sut.priceWithRecordedRates(hold.rates, { frames: 1 }, 'actual')).toThrow(
      expect.objectContaining({ code: 'unpriceable_usage' }),
    );
    expect(h.repository.reads).toBe(reads);
  });

  it("offers the ladder's alternatives below the request's step", async () => {
    const { h, sut } = await setUp();
    expect(await sut.downgradeOptions('acme', 'video.generate', { resolution: '720p' })).toEqual([
      { product: 'video.fast', dimensions: { resolution: '720p' } },
    ]);
    expect(await sut.downgradeOptions('acme', 'video.fast', {})).toEqual([]);
    await h.putOrg('bare', null);
    expect(await sut.downgradeOptions('bare', 'video.generate', {})).toEqual([]);
  });
});
