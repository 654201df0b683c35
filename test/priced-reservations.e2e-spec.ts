import Redis from 'ioredis';
import { createTestApp, TestApp, TestClient, testRedisUrl, uniqueId } from '@tollgate/testing';

/** Video per second (1080p dearer), images graduated, a fast video product sold per started 5 s; a ladder 1080p → 720p → fast. */
const CARD = {
  name: 'Priced reservations',
  rates: [
    { product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.2' },
    { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.3' },
    {
      product: 'image.generate',
      dimension: 'images',
      model: 'graduated',
      tiers: [
        { up_to: 10, unit_price: '0.05' },
        { up_to: null, unit_price: '0.04' },
      ],
    },
    { product: 'video.fast', dimension: 'video_seconds', model: 'package', unit_price: '0.5', package_size: 5 },
  ],
  ladders: [{ product: 'video.generate', ladder: [{ resolution: '1080p' }, { resolution: '720p' }, { product: 'video.fast' }] }],
};

describe('priced reservations, quotes and downgrades (Postgres + Redis)', () => {
  let t: TestApp;
  let api: TestClient;
  let cardId: string;

  beforeAll(async () => {
    t = await createTestApp();
    api = t.client;
    const card = await api.post('/v1/rate-cards', CARD);
    expect(card.status).toBe(201);
    cardId = card.body.id;
  });
  afterAll(() => t.close());

  async function org({ credits = 100_000_000, projectLimit = null as number | null } = {}) {
    const id = await api.createOrg(uniqueId('pr'), { rate_card_id: cardId });
    await api.post(`/v1/orgs/${id}/credits`, { amount: credits, reason: 'top-up' });
    await api.put(`/v1/orgs/${id}/projects/p`, { limit: projectLimit, period: 'month' });
    const key = (await api.createOrgKey(id, ['admission', 'read'])).secret;
    return { id, key };
  }

  const video = (orgId: string, seconds: number, resolution: string, extra: Record<string, unknown> = {}) => ({
    org_id: orgId,
    project_id: 'p',
    user_id: 'u',
    product: 'video.generate',
    usage: { video_seconds: seconds },
    dimensions: { resolution },
    ...extra,
  });

  it('prices a reserve from the rate card, holds the estimate, and prices the commit at the hold’s rates', async () => {
    const { id, key } = await org();
    const held = await api.post('/v1/reservations', video(id, 8, '1080p'), { key, idempotencyKey: uniqueId('k') });
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({
      status: 'held',
      decision: 'admitted',
      product: 'video.generate',
      dimensions: { resolution: '1080p' },
      amount: 2_400_000,
      price: { rate_card_id: cardId, lines: [{ dimension: 'video_seconds', quantity: '8', unit_price: '0.3', amount: 2_400_000 }] },
    });
    // A cheaper override after the hold does not change what the hold is charged at.
    await api.post(`/v1/orgs/${id}/rate-overrides`, {
      overrides: [
        { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.01' },
      ],
    });
    const committed = await api.post(
      `/v1/reservations/${held.body.id}/commit`,
      { usage: { video_seconds: 6 }, provider: { name: 'runway', request_id: 'r-1' } },
      { key, idempotencyKey: uniqueId('c') },
    );
    expect(committed.status).toBe(200);
    expect(committed.body).toMatchObject({
      amount_committed: 1_800_000,
      amount_released: 600_000,
      variance: -600_000,
      price: { lines: [{ dimension: 'video_seconds', quantity: '6', unit_price: '0.3', amount: 1_800_000 }] },
    });
    expect((await api.get(`/v1/orgs/${id}/usage`)).body.org).toMatchObject({ committed: 1_800_000, reserved: 0 });
    // The next hold is priced with the override.
    const next = await api.post('/v1/reservations', video(id, 8, '1080p'), { key, idempotencyKey: uniqueId('k') });
    expect(next.body.amount).toBe(80_000);
  });

  it('prices a commit that reports other dimensions at the rates the card had for them when the hold was made', async () => {
    const { id, key } = await org();
    const held = await api.post('/v1/reservations', video(id, 8, '1080p'), { key, idempotencyKey: uniqueId('k') });
    expect(held.body.amount).toBe(2_400_000);
    // An override after the hold changes nothing for it, whatever the commit reports.
    await api.post(`/v1/orgs/${id}/rate-overrides`, {
      overrides: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.01' }],
    });
    // The provider ran it at 720p: 0.2 a second then.
    const committed = await api.post(
      `/v1/reservations/${held.body.id}/commit`,
      { usage: { video_seconds: 8 }, dimensions: { resolution: '720p' } },
      { key, idempotencyKey: uniqueId('c') },
    );
    expect(committed.body).toMatchObject({
      amount_committed: 1_600_000,
      amount_released: 800_000,
      dimensions: { resolution: '720p' },
      price: { lines: [{ unit_price: '0.2', amount: 1_600_000 }] },
    });
    const bad = await api.post(
      `/v1/reservations/${held.body.id}/commit`,
      { usage: { video_seconds: 8 }, dimensions: { resolution: 5 } },
      { key, idempotencyKey: uniqueId('c') },
    );
    expect([bad.status, bad.body.errors?.[0]?.field]).toEqual([422, 'dimensions.resolution']);
  });

  it('rounds estimates up and charged lines half-even, in micro-credits', async () => {
    const { id, key } = await org();
    // 0.2 credits per second × 0.0000025 s = 0.5 micro-credits: the estimate holds 1, the charge rounds to even (0).
    const held = await api.post('/v1/reservations', video(id, '0.0000025' as unknown as number, '720p'), {
      key,
      idempotencyKey: uniqueId('k'),
    });
    expect(held.body.amount).toBe(1);
    const committed = await api.post(
      `/v1/reservations/${held.body.id}/commit`,
      { usage: { video_seconds: '0.0000075' } },
      { key, idempotencyKey: uniqueId('c') },
    );
    // 1.5 micro-credits → 2 (half to even); above the hold of 1, within the default cap_at_hold policy: 1.
    expect(committed.body).toMatchObject({ amount_requested: 2, amount_committed: 1, overage: false });
  });

  it('refuses what the card cannot price with a clear code, and holds nothing', async () => {
    const { id, key } = await org();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ ...video(id, 8, '1080p'), product: 'music.generate' }, 404, 'unknown_product'],
      [{ ...video(id, 8, '1080p'), usage: { images: 2 } }, 422, 'unpriceable_usage'],
      [{ ...video(id, 8, '1080p'), usage: { video_seconds: -1 } }, 422, 'validation_failed'],
      [{ ...video(id, 8, '1080p'), amount: 5 }, 422, 'validation_failed'],
      [{ org_id: id, project_id: 'p', user_id: 'u', usage: { video_seconds: 1 } }, 422, 'validation_failed'],
    ];
    for (const [body, status, code] of cases) {
      const res = await api.post('/v1/reservations', body, { key, idempotencyKey: uniqueId('k') });
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status, code });
    }
    const bare = await api.createOrg(uniqueId('pr'));
    await api.post(`/v1/orgs/${bare}/credits`, { amount: 1_000_000, reason: 'x' });
    const noCard = await api.post('/v1/reservations', video(bare, 1, '720p'), { idempotencyKey: uniqueId('k') });
    expect(noCard.body.code).toBe('no_rate_card');
    expect((await api.get(`/v1/orgs/${id}/usage`)).body.org).toMatchObject({ reserved: 0 });
    expect((await api.get(`/v1/reservations?org_id=${id}`, { key })).body.data).toEqual([]);
  });

  it('downgrades down the ladder in the same decision when allowed, and says what was requested', async () => {
    // The project can spend 1,700,000: 8 s at 1080p (2,400,000) does not fit, 720p (1,600,000) does.
    const { id, key } = await org({ projectLimit: 1_700_000 });
    const res = await api.post('/v1/reservations', video(id, 8, '1080p', { allow_downgrade: true }), {
      key,
      idempotencyKey: uniqueId('k'),
    });
    expect(res.status).toBe(201);
    expect((await api.get(`/v1/reservations/${res.body.id}`, { key })).body).toMatchObject({
      status: 'held',
      product: 'video.generate',
      dimensions: { resolution: '720p' },
      amount: 1_600_000,
      price: { rate_card_id: cardId, lines: [{ unit_price: '0.2' }] },
      requested: { dimensions: { resolution: '1080p' }, amount: 2_400_000 },
    });
    expect(res.body).toMatchObject({
      decision: 'downgraded',
      product: 'video.generate',
      dimensions: { resolution: '720p' },
      amount: 1_600_000,
      requested: { product: 'video.generate', dimensions: { resolution: '1080p' }, amount: 2_400_000 },
      price: { lines: [{ unit_price: '0.2', amount: 1_600_000 }] },
    });
    // Only 100,000 left: 720p no longer fits, nor does video.fast (2 packages: 1,000,000).
    const refused = await api.post('/v1/reservations', video(id, 8, '1080p', { allow_downgrade: true }), {
      key,
      idempotencyKey: uniqueId('k'),
    });
    expect(refused.status).toBe(402);
    expect(refused.body).toMatchObject({
      code: 'insufficient_budget',
      level: 'project',
      required: 2_400_000,
      available: 100_000,
      downgrade_options: [],
    });
    expect((await api.get(`/v1/orgs/${id}/usage`)).body.projects[0]).toMatchObject({ reserved: 1_600_000 });
  });

  it('lists in a 402 the downgrade options that would fit now, without holding one when not allowed', async () => {
    const { id, key } = await org({ projectLimit: 1_700_000 });
    const res = await api.post('/v1/reservations', video(id, 8, '1080p'), { key, idempotencyKey: uniqueId('k') });
    expect(res.status).toBe(402);
    expect(res.body.downgrade_options).toEqual([
      {
        product: 'video.generate',
        dimensions: { resolution: '720p' },
        amount: 1_600_000,
        price: expect.objectContaining({ rate_card_id: cardId }),
      },
      {
        product: 'video.fast',
        dimensions: { resolution: '1080p' },
        amount: 1_000_000,
        price: expect.objectContaining({ rate_card_id: cardId }),
      },
    ]);
    expect((await api.get(`/v1/orgs/${id}/usage`)).body.org).toMatchObject({ reserved: 0 });
  });

  it('quotes without holding: the price, the decision now, the limiting level and the options', async () => {
    const { id, key } = await org({ projectLimit: 1_700_000 });
    const quote = await api.post('/v1/quotes', video(id, 8, '1080p', { allow_downgrade: true }), { key });
    expect(quote.status).toBe(200);
    expect(quote.body).toMatchObject({
      amount: 2_400_000,
      price: { lines: [{ unit_price: '0.3' }] },
      admitted: true,
      decision: 'downgraded',
      limiting_level: 'project',
      available: { project: 1_700_000, user: null },
      downgrade_to: { dimensions: { resolution: '720p' }, amount: 1_600_000 },
    });
    expect(quote.body.downgrade_options).toHaveLength(2);
    const fits = await api.post('/v1/quotes', video(id, 1, '1080p'), { key });
    expect(fits.body).toMatchObject({ amount: 300_000, admitted: true, decision: 'admitted', limiting_level: null, downgrade_options: [] });
    expect((await api.get(`/v1/orgs/${id}/usage`)).body.org).toMatchObject({ reserved: 0 });
  });

  it('holds priced batch items, each at its own price', async () => {
    const { id, key } = await org();
    const res = await api.post(
      '/v1/reservations/batch',
      {
        org_id: id,
        project_id: 'p',
        user_id: 'u',
        policy: 'all_or_nothing',
        items: [{ product: 'image.generate', usage: { images: 12 } }, { amount: 7 }],
      },
      { key, idempotencyKey: uniqueId('b') },
    );
    expect(res.status).toBe(201);
    // 10 images at 0.05 and 2 at 0.04.
    expect(res.body.items.map((i: any) => i.reservation.amount)).toEqual([580_000, 7]);
    expect(res.body.items[0].reservation.price.lines).toHaveLength(2);
  });

  describe('tiers counted over the period', () => {
    // 1,000 tokens a month at 0.001 credits, every token after at 0.0005.
    const PERIOD_CARD = {
      name: 'Period tiers',
      rates: [
        {
          product: 'chat',
          dimension: 'tokens',
          model: 'graduated',
          tier_scope: 'period',
          tiers: [
            { up_to: 1_000, unit_price: '0.001' },
            { up_to: null, unit_price: '0.0005' },
          ],
        },
      ],
    };
    let periodCard: string;
    beforeAll(async () => {
      periodCard = (await api.post('/v1/rate-cards', PERIOD_CARD)).body.id;
    });

    async function chatOrg(client: TestClient = api) {
      const id = await client.createOrg(uniqueId('pt'), { rate_card_id: periodCard });
      await client.post(`/v1/orgs/${id}/credits`, { amount: 100_000_000, reason: 'top-up' });
      return id;
    }
    const chat = (client: TestClient, orgId: string, tokens: number) =>
      client.post(
        '/v1/reservations',
        { org_id: orgId, project_id: 'p', user_id: 'u', product: 'chat', usage: { tokens } },
        { idempotencyKey: uniqueId('k') },
      );
    const commit = (client: TestClient, id: string, tokens: number) =>
      client.post(`/v1/reservations/${id}/commit`, { usage: { tokens } }, { idempotencyKey: uniqueId('c') });

    it('prices the tokens after the first 1,000 of the month at the lower tier, at reserve and at commit', async () => {
      const org = await chatOrg();
      const first = await chat(api, org, 800);
      expect(first.body.amount).toBe(800_000);
      expect((await commit(api, first.body.id, 800)).body.amount_committed).toBe(800_000);
      // 200 tokens left in the first tier, 200 in the second.
      const second = await chat(api, org, 400);
      expect(second.body.amount).toBe(300_000);
      const committed = await commit(api, second.body.id, 400);
      expect(committed.body).toMatchObject({
        amount_committed: 300_000,
        price: {
          lines: [
            { tier: 0, quantity: '200', amount: 200_000 },
            { tier: 1, quantity: '200', amount: 100_000 },
          ],
        },
      });
    });

    it('never prices two concurrent commits from the same point, across two instances', async () => {
      const other = await createTestApp();
      try {
        const org = await chatOrg();
        const holds = [];
        for (let i = 0; i < 6; i++) holds.push((await chat(i % 2 ? other.client : api, org, 300)).body.id);
        const results = await Promise.all(holds.map((id, i) => commit(i % 2 ? other.client : api, id, 300)));
        expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
        // 1,800 tokens in the month: 1,000 at 0.001 and 800 at 0.0005, whatever the order.
        const total = results.reduce((sum, r) => sum + r.body.amount_committed, 0);
        expect(total).toBe(1_400_000);
        // Every hold was estimated from what this organization had used (never another's): none fell short of its charge.
        for (const r of results) expect(r.body.amount_committed).toBe(r.body.amount_requested);
        expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.committed).toBe(1_400_000);
      } finally {
        await other.close();
      }
    });

    it('rebuilds the month’s quantities from the usage ledger when Redis lost the organization', async () => {
      const org = await chatOrg();
      const first = await chat(api, org, 900);
      await commit(api, first.body.id, 900);
      const second = (await chat(api, org, 200)).body;
      const redis = new Redis(testRedisUrl());
      try {
        await redis.del(...(await redis.keys(`*{${org}:live}*`)));
      } finally {
        redis.disconnect();
      }
      // A fresh instance knows nothing of the month: the store, rebuilt from Postgres, does.
      const fresh = await createTestApp();
      try {
        const res = await commit(fresh.client, second.id, 200);
        expect(res.body).toMatchObject({ amount_committed: 150_000 });
      } finally {
        await fresh.close();
      }
    });
  });
});
