import {
  createTestApp,
  eventually,
  TcpProxy,
  TestApp,
  TestClient,
  TestResponse,
  testDatabaseUrl,
  testRedisUrl,
  uniqueId,
} from '@tollgate/testing';

const CARD = {
  name: 'Outages',
  rates: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.2' }],
};

interface Call {
  family: string;
  method: string;
  url: string;
  body?: unknown;
  idempotencyKey?: string;
  key?: string;
}

/**
 * Postgres and Redis reached through TCP proxies this suite owns: cutting a proxy is an
 * outage for this app only (the servers stay up for every other suite).
 */
describe('outages: every route answers 503 store_unavailable, never 500, when Postgres or Redis is down', () => {
  let pg: TcpProxy;
  let redis: TcpProxy;
  let t: TestApp;
  let api: TestClient;
  let org: string;
  let orgKey: { id: string; secret: string };
  let cardId: string;
  const held: string[] = [];

  beforeAll(async () => {
    const pgUrl = new URL(testDatabaseUrl());
    const redisUrl = new URL(testRedisUrl());
    pg = await TcpProxy.start(pgUrl.hostname, Number(pgUrl.port || 5432));
    redis = await TcpProxy.start(redisUrl.hostname, Number(redisUrl.port || 6379));
    t = await createTestApp({
      env: {
        DATABASE_URL: TcpProxy.rewrite(testDatabaseUrl(), pg.port),
        REDIS_URL: TcpProxy.rewrite(testRedisUrl(), redis.port),
        // The keys the suite uses stay cached: the routes' own work meets the outage, not only auth.
        AUTH_KEY_CACHE_MS: '300000',
      },
    });
    api = t.client;
    cardId = (await api.post('/v1/rate-cards', CARD)).body.id;
    org = await api.createOrg(uniqueId('out'), { rate_card_id: cardId });
    await api.post(`/v1/orgs/${org}/credits`, { amount: 100_000_000, reason: 'top-up' });
    await api.put(`/v1/orgs/${org}/projects/p`, { limit: 50_000_000 });
    orgKey = await api.createOrgKey(org, ['admission', 'read', 'quota:admin']);
    for (let i = 0; i < 6; i++) {
      held.push(
        (
          await api.post(
            '/v1/reservations',
            { org_id: org, project_id: 'p', user_id: 'u', amount: 1_000 },
            { idempotencyKey: uniqueId('k') },
          )
        ).body.id,
      );
    }
    // Warm the key caches.
    await api.get(`/v1/orgs/${org}`);
    await api.get(`/v1/orgs/${org}`, { key: orgKey.secret });
    // And the organization cache, so the export's own query meets the outage.
    expect((await api.get(`/v1/orgs/${org}/ledger/export?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z`)).status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await pg?.close();
    await redis?.close();
  });

  /** One request of every /v1 route (reservations: one held hold each for commit, release, extend). */
  function everyRoute(holds: { commit: string; release: string; extend: string }): Call[] {
    const holder = { org_id: org, project_id: 'p', user_id: 'u' };
    return [
      { family: 'tenancy', method: 'POST', url: '/v1/orgs', body: { id: uniqueId('o'), name: 'x' } },
      { family: 'tenancy', method: 'GET', url: '/v1/orgs' },
      { family: 'tenancy', method: 'GET', url: `/v1/orgs/${org}` },
      { family: 'tenancy', method: 'PATCH', url: `/v1/orgs/${org}`, body: { name: 'renamed' } },
      { family: 'tenancy', method: 'GET', url: `/v1/orgs/${org}/settings` },
      { family: 'tenancy', method: 'PUT', url: `/v1/orgs/${org}/settings`, body: { max_ttl_seconds: 1200 } },
      {
        family: 'tenancy',
        method: 'POST',
        url: `/v1/orgs/${org}/keys`,
        body: { scopes: ['read'], environment: 'live' },
        idempotencyKey: uniqueId('k'),
      },
      { family: 'tenancy', method: 'GET', url: `/v1/orgs/${org}/keys` },
      { family: 'tenancy', method: 'DELETE', url: `/v1/orgs/${org}/keys/key_doesnotexist` },
      { family: 'tenancy', method: 'POST', url: '/v1/platform-keys', body: { scopes: ['read'] } },
      { family: 'tenancy', method: 'DELETE', url: '/v1/platform-keys/key_doesnotexist' },
      { family: 'tenancy', method: 'GET', url: `/v1/audit-log?org_id=${org}` },
      { family: 'tenancy', method: 'GET', url: `/v1/orgs/${org}`, key: 'tg_never_seen_key_0123456789abcdef' },
      { family: 'quota', method: 'PUT', url: `/v1/orgs/${org}/projects/p2`, body: { limit: 5 } },
      { family: 'quota', method: 'PUT', url: `/v1/orgs/${org}/projects/p/users/u2`, body: { limit: 5 } },
      { family: 'quota', method: 'POST', url: `/v1/orgs/${org}/credits`, body: { amount: 5, reason: 'x' }, idempotencyKey: uniqueId('k') },
      { family: 'quota', method: 'GET', url: `/v1/orgs/${org}/credits` },
      { family: 'quota', method: 'GET', url: `/v1/orgs/${org}/usage` },
      { family: 'rate-cards', method: 'POST', url: '/v1/rate-cards', body: CARD },
      { family: 'rate-cards', method: 'GET', url: '/v1/rate-cards' },
      { family: 'rate-cards', method: 'GET', url: `/v1/rate-cards/${cardId}` },
      {
        family: 'rate-cards',
        method: 'POST',
        url: `/v1/rate-cards/${cardId}/rates`,
        body: { rates: [{ ...CARD.rates[0], product: uniqueId('p') }] },
      },
      {
        family: 'rate-cards',
        method: 'PUT',
        url: `/v1/rate-cards/${cardId}/ladders/video.generate`,
        body: { ladder: [{ product: 'video.generate' }] },
      },
      { family: 'rate-cards', method: 'DELETE', url: `/v1/rate-cards/${cardId}/ladders/video.generate` },
      {
        family: 'rate-cards',
        method: 'POST',
        url: `/v1/orgs/${org}/rate-overrides`,
        body: { overrides: [{ ...CARD.rates[0], unit_price: '0.1' }] },
      },
      { family: 'rate-cards', method: 'GET', url: `/v1/orgs/${org}/rate-overrides` },
      {
        family: 'reservations',
        method: 'POST',
        url: '/v1/reservations',
        body: { ...holder, amount: 1_000 },
        idempotencyKey: uniqueId('k'),
      },
      {
        family: 'reservations',
        method: 'POST',
        url: '/v1/reservations',
        body: { ...holder, amount: 1_000 },
        idempotencyKey: uniqueId('k'),
        key: orgKey.secret,
      },
      {
        family: 'reservations',
        method: 'POST',
        url: '/v1/reservations/batch',
        body: { ...holder, policy: 'all_or_nothing', items: [{ amount: 1 }] },
        idempotencyKey: uniqueId('b'),
      },
      {
        family: 'reservations',
        method: 'POST',
        url: '/v1/quotes',
        body: { ...holder, product: 'video.generate', usage: { video_seconds: 1 } },
      },
      { family: 'reservations', method: 'GET', url: `/v1/reservations?org_id=${org}` },
      { family: 'reservations', method: 'GET', url: `/v1/reservations/${holds.commit}` },
      {
        family: 'reservations',
        method: 'POST',
        url: `/v1/reservations/${holds.commit}/commit`,
        body: { amount: 500 },
        idempotencyKey: uniqueId('c'),
      },
      { family: 'reservations', method: 'POST', url: `/v1/reservations/${holds.release}/release`, body: {}, idempotencyKey: uniqueId('r') },
      { family: 'reservations', method: 'POST', url: `/v1/reservations/${holds.extend}/extend`, body: { ttl_seconds: 600 } },
      // The export reads its first page before answering: Postgres down is a 503, not a 200 with a broken body.
      { family: 'reconciliation', method: 'GET', url: `/v1/orgs/${org}/ledger/export?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z` },
    ];
  }

  async function send(call: Call): Promise<TestResponse> {
    return api.request(call.method, call.url, { body: call.body, idempotencyKey: call.idempotencyKey, key: call.key });
  }

  async function usageOf(): Promise<unknown> {
    return (await api.get(`/v1/orgs/${org}/usage`)).body.org;
  }

  for (const dependency of ['Postgres', 'Redis'] as const) {
    it(`${dependency} down: no route answers 500; those that need it answer 503 store_unavailable with Retry-After; nothing is lost`, async () => {
      const proxy = dependency === 'Postgres' ? pg : redis;
      const [commit, release, extend] = dependency === 'Postgres' ? held.slice(0, 3) : held.slice(3, 6);
      const calls = everyRoute({ commit, release, extend });
      const before = await usageOf();
      const outcomes: Array<{ route: string; status: number; code?: string }> = [];
      proxy.cut();
      try {
        for (const call of calls) {
          const res = await send(call);
          const route = `${call.family} ${call.method} ${call.url.split('?')[0]}`;
          outcomes.push({ route, status: res.status, code: res.body?.code });
          expect({ route, status: res.status }).not.toEqual({ route, status: 500 });
          if (res.status >= 500) {
            expect({ route, status: res.status, code: res.body?.code }).toEqual({ route, status: 503, code: 'store_unavailable' });
            expect(res.headers['content-type']).toContain('application/problem+json');
            expect(res.headers['retry-after']).toBe('1');
          }
        }
      } finally {
        proxy.restore();
      }
      if (process.env.OUTAGE_DEBUG) process.stderr.write(JSON.stringify(outcomes, null, 0).replace(/},/g, '},\n') + '\n');
      const unavailable = new Set(outcomes.filter((o) => o.status === 503).map((o) => o.route));
      // What cannot work without the dependency did not pretend to.
      const mustFail =
        dependency === 'Postgres'
          ? [
              'reservations POST /v1/reservations',
              `reservations POST /v1/reservations/${release}/release`,
              `reservations POST /v1/reservations/${commit}/commit`,
              'tenancy POST /v1/orgs',
              `quota GET /v1/orgs/${org}/usage`,
              'rate-cards POST /v1/rate-cards',
              `tenancy GET /v1/orgs/${org}`,
              `reconciliation GET /v1/orgs/${org}/ledger/export`,
            ]
          : [
              'reservations POST /v1/reservations',
              'reservations POST /v1/reservations/batch',
              `reservations POST /v1/reservations/${release}/release`,
              `reservations POST /v1/reservations/${commit}/commit`,
              `quota GET /v1/orgs/${org}/usage`,
            ];
      for (const route of mustFail) expect({ route, unavailable: unavailable.has(route) }).toEqual({ route, unavailable: true });
      if (dependency === 'Postgres') {
        // A key that is not cached cannot be checked: 503, not a 401 that would tell a client its key is bad.
        expect(outcomes.find((o) => o.route === `tenancy GET /v1/orgs/${org}` && o.status !== 200)).toMatchObject({
          status: 503,
          code: 'store_unavailable',
        });
      }

      // Back up: the same holds can be committed and released, and the money is where it was.
      await eventually(async () => expect((await api.get(`/v1/orgs/${org}/usage`)).status).toBe(200), 10_000);
      expect(await usageOf()).toEqual(before);
      expect((await api.post(`/v1/reservations/${commit}/commit`, { amount: 500 }, { idempotencyKey: uniqueId('c') })).status).toBe(200);
      expect((await api.post(`/v1/reservations/${release}/release`, {}, { idempotencyKey: uniqueId('r') })).status).toBe(200);
    });
  }

  it('Postgres down: health/ready says 503 and health/live still 200', async () => {
    pg.cut();
    try {
      expect((await api.get('/health/ready', { key: null })).status).toBe(503);
      expect((await api.get('/health/live', { key: null })).status).toBe(200);
    } finally {
      pg.restore();
    }
    await eventually(async () => expect((await api.get('/health/ready', { key: null })).status).toBe(200), 10_000);
  });
});
