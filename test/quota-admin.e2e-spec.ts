import { EntityManager } from '@mikro-orm/postgresql';
import Redis from 'ioredis';
import { createTestApp, TestApp, TestClient, testRedisUrl, uniqueId, waitFor } from '@tollgate/testing';

describe('quota administration: projects, users, credits, the usage tree (Postgres + Redis)', () => {
  let t: TestApp;
  let api: TestClient;
  let redis: Redis;

  beforeAll(async () => {
    t = await createTestApp();
    api = t.client;
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  it('creates a project with 201, updates it with 200, keeping fields left out', async () => {
    const org = await api.createOrg(uniqueId('q'));
    const created = await api.put(`/v1/orgs/${org}/projects/p-video`, {
      name: 'Video',
      limit: 10_000_000,
      period: 'month',
      default_user_limit: 2_000_000,
      default_user_period: 'day',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: 'p-video',
      name: 'Video',
      limit: 10_000_000,
      period: 'month',
      default_user_limit: 2_000_000,
      default_user_period: 'day',
      environment: 'live',
    });
    const updated = await api.put(`/v1/orgs/${org}/projects/p-video`, { limit: 20_000_000 });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Video', limit: 20_000_000, period: 'month', default_user_limit: 2_000_000 });
    const log = await api.get(`/v1/audit-log?org_id=${org}`);
    expect(log.body.data.find((e: any) => e.action === 'project.updated')).toMatchObject({
      before: { limit: 10_000_000 },
      after: { limit: 20_000_000 },
    });
  });

  it('refuses bad limits, periods and ids with 422 and changes nothing', async () => {
    const org = await api.createOrg(uniqueId('q'));
    for (const body of [{ limit: 1.5 }, { limit: -1 }, { limit: '100' }, { period: 'year' }, { default_user_limit: 2 ** 53 }]) {
      const res = await api.put(`/v1/orgs/${org}/projects/p1`, body);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await api.put(`/v1/orgs/${org}/projects/bad%20id`, {})).status).toBe(422);
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.projects).toEqual([]);
  });

  it('grants credits (the organization pool) and lists them newest first', async () => {
    const org = await api.createOrg(uniqueId('q'));
    const a = await api.post(`/v1/orgs/${org}/credits`, { amount: 5_000_000, reason: 'top-up', source: 'stripe:pi_1' });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ amount: 5_000_000, reason: 'top-up', source: 'stripe:pi_1', expires_at: null, environment: 'live' });
    await api.post(`/v1/orgs/${org}/credits`, { amount: 1_000_000, reason: 'promo' });
    const list = await api.get(`/v1/orgs/${org}/credits?limit=1`);
    expect(list.body.data.map((g: any) => g.reason)).toEqual(['promo']);
    const next = await api.get(`/v1/orgs/${org}/credits?limit=1&cursor=${list.body.next_cursor}`);
    expect(next.body.data.map((g: any) => g.reason)).toEqual(['top-up']);
    const usage = await api.get(`/v1/orgs/${org}/usage`);
    expect(usage.body.org).toMatchObject({
      id: org,
      limit: 6_000_000,
      committed: 0,
      reserved: 0,
      available: 6_000_000,
      period_start: null,
      period_end: null,
    });
    for (const body of [
      { amount: 0, reason: 'x' },
      { amount: 1.5, reason: 'x' },
      { amount: 1 },
      { amount: 1, reason: 'x', expires_at: 'tomorrow' },
    ]) {
      expect((await api.post(`/v1/orgs/${org}/credits`, body)).status).toBe(422);
    }
    expect((await api.post(`/v1/orgs/${org}/credits`, { amount: 1, reason: 'x', expires_at: '2001-01-01T00:00:00Z' })).status).toBe(422);
  });

  it('adds the overdraft to the pool, and follows a change of it', async () => {
    const org = await api.createOrg(uniqueId('q'), { settings: { overdraft_limit: 500_000 } });
    await api.post(`/v1/orgs/${org}/credits`, { amount: 1_000_000, reason: 'top-up' });
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.limit).toBe(1_500_000);
    await api.put(`/v1/orgs/${org}/settings`, { overdraft_limit: 0 });
    await waitFor(async () => (await api.get(`/v1/orgs/${org}/usage`)).body.org.limit === 1_000_000);
  });

  it('stops counting expired credit within a couple of seconds, with no call', async () => {
    const org = await api.createOrg(uniqueId('q'));
    await api.post(`/v1/orgs/${org}/credits`, { amount: 3_000_000, reason: 'permanent' });
    await api.post(`/v1/orgs/${org}/credits`, {
      amount: 2_000_000,
      reason: 'promo',
      expires_at: new Date(Date.now() + 1_500).toISOString(),
    });
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org.limit).toBe(5_000_000);
    await waitFor(async () => (await api.get(`/v1/orgs/${org}/usage`)).body.org.limit === 3_000_000, 6_000);
  });

  it('returns the tree with each level, users under their project, and the current period window', async () => {
    const org = await api.createOrg(uniqueId('q'));
    await api.post(`/v1/orgs/${org}/credits`, { amount: 100_000_000, reason: 'top-up' });
    await api.put(`/v1/orgs/${org}/projects/p-img`, { limit: 10_000_000, period: 'day' });
    const user = await api.put(`/v1/orgs/${org}/projects/p-img/users/u-1`, { limit: 1_000_000, period: 'month' });
    expect(user.status).toBe(201);
    // A user on a project not declared yet: the project is created with no limit.
    expect((await api.put(`/v1/orgs/${org}/projects/p-new/users/u-2`, { limit: 5 })).status).toBe(201);
    const tree = (await api.get(`/v1/orgs/${org}/usage?period=current`)).body;
    const now = new Date();
    const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    expect(tree.projects.map((p: any) => p.id)).toEqual(['p-img', 'p-new']);
    expect(tree.projects[0]).toMatchObject({
      id: 'p-img',
      limit: 10_000_000,
      committed: 0,
      reserved: 0,
      available: 10_000_000,
      period_start: dayStart.toISOString(),
      period_end: new Date(dayStart.getTime() + 86_400_000).toISOString(),
      users: [expect.objectContaining({ id: 'u-1', limit: 1_000_000, available: 1_000_000, period: 'month' })],
    });
    expect(tree.projects[1]).toMatchObject({
      id: 'p-new',
      limit: null,
      available: null,
      users: [expect.objectContaining({ id: 'u-2', limit: 5 })],
    });
  });

  it('pages the users of the tree (every page has every project), configured and seen alike, in code-point order', async () => {
    const org = await api.createOrg(uniqueId('q'));
    await api.post(`/v1/orgs/${org}/credits`, { amount: 9_000_000, reason: 'top-up' });
    await api.put(`/v1/orgs/${org}/projects/a`, { limit: 1_000_000 });
    await api.put(`/v1/orgs/${org}/projects/b`, {});
    for (const user of ['B', 'a', 'c']) await api.put(`/v1/orgs/${org}/projects/a/users/${user}`, { limit: 10 });
    // Seen only through reservations: a user of a configured project and one of an unconfigured project.
    for (const [project, user] of [
      ['a', 'b'],
      ['z', 'u'],
    ]) {
      const res = await api.post(
        '/v1/reservations',
        { org_id: org, project_id: project, user_id: user, amount: 1 },
        { idempotencyKey: uniqueId('k') },
      );
      expect(res.status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: any = await api.get(`/v1/orgs/${org}/usage?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.projects.map((p: any) => p.id)).toEqual(['a', 'b', 'z']);
      for (const p of res.body.projects) for (const u of p.users) seen.push(`${p.id}/${u.id}`);
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(['a/B', 'a/a', 'a/b', 'a/c', 'z/u']);
    expect(pages).toBe(3);
    const whole = (await api.get(`/v1/orgs/${org}/usage`)).body;
    expect(whole.next_cursor).toBeNull();
    expect(whole.projects.flatMap((p: any) => p.users.map((u: any) => `${p.id}/${u.id}`))).toEqual(seen);
    expect((await api.get(`/v1/orgs/${org}/usage?cursor=bm9wZQ`)).body.code).toBe('validation_failed');
  });

  it('keeps live and test apart, and hides other organizations (404)', async () => {
    const org = await api.createOrg(uniqueId('q'));
    const other = await api.createOrg(uniqueId('q'));
    await api.post(`/v1/orgs/${org}/credits`, { amount: 7_000_000, reason: 'live money' });
    expect((await api.get(`/v1/orgs/${org}/usage`, { environment: 'test' })).body.org.limit).toBe(0);
    const key = (await api.createOrgKey(org, ['quota:admin', 'read'])).secret;
    for (const [method, url, body] of [
      ['GET', `/v1/orgs/${other}/usage`],
      ['GET', `/v1/orgs/${other}/credits`],
      ['POST', `/v1/orgs/${other}/credits`, { amount: 1, reason: 'x' }],
      ['PUT', `/v1/orgs/${other}/projects/p`, { limit: 1 }],
      ['PUT', `/v1/orgs/${other}/projects/p/users/u`, { limit: 1 }],
    ] as [string, string, unknown?][]) {
      const res = await api.request(method, url, { key, body });
      expect({ url, status: res.status, code: res.body.code }).toEqual({ url, status: 404, code: 'unknown_org' });
    }
  });

  it('rebuilds an organization from Postgres when Redis lost it: the same tree before and after', async () => {
    const org = await api.createOrg(uniqueId('q'));
    await api.post(`/v1/orgs/${org}/credits`, { amount: 9_000_000, reason: 'top-up' });
    await api.put(`/v1/orgs/${org}/projects/p`, {
      limit: 4_000_000,
      period: 'week',
      default_user_limit: 1_000_000,
      default_user_period: 'day',
    });
    await api.put(`/v1/orgs/${org}/projects/p/users/u`, { limit: 300_000 });
    const before = (await api.get(`/v1/orgs/${org}/usage`)).body;
    // Every key of the scope shares its hash tag: deleting them is FLUSHALL for this organization.
    const keys = await redis.keys(`*{${org}:live}*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
    const after = (await api.get(`/v1/orgs/${org}/usage`)).body;
    expect(after).toEqual(before);
  });
});

describe('quota administration when Redis is down', () => {
  it('answers 503 store_unavailable and leaves Postgres unchanged (fail closed)', async () => {
    const t = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const org = await t.client.createOrg(uniqueId('q-down'));
      const res = await t.client.put(`/v1/orgs/${org}/projects/p`, { limit: 5 });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('store_unavailable');
      const rows = await t.app.get(EntityManager).getConnection().execute('select 1 from projects where org_id = ?', [org]);
      expect(rows).toHaveLength(0);
      const grant = await t.client.post(`/v1/orgs/${org}/credits`, { amount: 5, reason: 'x' });
      expect(grant.status).toBe(503);
      expect(await t.app.get(EntityManager).getConnection().execute('select 1 from credit_grants where org_id = ?', [org])).toHaveLength(0);
    } finally {
      await t.close();
    }
  });
});
