import { createTestApp, TestApp, TestClient, uniqueId } from '@tollgate/testing';

/** `npm start` with no configuration: PGlite through the ordinary Postgres driver, in-process stores. */
describe('embedded mode (PGlite, no Redis)', () => {
  let t: TestApp;
  let api: TestClient;

  beforeAll(async () => {
    t = await createTestApp({ embedded: true });
    api = t.client;
  }, 120_000);
  afterAll(() => t.close());

  it('is ready with Postgres checked and no Redis check', async () => {
    const res = await api.get('/health/ready', { key: null });
    expect(res.status).toBe(200);
    expect(res.body.details).toEqual({ postgres: { status: 'up' }, billing_outbox: { status: 'up', lag_seconds: 0, backends: {} } });
  });

  it('runs the tenancy flow end to end: organization, key, isolation, settings, audit', async () => {
    const a = await api.createOrg(uniqueId('emb'));
    const b = await api.createOrg(uniqueId('emb'));
    const key = (await api.createOrgKey(a, ['quota:admin', 'read'])).secret;
    expect((await api.get(`/v1/orgs/${a}`, { key })).status).toBe(200);
    expect((await api.get(`/v1/orgs/${b}`, { key })).body.code).toBe('unknown_org');
    expect((await api.put(`/v1/orgs/${a}/settings`, { auto_create: false }, { key })).body.auto_create).toBe(false);
    const log = await api.get(`/v1/audit-log?org_id=${a}`);
    expect(log.body.data.map((e: any) => e.action)).toEqual(
      expect.arrayContaining(['organization.created', 'api_key.created', 'settings.updated']),
    );
  });

  it('keeps the hierarchy in the in-process store: credits, projects and the usage tree', async () => {
    const org = await api.createOrg(uniqueId('emb-q'));
    expect((await api.post(`/v1/orgs/${org}/credits`, { amount: 2_000_000, reason: 'top-up' })).status).toBe(201);
    expect((await api.put(`/v1/orgs/${org}/projects/p`, { limit: 500_000, period: 'day' })).status).toBe(201);
    const tree = (await api.get(`/v1/orgs/${org}/usage`)).body;
    expect(tree.org).toMatchObject({ limit: 2_000_000, available: 2_000_000 });
    expect(tree.projects).toEqual([expect.objectContaining({ id: 'p', limit: 500_000, available: 500_000, period: 'day' })]);
  });

  it('admits, commits and refuses on the in-process store, and survives its loss (rebuild from PGlite)', async () => {
    const org = await api.createOrg(uniqueId('emb-r'));
    await api.post(`/v1/orgs/${org}/credits`, { amount: 1_000_000, reason: 'top-up' });
    const held = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: 'p', user_id: 'u', amount: 700_000 },
      { idempotencyKey: uniqueId('k') },
    );
    expect(held.status).toBe(201);
    const commit = await api.post(`/v1/reservations/${held.body.id}/commit`, { amount: 400_000 }, { idempotencyKey: uniqueId('c') });
    expect(commit.body).toMatchObject({ amount_committed: 400_000, amount_released: 300_000 });
    const refused = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: 'p', user_id: 'u', amount: 600_001 },
      { idempotencyKey: uniqueId('k') },
    );
    expect(refused.body).toMatchObject({ code: 'insufficient_budget', level: 'org', available: 600_000 });
    const before = (await api.get(`/v1/orgs/${org}/usage`)).body;
    const { QuotaStore } = await import('@tollgate/quota');
    await t.app.get(QuotaStore).unload({ orgId: org, environment: 'live' });
    expect((await api.get(`/v1/orgs/${org}/usage`)).body).toEqual(before);
  });

  it('replays idempotent POSTs and refuses a reused key', async () => {
    const id = uniqueId('emb');
    const first = await api.post('/v1/orgs', { id, name: 'E' }, { idempotencyKey: id });
    const again = await api.post('/v1/orgs', { id, name: 'E' }, { idempotencyKey: id });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await api.post('/v1/orgs', { id, name: 'F' }, { idempotencyKey: id })).body.code).toBe('idempotency_key_reused');
  });

  it('keeps concurrent writes consistent on the single PGlite session', async () => {
    const ids = Array.from({ length: 20 }, () => uniqueId('emb-c'));
    const results = await Promise.all(ids.map((id) => api.post('/v1/orgs', { id, name: id })));
    expect(results.map((r) => r.status)).toEqual(ids.map(() => 201));
    const listed = await api.get('/v1/orgs?limit=200');
    expect(listed.body.data.map((o: any) => o.id)).toEqual(expect.arrayContaining(ids));
  });
});
