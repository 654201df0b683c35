import { rateCardsHarness, VIDEO_RATES } from '../rate-cards.spec-harness';

describe('AddRateOverridesUseCase', () => {
  async function setUp() {
    const h = rateCardsHarness();
    const card = await h.createRateCard.execute(h.platform, { name: 'Standard', rates: VIDEO_RATES });
    const org = await h.putOrg('acme', card.id);
    return { h, card, org, sut: h.addOverrides };
  }

  const hd = { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat' };

  it("stores an organization's price for one rate of its card, audited under the organization", async () => {
    const { h, org, sut } = await setUp();
    const { overrides } = await sut.execute(h.platform, org, [{ ...hd, unit_price: '0.15' }]);
    expect(overrides).toEqual([
      expect.objectContaining({
        id: expect.stringMatching(/^ro_/),
        org_id: org,
        unit_price: '0.15',
        starting_at: h.clock.now(),
        ending_before: null,
      }),
    ]);
    expect(await h.repository.listOverrides(org)).toEqual(overrides);
    expect(h.repository.audits.at(-1)).toMatchObject({
      orgId: org,
      environment: null,
      action: 'rate_overrides.added',
      after: { added: [expect.objectContaining({ unit_price: '0.15' })] },
    });
  });

  it('refuses an identity the card does not have, naming the item', async () => {
    const { h, org, sut } = await setUp();
    await expect(sut.execute(h.platform, org, [{ ...hd, match: { resolution: '4k' }, unit_price: '1' }])).rejects.toMatchObject({
      code: 'validation_failed',
      extensions: { errors: [{ field: 'overrides[0]', message: expect.stringContaining('no rate') }] },
    });
    expect(await h.repository.listOverrides(org)).toEqual([]);
  });

  it('refuses an organization without a card (no_rate_card), another organization (unknown_org), an organization key', async () => {
    const { h, org, sut } = await setUp();
    const bare = await h.putOrg('bare', null);
    await expect(sut.execute(h.platform, bare, [{ ...hd, unit_price: '1' }])).rejects.toMatchObject({ code: 'no_rate_card' });
    await expect(sut.execute(h.orgKey(org), bare, [{ ...hd, unit_price: '1' }])).rejects.toMatchObject({ code: 'unknown_org' });
    await expect(sut.execute(h.orgKey(org), org, [{ ...hd, unit_price: '1' }])).rejects.toMatchObject({ code: 'platform_key_required' });
  });
});
