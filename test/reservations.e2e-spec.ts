import { EntityManager } from '@mikro-orm/postgresql';
import Redis from 'ioredis';
import { createTestApp, eventually, TestApp, TestClient, testRedisUrl, uniqueId, waitFor } from '@tollgate/testing';

/** An organization with credits, one project with a limit, and an admission key. */
async function fund(
  api: TestClient,
  {
    credits = 100_000_000,
    projectLimit,
    userLimit,
    extra = {},
  }: { credits?: number; projectLimit?: number; userLimit?: number; extra?: Record<string, unknown> } = {},
) {
  const org = await api.createOrg(uniqueId('r'), extra);
  if (credits > 0) await api.post(`/v1/orgs/${org}/credits`, { amount: credits, reason: 'top-up' });
  await api.put(`/v1/orgs/${org}/projects/p`, {
    limit: projectLimit ?? null,
    period: 'month',
    default_user_limit: userLimit ?? null,
    default_user_period: 'day',
  });
  const key = (await api.createOrgKey(org, ['admission', 'read'])).secret;
  return { org, key };
}

describe('reservations: reserve, commit, release, extend, expire (Postgres + Redis)', () => {
  let t: TestApp;
  let api: TestClient;

  beforeAll(async () => {
    t = await createTestApp();
    api = t.client;
  });
  afterAll(() => t.close());

  const reserve = (key: string, org: string, amount: number, extra: Record<string, unknown> = {}, idem = uniqueId('k')) =>
    api.post('/v1/reservations', { org_id: org, project_id: 'p', user_id: 'u', amount, ...extra }, { key, idempotencyKey: idem });

  it('holds an amount at every level and shows it as reserved in the usage tree', async () => {
    const { org, key } = await fund(api, { credits: 10_000_000, projectLimit: 4_000_000, userLimit: 1_000_000 });
    const res = await reserve(key, org, 600_000, { metadata: { request_id: 'gen-1' }, ttl_seconds: 60 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^res_/),
      status: 'held',
      decision: 'admitted',
      org_id: org,
      project_id: 'p',
      user_id: 'u',
      amount: 600_000,
      remaining: { org: 9_400_000, project: 3_400_000, user: 400_000 },
      metadata: { request_id: 'gen-1' },
    });
    expect(new Date(res.body.expires_at).getTime()).toBeGreaterThan(Date.now() + 50_000);
    const tree = (await api.get(`/v1/orgs/${org}/usage`)).body;
    expect(tree.org).toMatchObject({ reserved: 600_000, committed: 0, available: 9_400_000 });
    expect(tree.projects[0]).toMatchObject({ reserved: 600_000, available: 3_400_000 });
    // A user with no configuration of their own shows under the project, on its default cap.
    expect(tree.projects[0].users).toEqual([
      expect.objectContaining({ id: 'u', limit: 1_000_000, reserved: 600_000, available: 400_000, period: 'day' }),
    ]);
    expect((await api.get(`/v1/reservations/${res.body.id}`, { key })).body).toMatchObject({ status: 'held', amount: 600_000 });
  });

  it('refuses with 402 naming the first short level from the top, and holds nothing', async () => {
    const { org, key } = await fund(api, { credits: 5_000_000, projectLimit: 2_000_000, userLimit: 1_000_000 });
    const cases: [number, string, number][] = [
      [6_000_000, 'org', 5_000_000],
      [3_000_000, 'project', 2_000_000],
      [1_500_000, 'user', 1_000_000],
    ];
    for (const [amount, level, available] of cases) {
      const res = await reserve(key, org, amount);
      expect(res.status).toBe(402);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'insufficient_budget', level, required: amount, available });
    }
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.reserved).toBe(0);
  });

  it('needs an Idempotency-Key, and replays the first answer for a retry (held once)', async () => {
    const { org, key } = await fund(api, { credits: 1_000_000 });
    const missing = await api.post('/v1/reservations', { org_id: org, project_id: 'p', user_id: 'u', amount: 1 }, { key });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('idempotency_key_required');
    const idem = uniqueId('k');
    const first = await reserve(key, org, 700_000, {}, idem);
    const again = await reserve(key, org, 700_000, {}, idem);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.reserved).toBe(700_000);
    const other = await reserve(key, org, 5, {}, idem);
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_key_reused');
  });

  it('commits part of a hold: charges the usage, releases the rest, reports the variance', async () => {
    const { org, key } = await fund(api, { credits: 10_000_000 });
    const held = (await reserve(key, org, 2_400_000)).body;
    // The relative variance histogram: this commit is -0.25 (1.8 of 2.4 credits).
    const buckets = async () => {
      const text = (await api.get('/metrics', { key: null })).text;
      const at = (le: string) =>
        Number(new RegExp(`tollgate_commit_relative_variance_bucket\\{le="${le}",product="raw"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { upToQuarterLess: at('-0.25'), belowQuarterLess: at('-0.5') };
    };
    const before = await buckets();
    const res = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 1_800_000 }, { key, idempotencyKey: uniqueId('c') });
    expect(res.status).toBe(200);
    const after = await buckets();
    expect({
      upToQuarterLess: after.upToQuarterLess - before.upToQuarterLess,
      belowQuarterLess: after.belowQuarterLess - before.belowQuarterLess,
    }).toEqual({
      upToQuarterLess: 1,
      belowQuarterLess: 0,
    });
    expect(res.body).toMatchObject({
      status: 'committed',
      amount_committed: 1_800_000,
      amount_released: 600_000,
      variance: -600_000,
      overage: false,
      event_ids: [expect.stringMatching(/^evt_/)],
    });
    const tree = (await api.get(`/v1/orgs/${org}/usage`)).body;
    expect(tree.org).toMatchObject({ committed: 1_800_000, reserved: 0, available: 8_200_000 });
    expect((await api.get(`/v1/reservations/${held.id}`, { key })).body).toMatchObject({
      status: 'committed',
      amount_committed: 1_800_000,
      amount_released: 600_000,
    });
  });

  it('bills a commit once: a retry replays, another key gets 409 reservation_not_held', async () => {
    const { org, key } = await fund(api, { credits: 10_000_000 });
    const held = (await reserve(key, org, 1_000_000)).body;
    const idem = uniqueId('c');
    const first = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 900_000 }, { key, idempotencyKey: idem });
    const retry = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 900_000 }, { key, idempotencyKey: idem });
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(first.body);
    const other = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 900_000 }, { key, idempotencyKey: uniqueId('c') });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('reservation_not_held');
    expect((await api.post(`/v1/reservations/${held.id}/commit`, { amount: 1 }, { key, idempotencyKey: idem })).body.code).toBe(
      'idempotency_key_reused',
    );
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.committed).toBe(900_000);
  });

  it('applies the overage policy above the hold', async () => {
    const cases: [Record<string, unknown>, number][] = [
      [{ overage_policy: 'cap_at_hold' }, 1_000_000],
      [{ overage_policy: 'allow' }, 1_500_000],
      [{ overage_policy: 'allow_up_to_percent', overage_percent: 20 }, 1_200_000],
    ];
    for (const [policy, charged] of cases) {
      const { org, key } = await fund(api, { credits: 10_000_000, extra: policy });
      const held = (await reserve(key, org, 1_000_000)).body;
      const res = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 1_500_000 }, { key, idempotencyKey: uniqueId('c') });
      expect({ policy, charged: res.body.amount_committed }).toEqual({ policy, charged });
      expect(res.body).toMatchObject({ overage: charged > 1_000_000, amount_released: 0, variance: 500_000 });
    }
  });

  it('releases the whole hold; a released hold cannot be committed', async () => {
    const { org, key } = await fund(api, { credits: 3_000_000 });
    const held = (await reserve(key, org, 3_000_000)).body;
    const rel = await api.post(
      `/v1/reservations/${held.id}/release`,
      { reason: 'provider_failed' },
      { key, idempotencyKey: uniqueId('r') },
    );
    expect(rel.status).toBe(200);
    expect(rel.body).toMatchObject({ status: 'released', amount_released: 3_000_000, reason: 'provider_failed' });
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 0, available: 3_000_000 });
    const commit = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 1 }, { key, idempotencyKey: uniqueId('c') });
    expect(commit.status).toBe(409);
    expect(commit.body).toMatchObject({ code: 'reservation_not_held', status: 409, reservation_status: 'released' });
  });

  it('expires a hold nobody ended, within a few seconds, and counts it in a metric', async () => {
    const { org, key } = await fund(api, { credits: 1_000_000 });
    const held = (await reserve(key, org, 1_000_000, { ttl_seconds: 1 })).body;
    expect((await reserve(key, org, 1)).status).toBe(402);
    await waitFor(async () => (await api.get(`/v1/orgs/${org}/usage`)).body.org.reserved === 0, 6_000);
    expect((await api.get(`/v1/reservations/${held.id}`, { key })).body.status).toBe('expired');
    expect((await reserve(key, org, 1_000_000)).status).toBe(201);
    // The tree stops counting it at its expiry; the sweeper records it within a few seconds.
    await waitFor(async () => /tollgate_holds_expired_total [1-9]/.test((await api.get('/metrics', { key: null })).text), 6_000);
    const commit = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 1 }, { key, idempotencyKey: uniqueId('c') });
    expect(commit.body.code).toBe('reservation_not_held');
  });

  it('extends a held reservation, never past the maximum ttl', async () => {
    const { org, key } = await fund(api, { credits: 1_000_000 });
    const held = (await reserve(key, org, 1_000, { ttl_seconds: 2 })).body;
    const ext = await api.post(`/v1/reservations/${held.id}/extend`, { ttl_seconds: 600 }, { key });
    expect(ext.status).toBe(200);
    expect(new Date(ext.body.expires_at).getTime()).toBeGreaterThan(Date.now() + 590_000);
    const tooLong = await api.post(`/v1/reservations/${held.id}/extend`, { ttl_seconds: 901 }, { key });
    expect(tooLong.status).toBe(422);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await api.get(`/v1/reservations/${held.id}`, { key })).body.status).toBe('held');
  });

  it('refuses suspended and past-due organizations with 403', async () => {
    const { org, key } = await fund(api, { credits: 1_000_000 });
    await api.patch(`/v1/orgs/${org}`, { status: 'suspended' });
    expect((await reserve(key, org, 1)).body.code).toBe('org_suspended');
    await api.patch(`/v1/orgs/${org}`, { status: 'past_due' });
    expect((await reserve(key, org, 1)).body.code).toBe('org_past_due');
    await api.patch(`/v1/orgs/${org}`, { status: 'active' });
    expect((await reserve(key, org, 1)).status).toBe(201);
  });

  it('lets a past-due organization under the grace policy spend only its grace amount from the moment it became past due', async () => {
    const { org, key } = await fund(api, { credits: 1_000_000 });
    const spent = (await reserve(key, org, 200_000)).body;
    await api.post(`/v1/reservations/${spent.id}/commit`, { amount: 200_000 }, { key, idempotencyKey: uniqueId('c') });
    const open = (await reserve(key, org, 100_000)).body;
    await api.patch(`/v1/orgs/${org}`, { status: 'past_due', settings: { past_due_policy: 'grace', past_due_grace_amount: 300_000 } });
    const orgLimit = async () => (await api.get(`/v1/orgs/${org}/usage`)).body.org.limit;
    // 200,000 committed when it became past due + 300,000 grace; the open hold counts against it.
    await eventually(async () => expect(await orgLimit()).toBe(500_000));
    expect((await reserve(key, org, 200_001)).body).toMatchObject({ code: 'insufficient_budget', level: 'org', available: 200_000 });
    expect((await reserve(key, org, 200_000)).status).toBe(201);
    await api.post(`/v1/reservations/${open.id}/commit`, { amount: 100_000 }, { key, idempotencyKey: uniqueId('c') });
    expect((await reserve(key, org, 1)).body).toMatchObject({ code: 'insufficient_budget', level: 'org', available: 0 });
    // Paid: the whole remaining pool is back (1,000,000 − 300,000 committed − 200,000 held).
    await api.patch(`/v1/orgs/${org}`, { status: 'active' });
    await eventually(async () => expect(await orgLimit()).toBe(1_000_000));
    expect((await reserve(key, org, 500_001)).body).toMatchObject({ code: 'insufficient_budget', available: 500_000 });
    expect((await reserve(key, org, 500_000)).status).toBe(201);
  });

  it('lets a platform key commit by id alone (the id names its organization); a forged id is a 404', async () => {
    const { org } = await fund(api, { credits: 1_000_000 });
    const held = (
      await api.post('/v1/reservations', { org_id: org, project_id: 'p', user_id: 'u', amount: 5_000 }, { idempotencyKey: uniqueId('k') })
    ).body;
    expect(held.id).toMatch(new RegExp(`^res_[A-Za-z0-9_-]{24}\\.${org}$`));
    const committed = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 4_000 }, { idempotencyKey: uniqueId('c') });
    expect(committed.status).toBe(200);
    expect(committed.body).toMatchObject({ org_id: org, amount_committed: 4_000, amount_released: 1_000 });
    const other = await fund(api, { credits: 1_000_000 });
    for (const forged of [held.id.replace(`.${org}`, `.${other.org}`), held.id.replace(`.${org}`, '.no-such-org')]) {
      const res = await api.post(`/v1/reservations/${forged}/commit`, { amount: 1 }, { idempotencyKey: uniqueId('c') });
      expect({ forged, status: res.status, code: res.body.code }).toEqual({ forged, status: 404, code: 'unknown_reservation' });
    }
    expect((await api.get(`/v1/orgs/${other.org}/usage`)).body.org).toMatchObject({ committed: 0, reserved: 0 });
  });

  it('hides other organizations: reserving for one, or reading its reservations, is a 404', async () => {
    const a = await fund(api, { credits: 1_000_000 });
    const b = await fund(api, { credits: 1_000_000 });
    expect((await reserve(a.key, b.org, 1)).body.code).toBe('unknown_org');
    const heldB = (await reserve(b.key, b.org, 1)).body;
    for (const [method, url, body] of [
      ['GET', `/v1/reservations/${heldB.id}`],
      ['POST', `/v1/reservations/${heldB.id}/commit`, { amount: 1 }],
      ['POST', `/v1/reservations/${heldB.id}/release`, {}],
      ['POST', `/v1/reservations/${heldB.id}/extend`, { ttl_seconds: 10 }],
    ] as [string, string, unknown?][]) {
      const res = await api.request(method, url, { key: a.key, body, idempotencyKey: uniqueId('x') });
      expect({ url, status: res.status, code: res.body.code }).toEqual({ url, status: 404, code: 'unknown_reservation' });
    }
    expect((await api.get(`/v1/reservations/${heldB.id}`, { key: b.key })).body.status).toBe('held');
  });

  it('lists reservations newest first by cursor, filtered by status', async () => {
    const { org, key } = await fund(api, { credits: 10_000_000 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await reserve(key, org, 1_000 + i)).body.id);
    await api.post(`/v1/reservations/${ids[0]}/release`, {}, { key, idempotencyKey: uniqueId('r') });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await api.get(`/v1/reservations?org_id=${org}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key });
      seen.push(...res.body.data.map((r: any) => r.id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const held = await api.get(`/v1/reservations?org_id=${org}&status=held`, { key });
    expect(held.body.data.map((r: any) => r.id).sort()).toEqual(ids.slice(1).sort());
  });

  it('forfeits only the unused part of an expiring grant: spend drawn from it is not counted twice', async () => {
    const { org, key } = await fund(api, { credits: 0 });
    await api.post(`/v1/orgs/${org}/credits`, { amount: 5_000_000, reason: 'paid' });
    await api.post(`/v1/orgs/${org}/credits`, {
      amount: 1_000_000,
      reason: 'promo',
      expires_at: new Date(Date.now() + 2_000).toISOString(),
    });
    const held = (await reserve(key, org, 600_000)).body;
    await api.post(`/v1/reservations/${held.id}/commit`, { amount: 600_000 }, { key, idempotencyKey: uniqueId('c') });
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.available).toBe(5_400_000);
    // The 600,000 came out of the promo (it expires first); its other 400,000 is forfeited.
    await waitFor(async () => (await api.get(`/v1/orgs/${org}/usage`)).body.org.available === 5_000_000, 6_000);
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ committed: 600_000, limit: 5_600_000 });
  });

  describe('batch', () => {
    const batch = (key: string, org: string, policy: string, amounts: number[], idem = uniqueId('b')) =>
      api.post(
        '/v1/reservations/batch',
        { org_id: org, project_id: 'p', user_id: 'u', policy, items: amounts.map((amount) => ({ amount })) },
        { key, idempotencyKey: idem },
      );

    it('all_or_nothing holds every item or none', async () => {
      const { org, key } = await fund(api, { credits: 1_000_000 });
      const ok = await batch(key, org, 'all_or_nothing', [300_000, 300_000, 300_000]);
      expect(ok.status).toBe(201);
      expect(ok.body).toMatchObject({ policy: 'all_or_nothing', held: 3, refused: 0 });
      expect(ok.body.items.map((i: any) => i.decision)).toEqual(['admitted', 'admitted', 'admitted']);
      const none = await batch(key, org, 'all_or_nothing', [50_000, 60_000, 10_000]);
      expect(none.status).toBe(402);
      expect(none.body).toMatchObject({ code: 'insufficient_budget', level: 'org', index: 1, required: 60_000, available: 50_000 });
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.reserved).toBe(900_000);
    });

    it('max_fundable holds the items that fit, in order, and refuses the rest', async () => {
      const { org, key } = await fund(api, { credits: 1_000_000 });
      const res = await batch(key, org, 'max_fundable', [400_000, 400_000, 400_000, 200_000]);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ held: 3, refused: 1 });
      expect(res.body.items.map((i: any) => i.decision)).toEqual(['admitted', 'admitted', 'refused', 'admitted']);
      expect(res.body.items[2].error).toMatchObject({ code: 'insufficient_budget', level: 'org', available: 200_000 });
      const id = res.body.items[0].reservation.id;
      expect((await api.get(`/v1/reservations/${id}`, { key })).body).toMatchObject({ status: 'held', amount: 400_000 });
      const replay = await api.post(
        '/v1/reservations/batch',
        {
          org_id: org,
          project_id: 'p',
          user_id: 'u',
          policy: 'max_fundable',
          items: [400_000, 400_000, 400_000, 200_000].map((amount) => ({ amount })),
        },
        { key, idempotencyKey: uniqueId('b') },
      );
      expect(replay.status).toBe(402);
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.reserved).toBe(1_000_000);
    });

    it('refuses more than 100 items, and bad items, with 422', async () => {
      const { org, key } = await fund(api, { credits: 1_000_000 });
      expect(
        (
          await batch(
            key,
            org,
            'all_or_nothing',
            Array.from({ length: 101 }, () => 1),
          )
        ).status,
      ).toBe(422);
      const bad = await batch(key, org, 'all_or_nothing', [1, 1.5]);
      expect(bad.status).toBe(422);
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'items[1].amount' })]);
    });

    it('replays a retried batch without holding again', async () => {
      const { org, key } = await fund(api, { credits: 1_000_000 });
      const idem = uniqueId('b');
      const first = await batch(key, org, 'all_or_nothing', [100_000, 100_000], idem);
      const again = await batch(key, org, 'all_or_nothing', [100_000, 100_000], idem);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.reserved).toBe(200_000);
    });
  });

  it('holds exactly K of 500 concurrent reserves against a pool that funds K, at each level', async () => {
    for (const level of ['org', 'project', 'user'] as const) {
      const K = 37;
      const unit = 10_000;
      const { org, key } = await fund(api, {
        credits: level === 'org' ? K * unit : 1_000_000_000,
        projectLimit: level === 'project' ? K * unit : undefined,
        userLimit: level === 'user' ? K * unit : undefined,
      });
      const results = await Promise.all(Array.from({ length: 500 }, () => reserve(key, org, unit)));
      const statuses = results.map((r) => r.status);
      expect({ level, held: statuses.filter((s) => s === 201).length, refused: statuses.filter((s) => s === 402).length }).toEqual({
        level,
        held: K,
        refused: 500 - K,
      });
      const tree = (await api.get(`/v1/orgs/${org}/usage`)).body;
      expect(tree.org.reserved).toBe(K * unit);
      const rows = await api.get(`/v1/reservations?org_id=${org}&status=held&limit=200`, { key });
      expect(rows.body.data).toHaveLength(K);
    }
  });
});

describe('reservations: durability and rebuild', () => {
  it('rebuilds holds and committed spend from Postgres after Redis lost the organization', async () => {
    const t = await createTestApp();
    const redis = new Redis(testRedisUrl());
    try {
      const api = t.client;
      const { org, key } = await fund(api, { credits: 10_000_000, projectLimit: 5_000_000, userLimit: 2_000_000 });
      const reserveOne = (amount: number) =>
        api.post('/v1/reservations', { org_id: org, project_id: 'p', user_id: 'u', amount }, { key, idempotencyKey: uniqueId('k') });
      const a = (await reserveOne(1_000_000)).body;
      await reserveOne(500_000);
      await api.post(`/v1/reservations/${a.id}/commit`, { amount: 700_000 }, { key, idempotencyKey: uniqueId('c') });
      const before = (await api.get(`/v1/orgs/${org}/usage`)).body;
      expect(before.org).toMatchObject({ committed: 700_000, reserved: 500_000 });
      await redis.del(...(await redis.keys(`*{${org}:live}*`)));
      const after = (await api.get(`/v1/orgs/${org}/usage`)).body;
      expect(after).toEqual(before);
      // And admission decides on the rebuilt figures: the user has 2,000,000 − 700,000 − 500,000 left.
      expect((await reserveOne(800_001)).body).toMatchObject({ code: 'insufficient_budget', level: 'user', available: 800_000 });
    } finally {
      redis.disconnect();
      await t.close();
    }
  });

  it('rebuilds a hold kept alive by an extension past its first expiry, and not an expired one', async () => {
    const t = await createTestApp();
    const redis = new Redis(testRedisUrl());
    try {
      const api = t.client;
      const { org, key } = await fund(api, { credits: 10_000_000 });
      const reserveOne = (amount: number) =>
        api.post(
          '/v1/reservations',
          { org_id: org, project_id: 'p', user_id: 'u', amount, ttl_seconds: 1 },
          { key, idempotencyKey: uniqueId('k') },
        );
      const extended = (await reserveOne(300_000)).body;
      await reserveOne(200_000);
      expect((await api.post(`/v1/reservations/${extended.id}/extend`, { ttl_seconds: 600 }, { key })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1_300));
      await redis.del(...(await redis.keys(`*{${org}:live}*`)));
      // Rebuilt: only the extended hold is active (the other one's first expiry has passed).
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 300_000 });
      expect(
        (await api.post(`/v1/reservations/${extended.id}/commit`, { amount: 100_000 }, { key, idempotencyKey: uniqueId('c') })).status,
      ).toBe(200);
    } finally {
      redis.disconnect();
      await t.close();
    }
  });

  it('rebuilds an organization with 25,000 capped users in pages: every cap holds after Redis lost it', async () => {
    const t = await createTestApp();
    const redis = new Redis(testRedisUrl());
    try {
      const api = t.client;
      const { org, key } = await fund(api, { credits: 10_000_000_000, userLimit: 50 });
      // Users with caps of their own (user i: 1,000 + i), written as an import would.
      await t.app
        .get(EntityManager)
        .getConnection()
        .execute(
          `insert into project_users (org_id, environment, project_id, id, limit_amount, period, created_at, updated_at)
         select ?, 'live', 'p', 'u' || lpad(i::text, 5, '0'), 1000 + i, 'month', now(), now() from generate_series(0, 24999) as i`,
          [org],
        );
      const reserveFor = (user: string, amount: number) =>
        api.post('/v1/reservations', { org_id: org, project_id: 'p', user_id: user, amount }, { key, idempotencyKey: uniqueId('k') });
      expect((await reserveFor('first', 1)).status).toBe(201);
      await redis.del(...(await redis.keys(`*{${org}:live}*`)));
      // First page, a page boundary, the last page, and a user with no row (the project default).
      for (const [user, cap] of [
        ['u00000', 1_000],
        ['u10000', 11_000],
        ['u24999', 25_999],
        ['nobody', 50],
      ] as const) {
        expect({ user, body: (await reserveFor(user, cap + 1)).body }).toMatchObject({
          user,
          body: { code: 'insufficient_budget', level: 'user', available: cap },
        });
        expect({ user, status: (await reserveFor(user, cap)).status }).toEqual({ user, status: 201 });
      }
    } finally {
      redis.disconnect();
      await t.close();
    }
  });

  it('undoes the hold and answers 503 when Postgres cannot record it; a commit it cannot record is undone too', async () => {
    const t = await createTestApp();
    const em = t.app.get(EntityManager);
    try {
      const api = t.client;
      const { org, key } = await fund(api, { credits: 1_000_000 });
      const held = (
        await api.post(
          '/v1/reservations',
          { org_id: org, project_id: 'p', user_id: 'u', amount: 300_000 },
          { key, idempotencyKey: uniqueId('k') },
        )
      ).body;
      // Postgres refuses this organization's writes from now on (a trigger, so other suites are untouched).
      await em.getConnection().execute(`
        create or replace function pg_fail_${org.replace(/-/g, '_')}() returns trigger language plpgsql as $$
        begin if new.org_id = '${org}' then raise exception 'injected failure'; end if; return new; end $$`);
      for (const table of ['reservations', 'reservation_outcomes']) {
        await em
          .getConnection()
          .execute(
            `create trigger fail_${org.replace(/-/g, '_')} before insert on ${table} for each row execute function pg_fail_${org.replace(/-/g, '_')}()`,
          );
      }
      const refused = await api.post(
        '/v1/reservations',
        { org_id: org, project_id: 'p', user_id: 'u', amount: 100_000 },
        { key, idempotencyKey: uniqueId('k') },
      );
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('store_unavailable');
      const commit = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 300_000 }, { key, idempotencyKey: uniqueId('c') });
      expect(commit.status).toBe(503);
      // Nothing changed: the first hold is still held, nothing committed, the refused one never held.
      const tree = (await api.get(`/v1/orgs/${org}/usage`)).body;
      expect(tree.org).toMatchObject({ reserved: 300_000, committed: 0 });
      for (const table of ['reservations', 'reservation_outcomes']) {
        await em.getConnection().execute(`drop trigger fail_${org.replace(/-/g, '_')} on ${table}`);
      }
      const retried = await api.post(`/v1/reservations/${held.id}/commit`, { amount: 300_000 }, { key, idempotencyKey: uniqueId('c') });
      expect(retried.status).toBe(200);
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 0, committed: 300_000 });
    } finally {
      await t.close();
    }
  });

  it('answers the same after FLUSHDB of its Redis as before (every organization rebuilt)', async () => {
    const t = await createTestApp({ env: { REDIS_URL: testRedisUrl().replace(/\/\d*$/, '') + '/7' } });
    const redis = new Redis(testRedisUrl().replace(/\/\d*$/, '') + '/7');
    try {
      const api = t.client;
      const orgs = [
        await fund(api, { credits: 2_000_000, projectLimit: 1_000_000 }),
        await fund(api, { credits: 3_000_000, userLimit: 500_000 }),
      ];
      for (const { org, key } of orgs) {
        const a = (
          await api.post(
            '/v1/reservations',
            { org_id: org, project_id: 'p', user_id: 'u', amount: 200_000 },
            { key, idempotencyKey: uniqueId('k') },
          )
        ).body;
        await api.post(
          '/v1/reservations',
          { org_id: org, project_id: 'p', user_id: 'u', amount: 100_000 },
          { key, idempotencyKey: uniqueId('k') },
        );
        await api.post(`/v1/reservations/${a.id}/commit`, { amount: 150_000 }, { key, idempotencyKey: uniqueId('c') });
      }
      const before = await Promise.all(orgs.map(({ org }) => api.get(`/v1/orgs/${org}/usage`)));
      await redis.flushdb();
      const after = await Promise.all(orgs.map(({ org }) => api.get(`/v1/orgs/${org}/usage`)));
      expect(after.map((r) => r.body)).toEqual(before.map((r) => r.body));
    } finally {
      redis.disconnect();
      await t.close();
    }
  });

  it('answers 503 and admits nothing when Redis is down (fail closed)', async () => {
    const t = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const org = await t.client.createOrg(uniqueId('r-down'));
      const res = await t.client.post(
        '/v1/reservations',
        { org_id: org, project_id: 'p', user_id: 'u', amount: 1 },
        { idempotencyKey: uniqueId('k') },
      );
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('store_unavailable');
      expect(res.headers['retry-after']).toBe('1');
    } finally {
      await t.close();
    }
  });
});
