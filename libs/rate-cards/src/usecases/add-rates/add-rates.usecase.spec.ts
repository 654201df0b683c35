import { rateCardsHarness, VIDEO_RATES } from '../rate-cards.spec-harness';

const HOUR = 3_600_000;

describe('AddRatesUseCase', () => {
  async function setUp() {
    const h = rateCardsHarness();
    const card = await h.createRateCard.execute(h.platform, { name: 'Standard', rates: VIDEO_RATES });
    return { h, card, sut: h.addRates };
  }

  it('adds a scheduled change: the rate in force is ended at its start, nothing else is edited, and the audit says so', async () => {
    const { h, card, sut } = await setUp();
    const start = new Date(h.clock.now().getTime() + HOUR);

    const added = await sut.execute(h.platform, card.id, [
      {
        product: 'video.generate',
        dimension: 'video_seconds',
        match: { resolution: '1080p' },
        model: 'flat',
        unit_price: '0.25',
        starting_at: start.toISOString(),
      },
    ]);

    expect(added.rates).toEqual([expect.objectContaining({ unit_price: '0.25', starting_at: start, ending_before: null })]);
    expect(added.ended).toEqual([expect.objectContaining({ id: card.rates[1].id, unit_price: '0.3', ending_before: start })]);
    const stored = (await h.repository.findCard(card.id))!;
    expect(stored.rates.slice(0, 3)).toEqual([card.rates[0], { ...card.rates[1], ending_before: start }, card.rates[2]]);
    expect(h.repository.audits.at(-1)).toMatchObject({
      action: 'rate_card.rates_added',
      before: { ended: [{ id: card.rates[1].id, ending_before: null }] },
      after: {
        added: [expect.objectContaining({ unit_price: '0.25' })],
        ended: [{ id: card.rates[1].id, ending_before: start.toISOString() }],
      },
    });
  });

  it('starts an addition now when it gives no start, and refuses a start in the past', async () => {
    const { h, card, sut } = await setUp();
    h.clock.advance(1_000);
    const now = await sut.execute(h.platform, card.id, [{ product: 'image', dimension: 'images', model: 'flat', unit_price: '0.05' }]);
    expect(now.rates[0].starting_at).toEqual(h.clock.now());

    await expect(
      sut.execute(h.platform, card.id, [
        {
          product: 'image',
          dimension: 'images',
          model: 'flat',
          unit_price: '0.04',
          starting_at: new Date(h.clock.now().getTime() - 1).toISOString(),
        },
      ]),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      extensions: { errors: [{ field: 'rates[0].starting_at', message: expect.stringContaining('past') }] },
    });
  });

  it('refuses an overlap with the existing schedule and stores nothing', async () => {
    const { h, card, sut } = await setUp();
    const start = new Date(h.clock.now().getTime() + HOUR).toISOString();
    const rate = { product: 'video.fast', dimension: 'video_seconds', model: 'flat', starting_at: start };
    await sut.execute(h.platform, card.id, [{ ...rate, unit_price: '0.09' }]);
    const before = await h.repository.findCard(card.id);

    await expect(sut.execute(h.platform, card.id, [{ ...rate, unit_price: '0.08' }])).rejects.toMatchObject({
      code: 'validation_failed',
      extensions: { errors: [{ field: 'rates[0].starting_at', message: expect.stringContaining('existing rate') }] },
    });
    expect(await h.repository.findCard(card.id)).toEqual(before);
  });

  it('answers unknown_rate_card for a missing card, platform_key_required for an organization key', async () => {
    const { h, card, sut } = await setUp();
    await expect(sut.execute(h.platform, 'rc_missing', [])).rejects.toMatchObject({ code: 'unknown_rate_card' });
    await expect(sut.execute(h.orgKey('acme'), card.id, [])).rejects.toMatchObject({ code: 'platform_key_required' });
  });
});
