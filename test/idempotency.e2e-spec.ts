import { EntityManager } from '@mikro-orm/postgresql';
import { RequestMethod } from '@nestjs/common';
import { INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { IDEMPOTENCY_BY_RESOURCE, IdempotencyInterceptor } from '@tollgate/platform';
import { createTestApp, ProbeController, ProbeModule, TestApp, TestClient, uniqueId } from '@tollgate/testing';

describe('idempotency: POSTs with Idempotency-Key run once (Postgres)', () => {
  let t: TestApp;
  let api: TestClient;

  beforeAll(async () => {
    t = await createTestApp({ extraImports: [ProbeModule] });
    api = t.client;
  });
  afterAll(() => t.close());

  it('covers every POST route of the app: through the shared store, or in the route’s own rows', () => {
    const uncovered: string[] = [];
    let posts = 0;
    for (const module of t.app.get(ModulesContainer).values()) {
      for (const { metatype } of module.controllers.values()) {
        if (!metatype) continue;
        const classInterceptors: unknown[] = Reflect.getMetadata(INTERCEPTORS_METADATA, metatype) ?? [];
        const proto = (metatype as { prototype: Record<string, unknown> }).prototype;
        for (const name of Object.getOwnPropertyNames(proto)) {
          const handler = proto[name];
          if (typeof handler !== 'function' || Reflect.getMetadata(METHOD_METADATA, handler) !== RequestMethod.POST) continue;
          posts++;
          const interceptors: unknown[] = [...classInterceptors, ...(Reflect.getMetadata(INTERCEPTORS_METADATA, handler) ?? [])];
          if (!interceptors.includes(IdempotencyInterceptor) && !Reflect.getMetadata(IDEMPOTENCY_BY_RESOURCE, handler)) {
            uncovered.push(`${(metatype as { name: string }).name}.${name} (${String(Reflect.getMetadata(PATH_METADATA, handler))})`);
          }
        }
      }
    }
    expect(posts).toBeGreaterThan(8);
    expect(uncovered).toEqual([]);
  });

  it('replays the first response for the same key and body, with Idempotent-Replayed: true', async () => {
    const id = uniqueId();
    const key = uniqueId('idem');
    const first = await api.post('/v1/orgs', { id, name: 'Once' }, { idempotencyKey: key });
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await api.post('/v1/orgs', { name: 'Once', id }, { idempotencyKey: key });
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    // Without the key the same request is a new one: the organization exists already.
    expect((await api.post('/v1/orgs', { id, name: 'Once' })).status).toBe(409);
    const created = await api.get(`/v1/audit-log?org_id=${id}`);
    expect(created.body.data.filter((e: any) => e.action === 'organization.created')).toHaveLength(1);
  });

  it('answers 409 idempotency_key_reused for the same key with another body, and runs nothing', async () => {
    const key = uniqueId('idem');
    const value = uniqueId('v');
    expect((await api.post('/test-probe/echo', { value, amount: 1 }, { idempotencyKey: key })).status).toBe(201);
    const other = await api.post('/test-probe/echo', { value, amount: 2 }, { idempotencyKey: key });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('idempotency_key_reused');
    expect(other.headers['content-type']).toContain('application/problem+json');
    expect(ProbeController.executions.get(value)).toBe(1);
  });

  it('treats the same key on another path as another request (409)', async () => {
    const key = uniqueId('idem');
    const value = uniqueId('v');
    expect((await api.post('/test-probe/echo', { value, amount: 1 }, { idempotencyKey: key })).status).toBe(201);
    expect((await api.post('/test-probe/ok', { value, amount: 1 }, { idempotencyKey: key })).body.code).toBe('idempotency_key_reused');
  });

  it('keeps the status of the first answer (200 routes replay 200)', async () => {
    const key = uniqueId('idem');
    const value = uniqueId('v');
    const first = await api.post('/test-probe/ok', { value, amount: 1 }, { idempotencyKey: key });
    const again = await api.post('/test-probe/ok', { value, amount: 1 }, { idempotencyKey: key });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('never runs two concurrent requests with one key', async () => {
    const key = uniqueId('idem');
    const value = uniqueId('v');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => api.post('/test-probe/echo?delay_ms=150', { value, amount: 7 }, { idempotencyKey: key })),
    );
    expect(ProbeController.executions.get(value)).toBe(1);
    const executed = results.filter((r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined);
    expect(executed).toHaveLength(1);
    for (const r of results) {
      if (r.status === 409) expect(r.body.code).toBe('idempotency_request_in_progress');
      else expect(r.body).toEqual(executed[0].body);
    }
    expect(results.filter((r) => r.status === 409).every((r) => r.headers['retry-after'] === '1')).toBe(true);
    // Once the first finished, a retry replays it.
    const later = await api.post('/test-probe/echo?delay_ms=150', { value, amount: 7 }, { idempotencyKey: key });
    expect(later.headers['idempotent-replayed']).toBe('true');
    expect(later.body).toEqual(executed[0].body);
  });

  it('stores client errors: a 422 replays as the same 422', async () => {
    const key = uniqueId('idem');
    const first = await api.post('/v1/orgs', { name: '' }, { idempotencyKey: key });
    const again = await api.post('/v1/orgs', { name: '' }, { idempotencyKey: key });
    expect([first.status, again.status]).toEqual([422, 422]);
    expect(again.body).toEqual(first.body);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('does not store a 5xx: the retry runs again and its success is what replays', async () => {
    const key = uniqueId('idem');
    const value = uniqueId('v');
    ProbeController.failNext(value, 1);
    const failed = await api.post('/test-probe/echo', { value, amount: 3 }, { idempotencyKey: key });
    expect(failed.status).toBe(500);
    const retried = await api.post('/test-probe/echo', { value, amount: 3 }, { idempotencyKey: key });
    expect(retried.status).toBe(201);
    expect(retried.body.execution).toBe(2);
    const replayed = await api.post('/test-probe/echo', { value, amount: 3 }, { idempotencyKey: key });
    expect(replayed.body.execution).toBe(2);
    expect(ProbeController.executions.get(value)).toBe(2);
  });

  it('scopes keys per organization and environment', async () => {
    const orgA = await api.createOrg(uniqueId('idem-a'));
    const orgB = await api.createOrg(uniqueId('idem-b'));
    const liveA = (await api.createOrgKey(orgA, ['admission'])).secret;
    const testA = (await api.createOrgKey(orgA, ['admission'], 'test')).secret;
    const liveB = (await api.createOrgKey(orgB, ['admission'])).secret;
    const key = uniqueId('shared');
    const value = uniqueId('v');
    for (const secret of [liveA, testA, liveB]) {
      const res = await api.post('/test-probe/echo', { value, amount: 1 }, { key: secret, idempotencyKey: key });
      expect(res.status).toBe(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
    }
    expect(ProbeController.executions.get(value)).toBe(3);
  });

  it('requires the header where the route says so, and validates it', async () => {
    const missing = await api.post('/test-probe/required', { value: 'r', amount: 1 });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('idempotency_key_required');
    const tooLong = await api.post('/test-probe/required', { value: 'r', amount: 1 }, { idempotencyKey: 'k'.repeat(256) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.code).toBe('idempotency_key_invalid');
    expect(ProbeController.executions.get('r')).toBeUndefined();
  });

  it('keeps keys for at least 24 hours and purges them after', async () => {
    const key = uniqueId('idem');
    const value = uniqueId('v');
    await api.post('/test-probe/echo', { value, amount: 1 }, { idempotencyKey: key });
    const em = t.app.get(EntityManager);
    const [row] = await em
      .getConnection()
      .execute(`select extract(epoch from expires_at - created_at) as ttl from idempotency_keys where key = ?`, [key]);
    expect(Number(row.ttl)).toBeGreaterThanOrEqual(24 * 3600);
    await em.getConnection().execute(`update idempotency_keys set expires_at = now() - interval '1 second' where key = ?`, [key]);
    const { IdempotencyStore } = await import('@tollgate/platform');
    expect(await t.app.get(IdempotencyStore).purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await em.getConnection().execute(`select 1 from idempotency_keys where key = ?`, [key])).toHaveLength(0);
  });
});
