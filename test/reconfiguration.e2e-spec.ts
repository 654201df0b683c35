import { EntityManager } from '@mikro-orm/postgresql';
import { SchedulerRegistry } from '@nestjs/schedule';
import fc from 'fast-check';
import Redis from 'ioredis';
import { periodId } from '@tollgate/quota';
import { ExpireHoldsUseCase } from '@tollgate/reservations';
import { createTestApp, ManualClock, TestApp, TestClient, TestResponse, testRedisUrl, uniqueId } from '@tollgate/testing';

/**
 * Issue 8: a configuration change never forgets spend, auto-created projects and users are
 * rows, and a hold past its expiry stops counting at once. Each app runs on a clock the test
 * moves, with its schedulers stopped, so "before the sweeper" is a fact rather than a race.
 */

// Mid-week, mid-month: the week (ISO 2026-W46, Monday the 9th) and the month both began earlier.
const START = new Date('2026-11-12T10:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Period = 'none' | 'day' | 'week' | 'month';

async function bootWithoutSchedulers(clock: ManualClock, embedded: boolean): Promise<TestApp> {
  const t = await createTestApp({ clock, embedded });
  const registry = t.app.get(SchedulerRegistry);
  for (const name of registry.getIntervals()) registry.deleteInterval(name);
  return t;
}

function ok(res: TestResponse, what: string, status?: number): TestResponse {
  if (status !== undefined ? res.status !== status : res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res;
}

describe.each([
  ['Postgres + Redis', false],
  ['embedded', true],
])('reconfiguration keeps spend, auto-created scopes are rows, expired holds stop counting (%s)', (_name, embedded) => {
  let t: TestApp;
  let api: TestClient;
  const clock = new ManualClock(START);

  beforeAll(async () => {
    t = await bootWithoutSchedulers(clock, embedded);
    api = t.client;
  });
  afterAll(() => t.close());
  beforeEach(() => clock.set(START));

  async function org(credits = 100_000_000): Promise<{ org: string; key: string }> {
    const id = await api.createOrg(uniqueId('rc'));
    ok(await api.post(`/v1/orgs/${id}/credits`, { amount: credits, reason: 'top-up' }), 'credits');
    return { org: id, key: (await api.createOrgKey(id, ['admission', 'read'])).secret };
  }
  const reserve = (key: string, orgId: string, amount: number, project = 'p', user = 'u', extra: Record<string, unknown> = {}) =>
    api.post(
      '/v1/reservations',
      { org_id: orgId, project_id: project, user_id: user, amount, ...extra },
      { key, idempotencyKey: uniqueId('k') },
    );
  async function spend(key: string, orgId: string, amount: number, project = 'p', user = 'u'): Promise<void> {
    const held = ok(await reserve(key, orgId, amount, project, user), 'reserve', 201);
    ok(await api.post(`/v1/reservations/${held.body.id}/commit`, { amount }, { key, idempotencyKey: uniqueId('c') }), 'commit', 200);
  }
  const tree = async (orgId: string) => ok(await api.get(`/v1/orgs/${orgId}/usage`), 'tree').body;
  const projectOf = async (orgId: string, project = 'p') => (await tree(orgId)).projects.find((p: any) => p.id === project);
  const userOf = async (orgId: string, project = 'p', user = 'u') =>
    (await projectOf(orgId, project))?.users.find((u: any) => u.id === user);

  it('a project changed from month to week keeps the 8,000,000 spent today: the next 8,000,000 is refused (the reproduction of issue 8)', async () => {
    const { org: id, key } = await org();
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { limit: 10_000_000, period: 'month' }), 'project', 201);
    await spend(key, id, 8_000_000);
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { limit: 10_000_000, period: 'week' }), 'project', 200);
    expect(await projectOf(id)).toMatchObject({ period: 'week', committed: 8_000_000, reserved: 0, available: 2_000_000 });
    const refused = await reserve(key, id, 8_000_000);
    expect(refused.status).toBe(402);
    expect(refused.body).toMatchObject({ code: 'insufficient_budget', level: 'project', required: 8_000_000, available: 2_000_000 });
    // The period change is audited with before and after.
    const log = ok(await api.get(`/v1/audit-log?org_id=${id}`), 'audit').body.data;
    expect(log.find((e: any) => e.action === 'project.updated')).toMatchObject({
      before: { period: 'month', limit: 10_000_000 },
      after: { period: 'week', limit: 10_000_000 },
    });
  });

  it('every period change of a project, a user and a default user cap counts what was committed in the new period', async () => {
    clock.set(new Date('2026-11-02T10:00:00Z')); // this month, an earlier ISO week
    const { org: id, key } = await org();
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { limit: 1_000_000, period: 'none' }), 'project');
    await spend(key, id, 100_000);
    clock.set(new Date('2026-11-10T10:00:00Z')); // this week, an earlier day
    await spend(key, id, 20_000);
    clock.set(START);
    await spend(key, id, 3_000);
    const inPeriod: Record<Period, number> = { none: 123_000, month: 123_000, week: 23_000, day: 3_000 };
    for (const period of ['day', 'week', 'month', 'none', 'week', 'day', 'month', 'none'] as const) {
      ok(
        await api.put(`/v1/orgs/${id}/projects/p`, { limit: 1_000_000, period, default_user_limit: 500_000, default_user_period: period }),
        'project',
      );
      expect({ period, project: await projectOf(id) }).toMatchObject({
        project: { period, committed: inPeriod[period], available: 1_000_000 - inPeriod[period] },
      });
      expect({ period, user: await userOf(id) }).toMatchObject({
        user: { period, limit: 500_000, committed: inPeriod[period], available: 500_000 - inPeriod[period] },
      });
      ok(await api.put(`/v1/orgs/${id}/projects/p/users/u`, { limit: 200_000, period }), 'user');
      expect({ period, user: await userOf(id) }).toMatchObject({ user: { period, limit: 200_000, committed: inPeriod[period] } });
      ok(await api.put(`/v1/orgs/${id}/projects/p/users/u`, { limit: null }), 'user back to the default');
    }
    // A default cap lowered below what a user spent this week refuses that user only.
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { default_user_limit: 20_000, default_user_period: 'week' }), 'project');
    expect((await reserve(key, id, 1)).body).toMatchObject({ code: 'insufficient_budget', level: 'user', available: 0 });
    expect((await reserve(key, id, 1, 'p', 'someone-else')).status).toBe(201);
  });

  it('a limit lowered below what is spent refuses new holds and keeps the existing ones; raised again, it admits', async () => {
    const { org: id, key } = await org();
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { limit: 1_000_000, period: 'day' }), 'project');
    await spend(key, id, 600_000);
    const held = ok(await reserve(key, id, 300_000), 'reserve', 201).body;
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { limit: 500_000 }), 'lower');
    expect(await projectOf(id)).toMatchObject({ limit: 500_000, committed: 600_000, reserved: 300_000, available: 0 });
    expect((await reserve(key, id, 1)).body).toMatchObject({ code: 'insufficient_budget', level: 'project', available: 0 });
    ok(
      await api.post(`/v1/reservations/${held.id}/commit`, { amount: 300_000 }, { key, idempotencyKey: uniqueId('c') }),
      'the existing hold still commits',
      200,
    );
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { limit: 1_000_000 }), 'raise');
    expect(await projectOf(id)).toMatchObject({ committed: 900_000, available: 100_000 });
    expect((await reserve(key, id, 100_001)).status).toBe(402);
    expect((await reserve(key, id, 100_000)).status).toBe(201);
  });

  it('a day that ends starts the next from zero, and a later change back to month still finds the whole month', async () => {
    const { org: id, key } = await org();
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { limit: 1_000_000, period: 'day' }), 'project');
    await spend(key, id, 900_000);
    clock.advance(DAY);
    expect(await projectOf(id)).toMatchObject({ committed: 0, available: 1_000_000 });
    await spend(key, id, 50_000);
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { period: 'month' }), 'month');
    expect(await projectOf(id)).toMatchObject({ committed: 950_000, available: 50_000 });
  });

  it('a project and user created by a first reserve are rows: listed, audited, configurable (200), and still admitted with auto_create off', async () => {
    const { org: id, key } = await org();
    const held = ok(await reserve(key, id, 1_000, 'p-auto', 'u-auto'), 'reserve', 201).body;
    const log = ok(await api.get(`/v1/audit-log?org_id=${id}`), 'audit').body.data;
    expect(log.filter((e: any) => e.action === 'project.created' && e.resource_id === 'p-auto')).toEqual([
      expect.objectContaining({
        actor: expect.stringMatching(/\S/),
        after: expect.objectContaining({ limit: null, period: 'none', auto_created_by: held.id }),
      }),
    ]);
    expect(log.filter((e: any) => e.action === 'user.created' && e.resource_id === 'p-auto/u-auto')).toHaveLength(1);
    ok(await api.put(`/v1/orgs/${id}/settings`, { auto_create: false }), 'settings');
    expect((await reserve(key, id, 1_000, 'p-auto', 'u-auto')).status).toBe(201);
    expect((await reserve(key, id, 1_000, 'p-auto', 'u-new')).body).toMatchObject({ code: 'unknown_user' });
    expect((await reserve(key, id, 1_000, 'p-new', 'u-auto')).body).toMatchObject({ code: 'unknown_project' });
    expect((await api.put(`/v1/orgs/${id}/projects/p-auto`, { limit: 5_000 })).status).toBe(200);
    expect((await api.put(`/v1/orgs/${id}/projects/p-auto/users/u-auto`, { limit: 2_500 })).status).toBe(200);
    expect(await userOf(id, 'p-auto', 'u-auto')).toMatchObject({ limit: 2_500, reserved: 2_000, available: 500 });
  });

  it('auto-creates a project and user once when 40 first reserves race (one row, one audit entry each)', async () => {
    const { org: id, key } = await org();
    const answers = await Promise.all(Array.from({ length: 40 }, () => reserve(key, id, 10, 'p-race', 'u-race')));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const log = ok(await api.get(`/v1/audit-log?org_id=${id}&limit=200`), 'audit').body.data;
    expect(log.filter((e: any) => e.action === 'project.created')).toHaveLength(1);
    expect(log.filter((e: any) => e.action === 'user.created')).toHaveLength(1);
    expect((await tree(id)).projects).toEqual([
      expect.objectContaining({ id: 'p-race', reserved: 400, users: [expect.objectContaining({ id: 'u-race', reserved: 400 })] }),
    ]);
  });

  it('a project first named by a user write is created and audited once', async () => {
    const { org: id } = await org();
    ok(await api.put(`/v1/orgs/${id}/projects/p-implicit/users/u1`, { limit: 5 }), 'user', 201);
    ok(await api.put(`/v1/orgs/${id}/projects/p-implicit/users/u2`, { limit: 5 }), 'user', 201);
    const log = ok(await api.get(`/v1/audit-log?org_id=${id}`), 'audit').body.data;
    expect(log.filter((e: any) => e.action === 'project.created')).toEqual([
      expect.objectContaining({ resource_id: 'p-implicit', after: expect.objectContaining({ limit: null }) }),
    ]);
    expect((await api.put(`/v1/orgs/${id}/projects/p-implicit`, { limit: 10 })).status).toBe(200);
  });

  it('a refused first reserve creates nothing', async () => {
    const { org: id, key } = await org(1_000);
    expect((await reserve(key, id, 2_000, 'p-never', 'u-never')).status).toBe(402);
    expect((await tree(id)).projects).toEqual([]);
  });

  it('a hold past its expiry stops counting at once: the tree, a quote and a reserve see the room before any sweep, and the sweep records it', async () => {
    const { org: id, key } = await org(1_000_000);
    const held = ok(await reserve(key, id, 1_000_000, 'p', 'u', { ttl_seconds: 60 }), 'reserve', 201).body;
    expect((await reserve(key, id, 1)).status).toBe(402);
    clock.advance(60_000);
    expect((await api.get(`/v1/reservations/${held.id}`, { key })).body.status).toBe('expired');
    expect((await tree(id)).org).toMatchObject({ reserved: 0, available: 1_000_000 });
    expect(
      ok(await api.post('/v1/quotes', { org_id: id, project_id: 'p', user_id: 'u', amount: 1_000_000 }, { key }), 'quote').body,
    ).toMatchObject({ admitted: true });
    const again = ok(await reserve(key, id, 1_000_000), 'reserve after expiry', 201).body;
    expect((await api.post(`/v1/reservations/${held.id}/commit`, { amount: 1 }, { key, idempotencyKey: uniqueId('c') })).body.code).toBe(
      'reservation_not_held',
    );
    expect(await t.app.get(ExpireHoldsUseCase).sweep()).toBe(1);
    expect(await t.app.get(ExpireHoldsUseCase).sweep()).toBe(0);
    const expired = ok(await api.get(`/v1/reservations?org_id=${id}&status=expired`, { key }), 'list').body.data;
    expect(expired.map((r: any) => r.id)).toEqual([held.id]);
    expect((await tree(id)).org).toMatchObject({ reserved: 1_000_000 });
    expect(again.status).toBe('held');
  });
});

// ------------------------------------------------------------------- the model-based property

const PROJECTS = ['p0', 'p1'] as const;
const USERS = ['u0', 'u1'] as const;

interface Cap {
  limit: number | null;
  period: Period;
}
interface Hold {
  id: string;
  project: string;
  user: string;
  amount: number;
  expiresAt: number;
  /** The periods of every kind when it was admitted. */
  ids: Record<Exclude<Period, 'none'>, string>;
}
interface Model {
  credits: number;
  autoCreate: boolean;
  projects: Map<string, { cap: Cap; defaultCap: Cap }>;
  /** Users that are rows, with their own cap (limit null: the project's default). */
  users: Map<string, Cap>;
  live: Hold[];
  /** Commits: what was charged for which hold. */
  charges: { hold: Hold; amount: number }[];
}

type Step =
  | { op: 'reserve'; p: number; u: number; amount: number; ttl: number }
  | { op: 'commit'; pick: number; permille: number }
  | { op: 'release'; pick: number }
  | { op: 'project'; p: number; cap: Cap; defaultCap: Cap }
  | { op: 'user'; p: number; u: number; cap: Cap }
  | { op: 'autoCreate'; on: boolean }
  | { op: 'tick'; ms: number }
  | { op: 'rebuild' };

const periodArb = fc.constantFrom<Period>('none', 'day', 'week', 'month');
const capArb = (max: number): fc.Arbitrary<Cap> =>
  fc.record({ limit: fc.option(fc.integer({ min: 0, max }), { freq: 4 }), period: periodArb });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('reserve' as const),
      p: fc.nat(1),
      u: fc.nat(1),
      amount: fc.integer({ min: 1, max: 400_000 }),
      ttl: fc.constantFrom(120, 3_600, 86_400),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('commit' as const),
      pick: fc.nat(),
      permille: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(1000)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('release' as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('project' as const), p: fc.nat(1), cap: capArb(1_500_000), defaultCap: capArb(800_000) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('user' as const), p: fc.nat(1), u: fc.nat(1), cap: capArb(600_000) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('autoCreate' as const), on: fc.boolean() }) },
  // Across hours, days, ISO weeks and months (the start is mid-week, mid-month).
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('tick' as const),
      ms: fc.oneof(
        fc.integer({ min: 1, max: 2 * HOUR }),
        fc.integer({ min: HOUR, max: 2 * DAY }),
        fc.integer({ min: 3 * DAY, max: 35 * DAY }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'rebuild' as const }) },
);

const idsAt = (ms: number) => ({
  day: periodId('day', new Date(ms)),
  week: periodId('week', new Date(ms)),
  month: periodId('month', new Date(ms)),
});

function configOf(model: Model, level: 'org' | 'project' | 'user', project?: string, user?: string): Cap {
  if (level === 'org') return { limit: model.credits, period: 'none' };
  const p = model.projects.get(project!);
  // A level without a limit has no period: it shows what it committed in all time.
  if (level === 'project') return p && p.cap.limit !== null ? p.cap : { limit: null, period: 'none' };
  const own = model.users.get(`${project}/${user}`);
  if (own && own.limit !== null) return own;
  return p?.defaultCap.limit !== null && p?.defaultCap.limit !== undefined ? p.defaultCap : { limit: null, period: 'none' };
}

function figuresOf(model: Model, now: number, level: 'org' | 'project' | 'user', project?: string, user?: string) {
  const cap = configOf(model, level, project, user);
  const mine = (h: Hold) => level === 'org' || (h.project === project && (level === 'project' || h.user === user));
  const current = cap.period === 'none' ? '' : idsAt(now)[cap.period];
  const committed = model.charges
    .filter((c) => mine(c.hold) && (cap.period === 'none' || c.hold.ids[cap.period] === current))
    .reduce((s, c) => s + c.amount, 0);
  const reserved = model.live.filter((h) => mine(h) && h.expiresAt > now).reduce((s, h) => s + h.amount, 0);
  return { limit: cap.limit, committed, reserved, available: cap.limit === null ? null : Math.max(0, cap.limit - committed - reserved) };
}

/** The tree as the model expects it: figures of every project and user that is a row. */
function modelTree(model: Model, now: number) {
  return {
    org: figuresOf(model, now, 'org'),
    projects: [...model.projects.keys()].sort().map((p) => ({
      id: p,
      ...figuresOf(model, now, 'project', p),
      users: [...model.users.keys()]
        .filter((k) => k.startsWith(`${p}/`))
        .map((k) => k.slice(p.length + 1))
        .sort()
        .map((u) => ({ id: u, ...figuresOf(model, now, 'user', p, u) })),
    })),
  };
}

const pickFigures = (n: any) => ({ limit: n.limit, committed: n.committed, reserved: n.reserved, available: n.available });
function shape(tree: any) {
  return {
    org: pickFigures(tree.org),
    projects: [...tree.projects]
      .sort((a: any, b: any) => (a.id < b.id ? -1 : 1))
      .map((p: any) => ({
        id: p.id,
        ...pickFigures(p),
        users: [...p.users].sort((a: any, b: any) => (a.id < b.id ? -1 : 1)).map((u: any) => ({ id: u.id, ...pickFigures(u) })),
      })),
  };
}

/** The tree recomputed from Postgres alone: the rows, the ledger and the holds still active at `now`. */
async function treeFromPostgres(em: EntityManager, orgId: string, credits: number, now: number) {
  const sql = (q: string, params: unknown[]) => em.getConnection().execute<any[]>(q, params);
  const at = new Date(now);
  const projects = await sql(
    `select id, limit_amount, period, default_user_limit, default_user_period from projects where org_id = ? and environment = 'live'`,
    [orgId],
  );
  const users = await sql(`select project_id, id, limit_amount, period from project_users where org_id = ? and environment = 'live'`, [
    orgId,
  ]);
  const ledger = await sql(`select project_id, user_id, amount, periods from usage_ledger where org_id = ? and environment = 'live'`, [
    orgId,
  ]);
  const active = await sql(
    `select r.project_id, r.user_id, r.amount from reservations r
       left join reservation_outcomes o on o.reservation_id = r.id
       left join lateral (select expires_at from reservation_extensions x where x.reservation_id = r.id order by seq desc limit 1) e on true
      where r.org_id = ? and r.environment = 'live' and o.status is null and coalesce(e.expires_at, r.expires_at) > ?`,
    [orgId, at],
  );
  const figures = (cap: Cap, mine: (r: any) => boolean) => {
    const current = cap.period === 'none' ? '' : periodId(cap.period, at);
    const committed = ledger
      .filter((l) => mine(l) && (cap.period === 'none' || l.periods[cap.period] === current))
      .reduce((s, l) => s + Number(l.amount), 0);
    const reserved = active.filter(mine).reduce((s, r) => s + Number(r.amount), 0);
    return { limit: cap.limit, committed, reserved, available: cap.limit === null ? null : Math.max(0, cap.limit - committed - reserved) };
  };
  const num = (v: string | null) => (v === null ? null : Number(v));
  return shape({
    org: figures({ limit: credits, period: 'none' }, () => true),
    projects: projects.map((p) => {
      const defaultCap: Cap = { limit: num(p.default_user_limit), period: p.default_user_period };
      return {
        id: p.id,
        ...figures(
          p.limit_amount === null ? { limit: null, period: 'none' } : { limit: num(p.limit_amount), period: p.period },
          (r) => r.project_id === p.id,
        ),
        users: users
          .filter((u) => u.project_id === p.id)
          .map((u) => {
            const own: Cap = { limit: num(u.limit_amount), period: u.period };
            const cap = own.limit !== null ? own : defaultCap.limit !== null ? defaultCap : { limit: null, period: 'none' as const };
            return { id: u.id, ...figures(cap, (r) => r.project_id === p.id && r.user_id === u.id) };
          }),
      };
    }),
  });
}

describe('reconfiguration property: random reserves, commits, limit and period changes, auto_create toggles and a clock across days, weeks and months (Postgres + Redis)', () => {
  let t: TestApp;
  let api: TestClient;
  let redis: Redis;
  let em: EntityManager;
  const clock = new ManualClock(START);

  beforeAll(async () => {
    t = await bootWithoutSchedulers(clock, false);
    api = t.client;
    em = t.app.get(EntityManager);
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  it('admits exactly what fits after every change, and the tree equals the model and a recomputation from Postgres after every step', async () => {
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1_000_000, max: 3_000_000 }),
        fc.array(stepArb, { minLength: 5, maxLength: 30 }),
        async (credits, plan) => {
          clock.set(START);
          const orgId = await api.createOrg(uniqueId('rcp'));
          ok(await api.post(`/v1/orgs/${orgId}/credits`, { amount: credits, reason: 'top-up' }), 'credits');
          ok(await api.put(`/v1/orgs/${orgId}/settings`, { max_ttl_seconds: 86_400 }), 'settings');
          const key = (await api.createOrgKey(orgId, ['admission', 'read'])).secret;
          const model: Model = { credits, autoCreate: true, projects: new Map(), users: new Map(), live: [], charges: [] };
          for (const step of plan) {
            const now = clock.now().getTime();
            const what = JSON.stringify(step);
            steps++;
            switch (step.op) {
              case 'reserve': {
                const [project, user] = [PROJECTS[step.p], USERS[step.u]];
                const res = await api.post(
                  '/v1/reservations',
                  { org_id: orgId, project_id: project, user_id: user, amount: step.amount, ttl_seconds: step.ttl },
                  { key, idempotencyKey: uniqueId('k') },
                );
                if (!model.autoCreate && !model.projects.has(project)) {
                  expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status: 404, code: 'unknown_project' });
                  break;
                }
                if (!model.autoCreate && !model.users.has(`${project}/${user}`)) {
                  expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status: 404, code: 'unknown_user' });
                  break;
                }
                const levels = [['org'], ['project', project], ['user', project, user]] as const;
                const short = levels.find(([level, p, u]) => {
                  const f = figuresOf(model, now, level, p, u);
                  return f.limit !== null && f.committed + f.reserved + step.amount > f.limit;
                });
                if (short) {
                  const f = figuresOf(model, now, short[0], short[1], short[2]);
                  expect({ what, status: res.status, body: res.body }).toMatchObject({
                    status: 402,
                    body: { level: short[0], available: f.available },
                  });
                } else {
                  expect({ what, status: res.status }).toEqual({ what, status: 201 });
                  model.live.push({
                    id: res.body.id,
                    project,
                    user,
                    amount: step.amount,
                    expiresAt: now + step.ttl * 1000,
                    ids: idsAt(now),
                  });
                  if (!model.projects.has(project))
                    model.projects.set(project, { cap: { limit: null, period: 'none' }, defaultCap: { limit: null, period: 'none' } });
                  if (!model.users.has(`${project}/${user}`)) model.users.set(`${project}/${user}`, { limit: null, period: 'none' });
                }
                break;
              }
              case 'commit':
              case 'release': {
                if (model.live.length === 0) break;
                const hold = model.live[step.pick % model.live.length];
                const amount = step.op === 'commit' ? Math.floor((hold.amount * step.permille) / 1000) : 0;
                const res =
                  step.op === 'commit'
                    ? await api.post(`/v1/reservations/${hold.id}/commit`, { amount }, { key, idempotencyKey: uniqueId('c') })
                    : await api.post(`/v1/reservations/${hold.id}/release`, {}, { key, idempotencyKey: uniqueId('r') });
                model.live.splice(model.live.indexOf(hold), 1);
                if (hold.expiresAt <= now) {
                  expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status: 409, code: 'reservation_not_held' });
                } else {
                  expect({ what, status: res.status }).toEqual({ what, status: 200 });
                  if (step.op === 'commit') model.charges.push({ hold, amount });
                }
                break;
              }
              case 'project': {
                const project = PROJECTS[step.p];
                const body = {
                  limit: step.cap.limit,
                  period: step.cap.period,
                  default_user_limit: step.defaultCap.limit,
                  default_user_period: step.defaultCap.period,
                };
                ok(await api.put(`/v1/orgs/${orgId}/projects/${project}`, body), what, model.projects.has(project) ? 200 : 201);
                model.projects.set(project, { cap: step.cap, defaultCap: step.defaultCap });
                break;
              }
              case 'user': {
                const [project, user] = [PROJECTS[step.p], USERS[step.u]];
                ok(
                  await api.put(`/v1/orgs/${orgId}/projects/${project}/users/${user}`, step.cap),
                  what,
                  model.users.has(`${project}/${user}`) ? 200 : 201,
                );
                if (!model.projects.has(project))
                  model.projects.set(project, { cap: { limit: null, period: 'none' }, defaultCap: { limit: null, period: 'none' } });
                model.users.set(`${project}/${user}`, step.cap);
                break;
              }
              case 'autoCreate':
                ok(await api.put(`/v1/orgs/${orgId}/settings`, { auto_create: step.on }), what);
                model.autoCreate = step.on;
                break;
              case 'tick':
                clock.advance(step.ms);
                break;
              case 'rebuild': {
                const keys = await redis.keys(`*{${orgId}:live}*`);
                if (keys.length > 0) await redis.del(...keys);
                break;
              }
            }
            const at = clock.now().getTime();
            const served = shape(ok(await api.get(`/v1/orgs/${orgId}/usage`), 'tree').body);
            expect({ after: what, tree: served }).toEqual({ after: what, tree: modelTree(model, at) });
            expect({ after: what, tree: served }).toEqual({ after: what, tree: await treeFromPostgres(em, orgId, credits, at) });
          }
        },
      ),
      { numRuns: 25, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true },
    );
    expect(steps).toBeGreaterThan(100);
  }, 180_000);
});
