import { EntityManager } from '@mikro-orm/postgresql';
import { createTestApp, TestApp, TestClient, uniqueId } from '@tollgate/testing';

describe('tenancy: organizations, keys, isolation (Postgres + Redis)', () => {
  let t: TestApp;
  let api: TestClient;

  beforeAll(async () => {
    t = await createTestApp();
    api = t.client;
  });
  afterAll(() => t.close());

  describe('authentication', () => {
    it('answers 401 problem+json without a key, with an unknown key, and with a malformed header', async () => {
      const cases: Record<string, string>[] = [{}, { authorization: 'Bearer tg_live_nope' }, { authorization: 'Basic abc' }];
      for (const headers of cases) {
        const res = await api.get('/v1/orgs', { key: null, headers });
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.headers['www-authenticate']).toBe('Bearer');
        expect(res.body).toMatchObject({ status: 401, code: 'unauthenticated', type: 'urn:tollgate:problem:unauthenticated' });
      }
    });

    it('accepts the configured platform key on every organization endpoint', async () => {
      expect((await api.get('/v1/orgs')).status).toBe(200);
    });
  });

  describe('organizations', () => {
    it('creates an organization with defaults, answers 201 with the resource, and reads it back', async () => {
      const id = uniqueId();
      const created = await api.post('/v1/orgs', { id, name: 'Acme' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id,
        name: 'Acme',
        status: 'active',
        rate_card_id: null,
        overage_policy: 'cap_at_hold',
        environment: 'live',
        settings: { auto_create: true, default_ttl_seconds: 900, max_ttl_seconds: 900, overdraft_limit: 0 },
      });
      const read = await api.get(`/v1/orgs/${id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created.body);
    });

    it('generates an id when none is given', async () => {
      const res = await api.post('/v1/orgs', { name: 'No id' });
      expect(res.status).toBe(201);
      expect(res.body.id).toMatch(/^org_[A-Za-z0-9]+$/);
    });

    it('refuses a duplicate id with 409 org_already_exists', async () => {
      const id = await api.createOrg(uniqueId());
      const res = await api.post('/v1/orgs', { id, name: 'again' });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('org_already_exists');
    });

    it('lists organizations by cursor: every organization once, in id order', async () => {
      const prefix = uniqueId('page');
      const ids = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`, `${prefix}-d`, `${prefix}-e`];
      for (const id of ids) await api.createOrg(id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: any = await api.get(`/v1/orgs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status).toBe(200);
        expect(res.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.data.map((o: { id: string }) => o.id));
        cursor = res.body.next_cursor;
        pages++;
      } while (cursor && pages < 10_000);
      expect(seen).toEqual([...seen].sort());
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => id.startsWith(prefix))).toEqual(ids);
    });

    it('rejects a cursor it did not issue with 422', async () => {
      const res = await api.get('/v1/orgs?cursor=bm90LWEtY3Vyc29y');
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'cursor' })]);
    });

    it('updates name, status and overage policy with a platform key, and audits before and after', async () => {
      const id = await api.createOrg(uniqueId());
      const res = await api.patch(`/v1/orgs/${id}`, {
        name: 'Renamed',
        status: 'suspended',
        overage_policy: 'allow_up_to_percent',
        overage_percent: 10,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ name: 'Renamed', status: 'suspended', overage_policy: 'allow_up_to_percent', overage_percent: 10 });
      const log = await api.get(`/v1/audit-log?org_id=${id}`);
      const entry = log.body.data.find((e: any) => e.action === 'organization.updated');
      expect(entry).toMatchObject({
        org_id: id,
        actor: 'platform_key:key_platform_configured',
        resource_type: 'organization',
        before: { name: `Org ${id}`, status: 'active', overage_policy: 'cap_at_hold', overage_percent: null },
        after: { name: 'Renamed', status: 'suspended', overage_policy: 'allow_up_to_percent', overage_percent: 10 },
      });
      expect(entry.request_id).toEqual(expect.any(String));
    });

    it('refuses allow_up_to_percent without a percentage, and changes nothing', async () => {
      const id = await api.createOrg(uniqueId());
      const res = await api.patch(`/v1/orgs/${id}`, { name: 'X', overage_policy: 'allow_up_to_percent' });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'overage_percent' })]);
      expect((await api.get(`/v1/orgs/${id}`)).body).toMatchObject({ name: `Org ${id}`, overage_policy: 'cap_at_hold' });
    });

    it('answers 404 unknown_org for an organization that does not exist', async () => {
      const res = await api.get(`/v1/orgs/${uniqueId('missing')}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('unknown_org');
    });
  });

  describe('organization keys and isolation', () => {
    let orgA: string;
    let orgB: string;
    let adminA: string;
    let readA: string;

    beforeAll(async () => {
      orgA = await api.createOrg(uniqueId('iso-a'));
      orgB = await api.createOrg(uniqueId('iso-b'));
      adminA = (await api.createOrgKey(orgA, ['quota:admin', 'read'])).secret;
      readA = (await api.createOrgKey(orgA, ['read'])).secret;
    });

    it('shows the secret once and stores only its hash', async () => {
      const created = await api.post(`/v1/orgs/${orgA}/keys`, { scopes: ['admission'], environment: 'test', name: 'gen' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ org_id: orgA, environment: 'test', scopes: ['admission'], kind: 'org', name: 'gen' });
      expect(created.body.secret).toMatch(/^tg_test_/);
      const listed = await api.get(`/v1/orgs/${orgA}/keys`);
      const row = listed.body.data.find((k: any) => k.id === created.body.id);
      expect(row).toBeDefined();
      expect(row.secret).toBeUndefined();
      expect(created.body.secret.startsWith(row.prefix)).toBe(true);
      const em = t.app.get(EntityManager);
      const stored = await em.getConnection().execute('select * from api_keys where id = ?', [created.body.id]);
      expect(JSON.stringify(stored)).not.toContain(created.body.secret);
      expect(stored[0].secret_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('lets an organization key read its own organization', async () => {
      const res = await api.get(`/v1/orgs/${orgA}`, { key: readA });
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(orgA);
    });

    it("answers 404, never 403, when an organization key names another organization's resources", async () => {
      const missing = uniqueId('missing');
      const calls: [string, string, unknown?][] = [
        ['GET', `/v1/orgs/${orgB}`],
        ['PATCH', `/v1/orgs/${orgB}`, { name: 'pwned' }],
        ['GET', `/v1/orgs/${orgB}/settings`],
        ['PUT', `/v1/orgs/${orgB}/settings`, { auto_create: false }],
        ['POST', `/v1/orgs/${orgB}/keys`, { scopes: ['read'], environment: 'live' }],
        ['GET', `/v1/orgs/${orgB}/keys`],
        ['GET', `/v1/audit-log?org_id=${orgB}`],
      ];
      for (const [method, url, body] of calls) {
        const theirs = await api.request(method, url, { key: adminA, body });
        const nobodys = await api.request(method, url.replace(orgB, missing), { key: adminA, body });
        expect({ method, url, status: theirs.status, code: theirs.body.code }).toEqual({ method, url, status: 404, code: 'unknown_org' });
        // Same answer as for an organization that does not exist: nothing to learn.
        expect(theirs.body.detail.replace(orgB, 'X')).toBe(nobodys.body.detail.replace(missing, 'X'));
      }
      expect((await api.get(`/v1/orgs/${orgB}`)).body.name).toBe(`Org ${orgB}`);
    });

    it('lists only its own organization for an organization key', async () => {
      const res = await api.get('/v1/orgs?limit=200', { key: readA });
      expect(res.status).toBe(200);
      expect(res.body.data.map((o: any) => o.id)).toEqual([orgA]);
      expect(res.body.next_cursor).toBeNull();
    });

    it('answers 403 insufficient_scope when the key lacks the scope', async () => {
      const res = await api.patch(`/v1/orgs/${orgA}`, { name: 'new' }, { key: readA });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'insufficient_scope', required_scopes: ['quota:admin'] });
    });

    it('keeps commercial fields for platform keys', async () => {
      for (const body of [{ status: 'active' }, { overage_policy: 'allow' }, { settings: { overdraft_limit: 5_000_000 } }]) {
        const res = await api.patch(`/v1/orgs/${orgA}`, body, { key: adminA });
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('platform_key_required');
      }
      const org = await api.get(`/v1/orgs/${orgA}`);
      expect(org.body).toMatchObject({ status: 'active', overage_policy: 'cap_at_hold', settings: { overdraft_limit: 0 } });
    });

    it('refuses to create organizations with an organization key', async () => {
      const res = await api.post('/v1/orgs', { name: 'sneaky' }, { key: adminA });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('platform_key_required');
    });

    it('lets an organization key grant only scopes it holds, in its own environment', async () => {
      const escalate = await api.post(`/v1/orgs/${orgA}/keys`, { scopes: ['billing:admin'], environment: 'live' }, { key: adminA });
      expect(escalate.status).toBe(403);
      expect(escalate.body.code).toBe('scope_not_grantable');
      const otherEnv = await api.post(`/v1/orgs/${orgA}/keys`, { scopes: ['read'], environment: 'test' }, { key: adminA });
      expect(otherEnv.status).toBe(403);
      expect(otherEnv.body.code).toBe('environment_not_allowed');
      const ok = await api.post(`/v1/orgs/${orgA}/keys`, { scopes: ['read'], environment: 'live' }, { key: adminA });
      expect(ok.status).toBe(201);
    });

    it('revokes a key: 204, then the key answers 401 and the revocation is audited', async () => {
      const key = await api.createOrgKey(orgA, ['read']);
      expect((await api.get(`/v1/orgs/${orgA}`, { key: key.secret })).status).toBe(200);
      const del = await api.delete(`/v1/orgs/${orgA}/keys/${key.id}`);
      expect(del.status).toBe(204);
      expect((await api.get(`/v1/orgs/${orgA}`, { key: key.secret })).status).toBe(401);
      expect((await api.delete(`/v1/orgs/${orgA}/keys/${key.id}`)).body.code).toBe('unknown_key');
      const log = await api.get(`/v1/audit-log?org_id=${orgA}`);
      expect(log.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'api_key.revoked', resource_id: key.id })]));
    });

    it("cannot revoke another organization's key", async () => {
      const keyB = await api.createOrgKey(orgB, ['read']);
      const res = await api.delete(`/v1/orgs/${orgA}/keys/${keyB.id}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('unknown_key');
      expect((await api.get(`/v1/orgs/${orgB}`, { key: keyB.secret })).status).toBe(200);
    });
  });

  describe('environments', () => {
    it('keeps live and test settings apart', async () => {
      const id = await api.createOrg(uniqueId('env'));
      const testKey = (await api.createOrgKey(id, ['quota:admin', 'read'], 'test')).secret;
      const put = await api.put(`/v1/orgs/${id}/settings`, { auto_create: false, default_ttl_seconds: 60 }, { key: testKey });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ auto_create: false, default_ttl_seconds: 60 });
      expect((await api.get(`/v1/orgs/${id}/settings`, { environment: 'test' })).body.auto_create).toBe(false);
      expect((await api.get(`/v1/orgs/${id}/settings`, { environment: 'live' })).body.auto_create).toBe(true);
      expect((await api.get(`/v1/orgs/${id}`, { key: testKey })).body.environment).toBe('test');
    });

    it('refuses an organization key that claims another environment, and a bad X-Environment', async () => {
      const id = await api.createOrg(uniqueId('env'));
      const liveKey = (await api.createOrgKey(id, ['read'], 'live')).secret;
      const wrongEnv = await api.get(`/v1/orgs/${id}`, { key: liveKey, environment: 'test' });
      expect(wrongEnv.status).toBe(403);
      expect(wrongEnv.body.code).toBe('environment_not_allowed');
      const bad = await api.get(`/v1/orgs/${id}`, { headers: { 'x-environment': 'staging' } });
      expect(bad.status).toBe(422);
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'X-Environment' })]);
    });
  });

  describe('settings', () => {
    it('validates the whole document on write and changes nothing when it is invalid', async () => {
      const id = await api.createOrg(uniqueId('set'));
      const bad = await api.put(`/v1/orgs/${id}/settings`, { default_ttl_seconds: 1200 });
      expect(bad.status).toBe(422);
      expect(bad.body.errors).toEqual([expect.objectContaining({ field: 'default_ttl_seconds' })]);
      const typed = await api.put(`/v1/orgs/${id}/settings`, {
        overdraft_limit: 1.5,
        auto_create: 'yes',
        budget_alert_thresholds: [90, 80],
      });
      expect(typed.status).toBe(422);
      expect(typed.body.errors.map((e: any) => e.field).sort()).toEqual(['auto_create', 'overdraft_limit']);
      const order = await api.put(`/v1/orgs/${id}/settings`, { budget_alert_thresholds: [90, 80] });
      expect(order.status).toBe(422);
      expect((await api.get(`/v1/orgs/${id}/settings`)).body).toMatchObject({
        default_ttl_seconds: 900,
        overdraft_limit: 0,
        budget_alert_thresholds: [80, 100],
      });
    });

    it('never lets two concurrent writers break a rule across fields together', async () => {
      for (let round = 0; round < 5; round++) {
        const id = await api.createOrg(uniqueId('race'), { settings: { default_ttl_seconds: 600, max_ttl_seconds: 900 } });
        // Each is valid alone; together default 900 > max 700.
        const [a, b] = await Promise.all([
          api.put(`/v1/orgs/${id}/settings`, { default_ttl_seconds: 900 }),
          api.put(`/v1/orgs/${id}/settings`, { max_ttl_seconds: 700 }),
        ]);
        expect([a.status, b.status].sort()).toEqual([200, 422]);
        const final = (await api.get(`/v1/orgs/${id}/settings`)).body;
        expect(final.default_ttl_seconds).toBeLessThanOrEqual(final.max_ttl_seconds);
      }
    });

    it('serves a write at once (the cache is invalidated) and audits before and after', async () => {
      const id = await api.createOrg(uniqueId('set'));
      expect((await api.get(`/v1/orgs/${id}/settings`)).body.max_ttl_seconds).toBe(900);
      const put = await api.put(`/v1/orgs/${id}/settings`, { max_ttl_seconds: 3600, overdraft_limit: 2_000_000 });
      expect(put.status).toBe(200);
      expect((await api.get(`/v1/orgs/${id}/settings`)).body).toMatchObject({ max_ttl_seconds: 3600, overdraft_limit: 2_000_000 });
      const log = await api.get(`/v1/audit-log?org_id=${id}`);
      const entry = log.body.data.find((e: any) => e.action === 'settings.updated');
      expect(entry).toMatchObject({
        environment: 'live',
        before: { max_ttl_seconds: 900, overdraft_limit: 0 },
        after: { max_ttl_seconds: 3600, overdraft_limit: 2_000_000 },
      });
    });
  });

  describe('audit log', () => {
    it('pages newest first and shows an organization key only its own organization', async () => {
      const id = await api.createOrg(uniqueId('aud'));
      for (let i = 0; i < 3; i++) await api.patch(`/v1/orgs/${id}`, { name: `name ${i}` });
      const key = (await api.createOrgKey(id, ['read'])).secret;
      const names: string[] = [];
      let cursor: string | null = null;
      do {
        const res: any = await api.get(`/v1/audit-log?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key });
        expect(res.status).toBe(200);
        for (const e of res.body.data) {
          expect(e.org_id).toBe(id);
          if (e.action === 'organization.updated') names.push(e.after.name);
        }
        cursor = res.body.next_cursor;
      } while (cursor);
      expect(names).toEqual(['name 2', 'name 1', 'name 0']);
    });
  });
});

describe('rate limiting per API key', () => {
  it("answers 429 rate_limited with Retry-After past an organization key's burst, and lets platform keys through", async () => {
    const t = await createTestApp({ env: { RATE_LIMIT_ORG_KEY_PER_SECOND: '5' } });
    try {
      const org = await t.client.createOrg(uniqueId('rl'));
      const key = (await t.client.createOrgKey(org, ['read'])).secret;
      const statuses: number[] = [];
      let limited: any;
      for (let i = 0; i < 14; i++) {
        const res = await t.client.get(`/v1/orgs/${org}`, { key });
        statuses.push(res.status);
        if (res.status === 429) limited = res;
      }
      // A burst of twice the rate (10) goes through; then the key must wait.
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
      expect(statuses.slice(10)).toContain(429);
      expect(limited.headers['content-type']).toContain('application/problem+json');
      expect(limited.body).toMatchObject({ status: 429, code: 'rate_limited' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Platform keys have no limit by default.
      for (let i = 0; i < 30; i++) expect((await t.client.get(`/v1/orgs/${org}`)).status).toBe(200);
      // Tokens come back at the rate.
      await new Promise((r) => setTimeout(r, 1_100));
      expect((await t.client.get(`/v1/orgs/${org}`, { key })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
