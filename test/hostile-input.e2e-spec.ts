import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { EntityManager } from '@mikro-orm/postgresql';
import { registeredRoutes } from '@tollgate/platform';
import { createTestApp, TestApp, TestClient, TestResponse, uniqueId } from '@tollgate/testing';

const CARD = {
  name: 'Hostile input',
  rates: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.2' }],
};

function expectProblem(res: TestResponse, status: number, code: string) {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.body).toMatchObject({ type: `urn:tollgate:problem:${code}`, status, title: expect.any(String), detail: expect.any(String) });
}

/** A maximal client id: 128 characters of the whole alphabet. */
function maxId(seed: string): string {
  const id = `${seed}.${uniqueId('x')}:_-`;
  return (id + 'A9'.repeat(64)).slice(0, 128);
}

describe('hostile input: ids, secrets, bodies, nulls and framework errors', () => {
  let t: TestApp;
  let api: TestClient;
  let cardId: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { HTTP_BODY_LIMIT_BYTES: String(1024 * 1024) } });
    api = t.client;
    const card = await api.post('/v1/rate-cards', CARD);
    expect(card.status).toBe(201);
    cardId = card.body.id;
  });
  afterAll(() => t.close());

  describe('ids of 128 characters (the most API.md allows) work on every route', () => {
    it('walks every /v1 route the app registers with maximal ids, derived ids included', async () => {
      const org = maxId('org');
      const project = maxId('prj');
      const user = maxId('usr');
      const seen = new Map<string, number>();
      const call = async (method: string, route: string, url: string, body?: unknown, idempotencyKey?: string) => {
        const res = await api.request(method, url, { body, idempotencyKey });
        seen.set(`${method} ${route}`, res.status);
        expect({ route: `${method} ${route}`, status: res.status }).not.toEqual({ route: `${method} ${route}`, status: 414 });
        expect(res.status).toBeLessThan(500);
        return res;
      };

      expect((await call('POST', '/v1/orgs', '/v1/orgs', { id: org, name: 'Long', rate_card_id: cardId })).status).toBe(201);
      expect((await call('GET', '/v1/orgs', `/v1/orgs?limit=200`)).status).toBe(200);
      expect((await call('GET', '/v1/orgs/:org', `/v1/orgs/${org}`)).body.id).toBe(org);
      expect((await call('PATCH', '/v1/orgs/:org', `/v1/orgs/${org}`, { name: 'Longer' })).status).toBe(200);
      expect((await call('GET', '/v1/orgs/:org/settings', `/v1/orgs/${org}/settings`)).status).toBe(200);
      expect((await call('PUT', '/v1/orgs/:org/settings', `/v1/orgs/${org}/settings`, { max_ttl_seconds: 3600 })).status).toBe(200);
      expect(
        (await call('POST', '/v1/orgs/:org/credits', `/v1/orgs/${org}/credits`, { amount: 50_000_000, reason: 'top-up' })).status,
      ).toBe(201);
      expect((await call('GET', '/v1/orgs/:org/credits', `/v1/orgs/${org}/credits`)).body.data).toHaveLength(1);
      expect(
        (await call('PUT', '/v1/orgs/:org/projects/:project', `/v1/orgs/${org}/projects/${project}`, { limit: 20_000_000 })).status,
      ).toBe(201);
      expect(
        (
          await call('PUT', '/v1/orgs/:org/projects/:project/users/:user', `/v1/orgs/${org}/projects/${project}/users/${user}`, {
            limit: 10_000_000,
          })
        ).status,
      ).toBe(201);
      const key = await call('POST', '/v1/orgs/:org/keys', `/v1/orgs/${org}/keys`, { scopes: ['admission'], environment: 'live' });
      expect(key.status).toBe(201);
      expect((await call('GET', '/v1/orgs/:org/keys', `/v1/orgs/${org}/keys`)).body.data).toHaveLength(1);
      expect((await call('DELETE', '/v1/orgs/:org/keys/:id', `/v1/orgs/${org}/keys/${key.body.id}`)).status).toBe(204);
      const platformKey = await call('POST', '/v1/platform-keys', '/v1/platform-keys', { scopes: ['read'] });
      expect((await call('DELETE', '/v1/platform-keys/:id', `/v1/platform-keys/${platformKey.body.id}`)).status).toBe(204);
      const override = { product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.1' };
      expect((await call('POST', '/v1/orgs/:org/rate-overrides', `/v1/orgs/${org}/rate-overrides`, { overrides: [override] })).status).toBe(
        201,
      );
      expect((await call('GET', '/v1/orgs/:org/rate-overrides', `/v1/orgs/${org}/rate-overrides`)).body.data).toHaveLength(1);
      expect((await call('GET', '/v1/audit-log', `/v1/audit-log?org_id=${org}`)).body.data.length).toBeGreaterThan(0);

      // Rate cards: ids are the server's, but a 128-character one is a well-formed id that is not there.
      expect((await call('POST', '/v1/rate-cards', '/v1/rate-cards', CARD)).status).toBe(201);
      expect((await call('GET', '/v1/rate-cards', '/v1/rate-cards')).status).toBe(200);
      expect((await call('GET', '/v1/rate-cards/:id', `/v1/rate-cards/${cardId}`)).status).toBe(200);
      expectProblem(await api.get(`/v1/rate-cards/${maxId('rc')}`), 404, 'unknown_rate_card');
      expect(
        (
          await call('POST', '/v1/rate-cards/:id/rates', `/v1/rate-cards/${cardId}/rates`, {
            rates: [{ ...CARD.rates[0], product: 'p'.repeat(64) }],
          })
        ).status,
      ).toBe(201);
      const product = 'p'.repeat(64);
      expect(
        (
          await call('PUT', '/v1/rate-cards/:id/ladders/:product', `/v1/rate-cards/${cardId}/ladders/${product}`, {
            ladder: [{ product }, { product: 'video.generate' }],
          })
        ).status,
      ).toBe(201);
      expect((await call('DELETE', '/v1/rate-cards/:id/ladders/:product', `/v1/rate-cards/${cardId}/ladders/${product}`)).status).toBe(204);

      // Admission: the reservation id names the organization, so it is 157 characters here.
      const holder = { org_id: org, project_id: project, user_id: user };
      const quote = await call('POST', '/v1/quotes', '/v1/quotes', { ...holder, product: 'video.generate', usage: { video_seconds: 10 } });
      expect(quote.body).toMatchObject({ admitted: true, amount: 1_000_000 });
      const held = await call('POST', '/v1/reservations', '/v1/reservations', { ...holder, amount: 2_000_000 }, uniqueId('k'));
      expect(held.status).toBe(201);
      expect(held.body.id.length).toBe(4 + 24 + 1 + 128);
      const id = held.body.id as string;
      expect((await call('GET', '/v1/reservations/:id', `/v1/reservations/${id}`)).body).toMatchObject({ id, status: 'held' });
      expect(
        (await call('GET', '/v1/reservations', `/v1/reservations?org_id=${org}&project_id=${project}&user_id=${user}`)).body.data,
      ).toHaveLength(1);
      expect((await call('POST', '/v1/reservations/:id/extend', `/v1/reservations/${id}/extend`, { ttl_seconds: 1200 })).status).toBe(200);
      expect(
        (await call('POST', '/v1/reservations/:id/commit', `/v1/reservations/${id}/commit`, { amount: 1_500_000 }, uniqueId('c'))).body,
      ).toMatchObject({
        status: 'committed',
        amount_committed: 1_500_000,
      });
      const second = await api.post('/v1/reservations', { ...holder, amount: 1_000_000 }, { idempotencyKey: uniqueId('k') });
      expect(
        (
          await call(
            'POST',
            '/v1/reservations/:id/release',
            `/v1/reservations/${second.body.id}/release`,
            { reason: 'done' },
            uniqueId('r'),
          )
        ).body.status,
      ).toBe('released');
      const batch = await call(
        'POST',
        '/v1/reservations/batch',
        '/v1/reservations/batch',
        { ...holder, policy: 'all_or_nothing', items: [{ amount: 1 }, { amount: 2 }] },
        uniqueId('b'),
      );
      expect(batch.status).toBe(201);
      expect(batch.body.held).toBe(2);
      for (const item of batch.body.items) expect((await api.get(`/v1/reservations/${item.reservation.id}`)).status).toBe(200);
      expect((await call('GET', '/v1/orgs/:org/usage', `/v1/orgs/${org}/usage`)).body).toMatchObject({
        org: { committed: 1_500_000, reserved: 3 },
        projects: [{ id: project, users: [{ id: user, committed: 1_500_000, reserved: 3 }] }],
      });
      const events = (await call('GET', '/v1/orgs/:org/usage-events', `/v1/orgs/${org}/usage-events`)).body.data;
      expect(events).toEqual([expect.objectContaining({ org_id: org, project_id: project, user_id: user, amount: 1_500_000 })]);
      expect((await call('GET', '/v1/orgs/:org/variance', `/v1/orgs/${org}/variance?group_by=user`)).body.data).toEqual([
        expect.objectContaining({ project_id: project, user_id: user, count: 1, actual: 1_500_000 }),
      ]);
      const spendWindow = `from=${new Date(Date.now() - 86_400_000).toISOString()}&to=${new Date(Date.now() + 86_400_000).toISOString()}`;
      const spent = (await call('GET', '/v1/orgs/:org/spend', `/v1/orgs/${org}/spend?${spendWindow}&group_by=user`)).body;
      expect(spent.amount).toBe(1_500_000);
      expect(spent.data.flatMap((b: any) => b.groups)).toEqual([{ key: user, project_id: project, amount: 1_500_000, count: 1 }]);
      const exported = await call('GET', '/v1/orgs/:org/ledger/export', `/v1/orgs/${org}/ledger/export?${spendWindow}&format=ndjson`);
      expect(
        exported.text
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line)),
      ).toEqual([
        expect.objectContaining({ type: 'entry', org_id: org, project_id: project, user_id: user, amount: 1_500_000 }),
        expect.objectContaining({ type: 'summary', org_id: org, entries: 1, amount: 1_500_000 }),
      ]);

      // Reconciliation: a provider record with the longest request id a record may carry (no commit names it).
      const imported = await call(
        'POST',
        '/v1/reconciliation/provider-usage',
        '/v1/reconciliation/provider-usage',
        {
          records: [
            { provider: 'p'.repeat(128), request_id: 'r'.repeat(256), usage: { video_seconds: 1 }, occurred_at: '2026-12-01T00:00:00Z' },
          ],
        },
        uniqueId('i'),
      );
      expect(imported.body.items).toEqual([expect.objectContaining({ status: 'unmatched', request_id: 'r'.repeat(256) })]);
      expect((await call('GET', '/v1/reconciliation/runs/:id', `/v1/reconciliation/runs/${imported.body.id}`)).body.id).toBe(
        imported.body.id,
      );
      expect((await call('GET', '/v1/reconciliation/runs', '/v1/reconciliation/runs')).body.data[0].id).toBe(imported.body.id);

      expect((await call('PUT', '/v1/orgs/:org/billing', `/v1/orgs/${org}/billing`, { backend: 'none' })).body).toMatchObject({
        org_id: org,
        backend: 'none',
      });
      expect((await call('GET', '/v1/orgs/:org/billing', `/v1/orgs/${org}/billing`)).body.org_id).toBe(org);
      expect(
        (await call('GET', '/v1/orgs/:org/billing/shadow-report', `/v1/orgs/${org}/billing/shadow-report?${spendWindow}`)).body,
      ).toMatchObject({ org_id: org, backend: 'none', agree: expect.any(Boolean) });
      expect((await call('GET', '/v1/billing/outbox', '/v1/billing/outbox?status=dead')).status).toBe(200);
      const retried = await call('POST', '/v1/billing/outbox/:id/retry', `/v1/billing/outbox/${events[0].id}:metronome/retry`);
      expect(retried.body.code).toBe('outbox_delivery_not_found');

      // Webhooks: an endpoint of the 128-character organization (a public address literal: no DNS), its log, rotation, deletion.
      const hookBody = { url: 'https://8.8.8.8/tollgate', event_types: ['billing.delivery_dead'] };
      const hook = await call('POST', '/v1/orgs/:org/webhook-endpoints', `/v1/orgs/${org}/webhook-endpoints`, hookBody, uniqueId('w'));
      expect(hook.status).toBe(201);
      const hookPath = `/v1/orgs/${org}/webhook-endpoints/${hook.body.id}`;
      expect((await call('GET', '/v1/orgs/:org/webhook-endpoints', `/v1/orgs/${org}/webhook-endpoints`)).body.data).toHaveLength(1);
      expect((await call('GET', '/v1/orgs/:org/webhook-endpoints/:id', hookPath)).body.id).toBe(hook.body.id);
      expect((await call('GET', '/v1/orgs/:org/webhook-endpoints/:id/deliveries', `${hookPath}/deliveries`)).body.data).toEqual([]);
      const rotatedHook = await call(
        'POST',
        '/v1/orgs/:org/webhook-endpoints/:id/rotate-secret',
        `${hookPath}/rotate-secret`,
        {},
        uniqueId('w'),
      );
      expect(rotatedHook.status).toBe(200);
      const redelivered = await call(
        'POST',
        '/v1/orgs/:org/webhook-deliveries/:id/redeliver',
        `/v1/orgs/${org}/webhook-deliveries/${'d'.repeat(128)}:${hook.body.id}/redeliver`,
        {},
        uniqueId('w'),
      );
      expect(redelivered.body.code).toBe('webhook_delivery_not_found');
      expect((await call('DELETE', '/v1/orgs/:org/webhook-endpoints/:id', hookPath)).status).toBe(204);
      expect((await call('GET', '/v1/webhooks/receipts', `/v1/webhooks/receipts?org_id=${org}`)).body.data).toEqual([]);
      for (const source of ['flexprice', 'metronome']) {
        // No secret configured here: refused (and recorded) whatever the body.
        expect((await call('POST', `/v1/webhooks/${source}`, `/v1/webhooks/${source}`, { id: 'x'.repeat(128) })).body.code).toBe(
          'webhook_not_configured',
        );
      }

      // Every /v1 route of the running app was walked: a new route fails this test until it is added.
      const v1Routes = registeredRoutes(t.app)
        .filter((r) => r.url.startsWith('/v1'))
        .map((r) => `${r.method} ${r.url}`);
      expect([...seen.keys()].sort()).toEqual([...new Set(v1Routes)].sort());
    });

    it('answers 422, never 414 or 500, for ids outside the rules in paths (too long, NUL byte, wrong alphabet)', async () => {
      const org = await api.createOrg(uniqueId('ids'));
      const bad = ['a'.repeat(129), 'a'.repeat(600), 'a%00b', 'a%20b', '%F0%9F%92%B8', 'a%2Fb'];
      for (const id of bad) {
        for (const [method, url] of [
          ['GET', `/v1/orgs/${id}`],
          ['POST', `/v1/orgs/${id}/credits`],
          ['POST', `/v1/orgs/${id}/keys`],
          ['POST', `/v1/orgs/${id}/rate-overrides`],
          ['PUT', `/v1/orgs/${org}/projects/${id}`],
          ['PUT', `/v1/orgs/${org}/projects/p/users/${id}`],
          ['GET', `/v1/reservations/res_${id}`],
          ['POST', `/v1/reservations/res_abc.${id}/release`],
        ]) {
          const res = await api.request(method, url, { body: method === 'GET' ? undefined : {}, idempotencyKey: uniqueId('k') });
          expect({ method, url: url.slice(0, 60), status: res.status }).toEqual({ method, url: url.slice(0, 60), status: 422 });
          expectProblem(res, 422, 'validation_failed');
        }
      }
    });
  });

  describe('API key secrets are shown once and stored nowhere', () => {
    it('keeps no secret in any table, and a replay answers the key without its secret', async () => {
      const org = await api.createOrg(uniqueId('sec'));
      const orgKey = await api.post(
        `/v1/orgs/${org}/keys`,
        { scopes: ['admission', 'read'], environment: 'live' },
        { idempotencyKey: 'create-key-1' },
      );
      const platformKey = await api.post('/v1/platform-keys', { scopes: ['read'], name: 'ops' }, { idempotencyKey: 'create-key-1' });
      for (const created of [orgKey, platformKey]) {
        expect(created.status).toBe(201);
        expect(created.body.secret).toEqual(expect.any(String));
        // The key works: the secret is real.
        expect((await api.get(`/v1/orgs/${org}/settings`, { key: created.body.secret })).status).not.toBe(401);
      }

      // Every column of every table, as text (the whole row cast): no secret, not even its random part.
      const em = t.app.get(EntityManager);
      const tables = await em
        .getConnection()
        .execute<{ table_name: string }[]>(
          `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
        );
      expect(tables.map((r) => r.table_name)).toEqual(expect.arrayContaining(['api_keys', 'idempotency_keys', 'audit_log']));
      for (const secret of [orgKey.body.secret as string, platformKey.body.secret as string]) {
        for (const needle of [secret, secret.slice(-20)]) {
          for (const { table_name } of tables) {
            const [row] = await em
              .getConnection()
              .execute<{ n: string }[]>(`select count(*) as n from "${table_name}" t where strpos(t::text, ?) > 0`, [needle]);
            expect({ table: table_name, rows: Number(row.n) }).toEqual({ table: table_name, rows: 0 });
          }
        }
      }

      // A replay (the first answer was lost) tells the client which key was made, not its secret.
      const orgReplay = await api.post(
        `/v1/orgs/${org}/keys`,
        { scopes: ['admission', 'read'], environment: 'live' },
        { idempotencyKey: 'create-key-1' },
      );
      const platformReplay = await api.post('/v1/platform-keys', { scopes: ['read'], name: 'ops' }, { idempotencyKey: 'create-key-1' });
      for (const [replay, created] of [
        [orgReplay, orgKey],
        [platformReplay, platformKey],
      ] as const) {
        expect(replay.status).toBe(201);
        expect(replay.headers['idempotent-replayed']).toBe('true');
        const { secret, ...metadata } = created.body;
        expect(secret).toBeDefined();
        expect(replay.body).toEqual(metadata);
        expect(replay.text).not.toContain(created.body.secret);
      }
      // No second key was made by the replays.
      expect((await api.get(`/v1/orgs/${org}/keys`)).body.data).toHaveLength(1);
    });
  });

  describe('JSON bodies: depth, size and prototype-named keys', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const timeOf = async (raw: string, key: string | null = t.platformKey) => {
      const started = process.hrtime.bigint();
      const res = await api.request('POST', '/v1/orgs', { raw, key });
      return { res, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    };

    it('refuses a body nested deeper than 32 with 400 json_too_deep, before auth, in time that does not grow with the body', async () => {
      expectProblem(await api.request('POST', '/v1/orgs', { raw: `{"name":"x","settings":${deep(31)}}` }), 422, 'validation_failed');
      for (const raw of [deep(33), deep(3_000), deep(500_000)]) {
        const withKey = await timeOf(raw);
        expectProblem(withKey.res, 400, 'json_too_deep');
        // Without a key the body is refused the same way: parsing is bounded before any auth work.
        expectProblem((await timeOf(raw, null)).res, 400, 'json_too_deep');
      }
      // The refusal stops at depth 33: a 1 MB deep body costs what a small one does.
      const small = await timeOf(deep(40));
      const big = await timeOf(deep(500_000));
      expect(big.res.status).toBe(400);
      process.stderr.write(`deep body: 80 bytes ${small.ms.toFixed(1)} ms, 1,000,000 bytes ${big.ms.toFixed(1)} ms\n`);
      expect(big.ms).toBeLessThan(Math.max(50, small.ms * 20));
    });

    it('refuses more than 20,000 values or an array of more than 1,000 items with 413 json_too_complex, fast', async () => {
      const wide = `{"name":"x","settings":{"metadata":{${Array.from({ length: 25_000 }, (_, i) => `"k${i}":0`).join(',')}}}}`;
      expectProblem(await api.request('POST', '/v1/orgs', { raw: wide }), 413, 'json_too_complex');
      const org = await api.createOrg(uniqueId('wide'));
      const batch = (items: unknown[]) =>
        api.post(
          '/v1/reservations/batch',
          { org_id: org, project_id: 'p', user_id: 'u', policy: 'all_or_nothing', items },
          { idempotencyKey: uniqueId('b') },
        );
      for (const items of [Array(10_000).fill(1), Array(1_001).fill({})]) {
        const started = process.hrtime.bigint();
        const res = await batch(items);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        process.stderr.write(`batch of ${items.length} ${JSON.stringify(items[0])}: ${ms.toFixed(0)} ms\n`);
        expectProblem(res, 413, 'json_too_complex');
        expect(ms).toBeLessThan(100);
      }
      // Within the bounds, the widest refusal is still a bounded 422.
      for (const items of [Array(1_000).fill(1), Array(1_000).fill({})]) {
        const started = process.hrtime.bigint();
        const res = await batch(items);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        process.stderr.write(`batch of ${items.length} ${JSON.stringify(items[0])}: ${ms.toFixed(0)} ms\n`);
        expectProblem(res, 422, 'validation_failed');
        // At most 50 field errors, however many items are wrong.
        expect(res.body.errors.length).toBeLessThanOrEqual(50);
        expect(ms).toBeLessThan(1_000);
      }
      expectProblem(await api.post(`/v1/orgs/${org}/credits`, { amount: 1, reason: 'x'.repeat(2_000_000) }), 413, 'payload_too_large');
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 0 });
    });

    it('refuses __proto__ and constructor.prototype (400); other prototype names are ordinary unknown keys', async () => {
      expectProblem(await api.request('POST', '/v1/orgs', { raw: '{"name":"x","__proto__":{"admin":true}}' }), 400, 'invalid_json');
      expectProblem(
        await api.request('POST', '/v1/orgs', { raw: '{"name":"x","settings":{"constructor":{"prototype":{"a":1}}}}' }),
        400,
        'invalid_json',
      );
      for (const key of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', 'foo']) {
        const res = await api.request('POST', '/v1/orgs', { raw: `{"name":"x","${key}":1}` });
        expectProblem(res, 422, 'validation_failed');
        expect(res.body.errors).toEqual([expect.objectContaining({ field: key })]);
        const nested = await api.request('POST', '/v1/orgs', { raw: `{"name":"x","settings":{"${key}":1}}` });
        expectProblem(nested, 422, 'validation_failed');
        expect(nested.body.errors).toEqual([expect.objectContaining({ field: `settings.${key}` })]);
      }
    });

    it('prices usage.toString and usage.valueOf as it prices usage.foo: 422 unpriceable_usage, nothing held', async () => {
      const org = await api.createOrg(uniqueId('proto'), { rate_card_id: cardId });
      await api.post(`/v1/orgs/${org}/credits`, { amount: 100_000_000, reason: 'top-up' });
      for (const name of ['foo', 'toString', 'valueOf', 'constructor']) {
        const body = `{"org_id":"${org}","project_id":"p","user_id":"u","product":"video.generate","usage":{"${name}":4,"video_seconds":1}}`;
        const reserve = await api.request('POST', '/v1/reservations', { raw: body, idempotencyKey: uniqueId('k') });
        expectProblem(reserve, 422, 'unpriceable_usage');
        expect(reserve.body.dimension).toBe(name);
        expectProblem(await api.request('POST', '/v1/quotes', { raw: body }), 422, 'unpriceable_usage');
      }
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 0, committed: 0 });
      // In free-form metadata they are kept as written.
      const held = await api.request('POST', '/v1/reservations', {
        raw: `{"org_id":"${org}","project_id":"p","user_id":"u","amount":5,"metadata":{"toString":"a","constructor":"b"}}`,
        idempotencyKey: uniqueId('k'),
      });
      expect(held.status).toBe(201);
      expect((await api.get(`/v1/reservations/${held.body.id}`)).body.metadata).toEqual({ toString: 'a', constructor: 'b' });
    });

    it('refuses strings with a NUL character (Postgres cannot store them) with 422 naming the field', async () => {
      const org = await api.createOrg(uniqueId('nul'));
      const res = await api.request('PATCH', `/v1/orgs/${org}`, { raw: '{"name":"a\\u0000b"}' });
      expectProblem(res, 422, 'validation_failed');
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'name' })]);
      const meta = await api.request('POST', '/v1/reservations', {
        raw: `{"org_id":"${org}","project_id":"p","user_id":"u","amount":5,"metadata":{"note":["ok","\\u0000"]}}`,
        idempotencyKey: uniqueId('k'),
      });
      expectProblem(meta, 422, 'validation_failed');
      expect(meta.body.errors).toEqual([expect.objectContaining({ field: 'metadata.note[1]' })]);
      // An escaped backslash before "u0000" is not a NUL.
      expect((await api.request('PATCH', `/v1/orgs/${org}`, { raw: '{"name":"a\\\\u0000b"}' })).body.name).toBe('a\\u0000b');
    });
  });

  describe('null, wrong-typed and missing fields: 422 validation_failed naming the field as written', () => {
    it('on quotes, reserves, batches, commits, PATCH and PUT alike', async () => {
      const org = await api.createOrg(uniqueId('null'));
      await api.post(`/v1/orgs/${org}/credits`, { amount: 10_000_000, reason: 'top-up' });
      const holder = { org_id: org, project_id: 'p', user_id: 'u' };
      const held = (await api.post('/v1/reservations', { ...holder, amount: 1_000 }, { idempotencyKey: uniqueId('k') })).body;
      const cases: Array<[string, string, unknown, string]> = [
        ['POST', '/v1/quotes', { ...holder, amount: null }, 'amount'],
        ['POST', '/v1/reservations', { ...holder, amount: null }, 'amount'],
        ['POST', '/v1/reservations', { ...holder, amount: '5' }, 'amount'],
        ['POST', '/v1/reservations', { ...holder, user_id: null, amount: 5 }, 'user_id'],
        ['POST', '/v1/reservations', { ...holder, amount: 5, ttl_seconds: null }, 'ttl_seconds'],
        ['POST', '/v1/reservations', { ...holder, product: null, usage: { s: 1 } }, 'product'],
        ['POST', '/v1/reservations', { ...holder, amount: 5, metadata: null }, 'metadata'],
        ['POST', '/v1/reservations/batch', { ...holder, policy: 'all_or_nothing', items: [{ amount: null }] }, 'items[0].amount'],
        ['POST', `/v1/reservations/${held.id}/commit`, { amount: null }, 'amount'],
        ['POST', `/v1/reservations/${held.id}/release`, { reason: null }, 'reason'],
        ['POST', `/v1/reservations/${held.id}/extend`, { ttl_seconds: null }, 'ttl_seconds'],
        ['PATCH', `/v1/orgs/${org}`, { name: null }, 'name'],
        ['PATCH', `/v1/orgs/${org}`, { status: null }, 'status'],
        ['PATCH', `/v1/orgs/${org}`, { overage_policy: null }, 'overage_policy'],
        ['PATCH', `/v1/orgs/${org}`, { settings: null }, 'settings'],
        ['PATCH', `/v1/orgs/${org}`, { settings: { max_ttl_seconds: null } }, 'settings.max_ttl_seconds'],
        ['PUT', `/v1/orgs/${org}/settings`, { overdraft_limit: null }, 'overdraft_limit'],
        ['PUT', `/v1/orgs/${org}/projects/p`, { period: null }, 'period'],
        ['POST', `/v1/orgs/${org}/credits`, { amount: null, reason: 'x' }, 'amount'],
        ['POST', `/v1/orgs/${org}/credits`, { amount: 5 }, 'reason'],
        ['POST', `/v1/orgs/${org}/keys`, { scopes: null, environment: 'live' }, 'scopes'],
        ['POST', '/v1/orgs', { name: 'x', settings: { auto_create: null } }, 'settings.auto_create'],
      ];
      for (const [method, url, body, field] of cases) {
        const res = await api.request(method, url, { body, idempotencyKey: uniqueId('k') });
        expect({ method, url, body, status: res.status, code: res.body.code }).toEqual({
          method,
          url,
          body,
          status: 422,
          code: 'validation_failed',
        });
        expect({ method, url, body, fields: res.body.errors.map((e: { field: string }) => e.field) }).toEqual({
          method,
          url,
          body,
          fields: expect.arrayContaining([field]),
        });
      }
      // Nothing changed: the organization, its settings and its usage are as they were.
      const orgNow = (await api.get(`/v1/orgs/${org}`)).body;
      expect(orgNow).toMatchObject({ name: `Org ${org}`, status: 'active' });
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 1_000, committed: 0 });
      expect((await api.get(`/v1/reservations/${held.id}`)).body.status).toBe('held');
      // Where null means something, it still does (the project exists: the reserve above created it).
      expect((await api.put(`/v1/orgs/${org}/projects/p`, { limit: null })).status).toBe(200);
      expect((await api.patch(`/v1/orgs/${org}`, { rate_card_id: null })).status).toBe(200);
    });

    it('answers the same for a body that is not an object', async () => {
      for (const raw of ['null', '[]', '5', '"x"', 'true']) {
        const res = await api.request('POST', '/v1/quotes', { raw });
        expectProblem(res, 422, 'validation_failed');
        expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(expect.arrayContaining(['org_id']));
      }
    });
  });

  describe("Fastify's and Node's own refusals are problem+json with a stable code", () => {
    it('404 unknown route, 415, 400 bad URL encoding, 422 path segment over 512 characters', async () => {
      expectProblem(await api.get('/v1/nowhere'), 404, 'route_not_found');
      expectProblem(await api.request('PATCH', '/v1/orgs'), 404, 'route_not_found');
      expectProblem(
        await api.request('POST', '/v1/orgs', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        415,
        'unsupported_media_type',
      );
      expectProblem(await api.get('/v1/orgs/%zz'), 400, 'invalid_url');
      const long = await api.get(`/v1/reservations/res_${'a'.repeat(2_000)}`);
      expectProblem(long, 422, 'validation_failed');
      expect(long.body.errors).toEqual([expect.objectContaining({ field: 'path' })]);
      expect(long.headers['x-request-id']).toEqual(expect.any(String));
    });

    it('431 for headers over the limit and 400 for a malformed request, on a real socket', async () => {
      await t.app.listen(0, '127.0.0.1');
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const big = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        const req = httpRequest({ port, host: '127.0.0.1', path: '/v1/orgs', headers: { 'x-filler': 'a'.repeat(20_000) } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(big.status).toBe(431);
      expect(big.type).toBe('application/problem+json');
      expect(JSON.parse(big.body)).toMatchObject({
        status: 431,
        code: 'headers_too_large',
        type: 'urn:tollgate:problem:headers_too_large',
      });

      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
        let text = '';
        socket.on('data', (c) => (text += c));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      expect(raw).toContain('Content-Type: application/problem+json');
      expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, code: 'malformed_request' });
    });
  });
});
