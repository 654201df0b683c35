import Redis from 'ioredis';
import { Answer, createTestApp, ServiceProcess, testRedisUrl, uniqueId } from '@tollgate/testing';

/**
 * "No overspend ... under any concurrency, any number of service instances": two real service
 * processes (apps/tollgate/main.ts, as deployed) share one Redis and one Postgres; 500
 * concurrent reserves over real HTTP, split between them, against a pool that funds exactly K.
 */

// The same platform key and Redis prefix as test/invariants.e2e-spec.ts: one configured platform
// key per database (each boot registers its own, revoking any other), and a prefix of their own
// so no other suite's sweeper or invalidation bus acts on these scopes.
const PLATFORM_KEY = 'tg_platform_test_invariants_0123456789abcdef';
const REDIS_PREFIX = 'tginv:';
const REQUESTS = 500;
const UNIT = 10_000;

async function ok(answer: Promise<Answer>, what: string): Promise<Answer> {
  const res = await answer;
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

describe('invariants: two service processes, one Redis, one Postgres', () => {
  let a: ServiceProcess;
  let b: ServiceProcess;
  let redis: Redis;
  const stopChildren = () => Promise.all([a, b].map((child) => child?.stop()));

  beforeAll(async () => {
    // The global setup emptied the schema: one in-process boot migrates it (and registers the
    // shared platform key) before the children start.
    const t = await createTestApp({ env: { TOLLGATE_PLATFORM_KEY: PLATFORM_KEY, REDIS_KEY_PREFIX: REDIS_PREFIX } });
    await t.close();
    const env = { REDIS_KEY_PREFIX: REDIS_PREFIX };
    a = await ServiceProcess.start('process A', PLATFORM_KEY, env);
    b = await ServiceProcess.start('process B', PLATFORM_KEY, env);
    const booting = Date.now();
    try {
      await Promise.all([a.ready(), b.ready()]);

      console.log(`two processes ready in ${((Date.now() - booting) / 1000).toFixed(1)} s`);
    } catch (error) {
      await stopChildren();
      throw error;
    }
    redis = new Redis(testRedisUrl());
  }, 120_000);

  afterAll(async () => {
    redis?.disconnect();
    await stopChildren();
  }, 30_000);

  const cases: { level: 'org' | 'project' | 'user'; k: number }[] = [
    { level: 'org', k: 37 },
    { level: 'project', k: 53 },
    { level: 'user', k: 29 },
  ];

  it.each(cases)(
    'holds exactly K = $k of 500 concurrent reserves split over two processes, when the $level level funds K',
    async ({ level, k }) => {
      const pool = k * UNIT;
      // Set up through A; B learns of all of it from Postgres.
      const org = uniqueId(`two-${level}`);
      await ok(a.call('POST', '/v1/orgs', { body: { id: org, name: `Org ${org}` } }), 'create org');
      await ok(
        a.call('POST', `/v1/orgs/${org}/credits`, { body: { amount: level === 'org' ? pool : 1_000_000_000, reason: 'top-up' } }),
        'credits',
      );
      await ok(
        a.call('PUT', `/v1/orgs/${org}/projects/p`, {
          body: {
            limit: level === 'project' ? pool : null,
            period: 'month',
            default_user_limit: level === 'user' ? pool : null,
            default_user_period: 'day',
          },
        }),
        'project',
      );
      const key = (
        await ok(a.call('POST', `/v1/orgs/${org}/keys`, { body: { scopes: ['admission', 'read'], environment: 'live' } }), 'key')
      ).body.secret as string;

      // At the org and project levels the requests spread over users (and, for the org, projects);
      // at the user level they all come from one user nobody declared: created on first sight under
      // the project's default cap, by both processes at once.
      const target = (i: number) => ({
        project_id: level === 'org' ? `p${i % 3}` : 'p',
        user_id: level === 'user' ? 'u' : `u${i % 10}`,
      });
      // Warm both processes up (key, settings, the scope loaded in Redis) with a hold each, ended at
      // once, so neither starts the race late and the holds really interleave.
      for (const child of [a, b]) {
        const warm = await ok(
          child.call('POST', '/v1/reservations', {
            key,
            body: { org_id: org, project_id: 'p', user_id: 'warm-up', amount: 1 },
            idempotencyKey: uniqueId('w'),
          }),
          'warm-up',
        );
        await ok(
          child.call('POST', `/v1/reservations/${warm.body.id}/release`, { key, body: {}, idempotencyKey: uniqueId('w') }),
          'warm-up release',
        );
      }

      const burst = Date.now();
      const results = await Promise.all(
        Array.from({ length: REQUESTS }, (_, i) =>
          (i % 2 === 0 ? a : b)
            .call('POST', '/v1/reservations', {
              key,
              body: { org_id: org, ...target(i), amount: UNIT, ttl_seconds: 600 },
              idempotencyKey: uniqueId('k'),
            })
            .catch((error: Error) => ({ status: -1, body: error.message })),
        ),
      );
      const count = (s: number) => results.filter((r) => r.status === s).length;
      const heldBy = (parity: number) => results.filter((r, i) => r.status === 201 && i % 2 === parity).length;

      console.log(
        `${level}: ${REQUESTS} reserves in ${Date.now() - burst} ms; held ${count(201)} (A ${heldBy(0)}, B ${heldBy(1)}), refused ${count(402)}`,
      );
      const others = results.filter((r) => r.status !== 201 && r.status !== 402);
      expect({ level, held: count(201), refused: count(402), others: others.slice(0, 3) }).toEqual({
        level,
        held: k,
        refused: REQUESTS - k,
        others: [],
      });
      for (const r of results.filter((x) => x.status === 402)) {
        expect(r.body).toMatchObject({ code: 'insufficient_budget', level, required: UNIT });
      }
      // Every hold has its own id.
      expect(new Set(results.filter((r) => r.status === 201).map((r) => r.body.id)).size).toBe(k);

      if (level === 'user') {
        // Declared now (no cap of its own: the project's default), so the tree shows the user.
        await ok(a.call('PUT', `/v1/orgs/${org}/projects/p/users/u`, { body: {} }), 'declare user');
      }
      const treeA = (await ok(a.call('GET', `/v1/orgs/${org}/usage`, { key }), 'usage A')).body;
      const treeB = (await ok(b.call('GET', `/v1/orgs/${org}/usage`, { key }), 'usage B')).body;
      expect(treeB).toEqual(treeA);
      expect(treeA.org).toMatchObject({ reserved: k * UNIT, committed: 0 });
      const node =
        level === 'org'
          ? treeA.org
          : level === 'project'
            ? treeA.projects.find((p: any) => p.id === 'p')
            : treeA.projects[0].users.find((u: any) => u.id === 'u');
      expect(node).toMatchObject({ limit: pool, reserved: k * UNIT, committed: 0, available: 0 });
      if (level !== 'org') expect(treeA.projects.find((p: any) => p.id === 'p')).toMatchObject({ reserved: k * UNIT });

      // Postgres recorded exactly the K holds, and a rebuild from it gives the same tree.
      let rows = 0;
      let cursor: string | null = null;
      do {
        const page: Answer = await ok(
          b.call('GET', `/v1/reservations?org_id=${org}&status=held&limit=200${cursor ? `&cursor=${cursor}` : ''}`, { key }),
          'list',
        );
        rows += page.body.data.length;
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(rows).toBe(k);
      const keys = await redis.keys(`*{${org}:live}*`);
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
      expect((await ok(b.call('GET', `/v1/orgs/${org}/usage`, { key }), 'usage after rebuild')).body).toEqual(treeA);
      // And the rebuilt pool is still full: one more is refused, by either process.
      for (const child of [a, b]) {
        const more = await child.call('POST', '/v1/reservations', {
          key,
          body: { org_id: org, ...target(0), amount: UNIT },
          idempotencyKey: uniqueId('k'),
        });
        expect({ from: child.name, status: more.status, level: more.body?.level }).toEqual({ from: child.name, status: 402, level });
      }

      // Released concurrently through both processes: nothing stays reserved, in either's view.
      const held = results.filter((r) => r.status === 201).map((r) => r.body.id as string);
      const released = await Promise.all(
        held.map((id, i) =>
          (i % 2 === 0 ? b : a).call('POST', `/v1/reservations/${id}/release`, { key, body: {}, idempotencyKey: uniqueId('r') }),
        ),
      );
      expect(released.filter((r) => r.status !== 200)).toEqual([]);
      for (const child of [a, b]) {
        const tree = (await ok(child.call('GET', `/v1/orgs/${org}/usage`, { key }), 'usage after release')).body;
        expect({ from: child.name, reserved: tree.org.reserved, committed: tree.org.committed }).toEqual({
          from: child.name,
          reserved: 0,
          committed: 0,
        });
      }
    },
    60_000,
  );
});
