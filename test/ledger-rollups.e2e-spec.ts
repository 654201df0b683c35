import { EntityManager } from '@mikro-orm/postgresql';
import { EnsureScopeLoadedUseCase, HoldLedger, QuotaScope } from '@tollgate/quota';
import { createTestApp, eventually, ManualClock, TestApp, TestClient, uniqueId, STORE_MODES, legacyLedger } from '@tollgate/testing';

/**
 * Decision 021: the ledger's rollups (kept by a trigger in the ledger rows' own statement) equal
 * a fresh aggregation of usage_ledger, the HoldLedger reads answer exactly what the former
 * full-ledger aggregation answered, and a store rebuilt from them shows the same usage tree as
 * the store it replaced: after a week of mixed reserves, commits and releases by several users
 * in several projects, across a month and an ISO-week boundary, with day / week / month
 * periods, holds admitted one day and committed the next, and credit grants that expire.
 */

/** Images priced by a graduated rate: the running quantity of the month prices the next commit. */
const CARD = {
  name: 'Rollups',
  rates: [
    {
      product: 'image.generate',
      dimension: 'images',
      model: 'graduated',
      tiers: [
        { up_to: 40, unit_price: '0.05' },
        { up_to: null, unit_price: '0.04' },
      ],
    },
  ],
};

/** Set up on Thursday 26 November 2026; the workload runs from Friday 27 (ISO week 48) to Thursday 3 December (week 49). */
const START = new Date('2026-11-26T20:17:30.000Z');
/**
 * Not at a step's instant: the grant-expiry sweep computes the pool when it runs, so a commit
 * stamped exactly at the expiry but written after the sweep would leave the live pool stricter
 * than a rebuild's until the next sync.
 */
const EXPIRES_FIRST = '2026-11-30T12:30:00.000Z';
const EXPIRES_SECOND = '2026-12-02T00:30:00.000Z';
/** Times of day of the steps: both sides of an hour to the millisecond, and late holds committed the next day. */
const STEPS = ['00:05:00.000', '09:30:00.000', '11:59:59.999', '12:00:00.000', '12:00:00.001', '17:45:10.250', '23:55:00.000'];
const PROJECTS = ['p-day', 'p-week', 'p-month', 'p-free'];
const USERS = ['u0', 'u1', 'u2'];

const byJson = <T>(items: T[]) => [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe.each(STORE_MODES)('ledger rollups ($name)', (mode) => {
  let t: TestApp;
  let api: TestClient;
  let cardId: string;
  const clock = new ManualClock(START);
  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []) =>
    t.app.get(EntityManager).getConnection().execute<T[]>(query, params);

  beforeAll(async () => {
    // The sweepers keep running on the test's clock: the grant-expiry sweep shrinks the live pool.
    t = await createTestApp({ clock, embedded: mode.embedded });
    api = t.client;
    clock.set(new Date('2026-11-01T00:00:00.000Z'));
    const card = await api.post('/v1/rate-cards', CARD);
    expect(card.status).toBe(201);
    cardId = card.body.id;
  }, 120_000);
  afterAll(() => t.close());

  /** The rollup tables, and the same figures aggregated afresh from usage_ledger. */
  async function expectRollupsEqualLedger(org: string) {
    const pairs: [string, string][] = [
      [
        `select day, project_id, user_id, week, month, amount::text, entries::text from usage_rollups where org_id = ? order by 1, 2, 3, 4, 5`,
        `select coalesce(periods->>'day', '') as day, project_id, user_id, coalesce(periods->>'week', '') as week,
                coalesce(periods->>'month', '') as month, sum(amount)::text as amount, count(*)::text as entries
           from usage_ledger where org_id = ? group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`,
      ],
      [
        `select project_id, user_id, amount::text, entries::text from usage_rollup_totals where org_id = ? order by 1, 2`,
        `select project_id, user_id, sum(amount)::text as amount, count(*)::text as entries from usage_ledger where org_id = ? group by 1, 2 order by 1, 2`,
      ],
      [
        `select hour, amount::text, entries::text from usage_rollup_hours where org_id = ? order by 1`,
        `select date_trunc('hour', committed_at, 'UTC') as hour, sum(amount)::text as amount, count(*)::text as entries
           from usage_ledger where org_id = ? group by 1 order by 1`,
      ],
      [
        `select quantity_period, product, dimension, value::text, entries::text from usage_rollup_quantities where org_id = ? order by 1, 2, 3`,
        `select l.quantity_period, l.product, u.key as dimension, sum(u.value::numeric)::text as value, count(*)::text as entries
           from usage_ledger l, jsonb_each_text(l.usage) u where l.org_id = ? and l.product is not null group by 1, 2, 3 order by 1, 2, 3`,
      ],
    ];
    const sizes: number[] = [];
    for (const [rollup, fresh] of pairs) {
      const [kept, aggregated] = [await sql(rollup, [org]), await sql(fresh, [org])];
      expect(kept).toEqual(aggregated);
      sizes.push(aggregated.length);
    }
    return sizes;
  }

  /** The HoldLedger reads (what a rebuild installs) against the former full-ledger aggregation, at `now` and at every instant given. */
  async function expectReadsEqualReference(org: string, instants: Date[]) {
    const scope: QuotaScope = { orgId: org, environment: 'live' };
    const ledger = t.app.get(HoldLedger);
    const now = clock.now();
    // The former HoldLedger reads, over the whole ledger: the reference the rollups must match exactly.
    const reference = legacyLedger(sql);
    expect(byJson(await ledger.committed(scope, now))).toEqual(byJson(await reference.committed(scope, now)));
    expect(await ledger.consumedAt(scope, instants)).toEqual(await reference.consumedAt(scope, instants));
    expect(byJson(await ledger.quantities(scope, now))).toEqual(byJson(await reference.quantities(scope, now)));
  }

  async function tree(org: string) {
    const res = await api.get(`/v1/orgs/${org}/usage`);
    expect(res.status).toBe(200);
    return res.body;
  }

  /** The tree of the live store, then of a store rebuilt from Postgres alone: the same. */
  async function expectRebuildKeepsTree(org: string) {
    // The live pool has caught up with any grant that expired since the clock moved.
    const pool = (await t.app.get(EnsureScopeLoadedUseCase).snapshot({ orgId: org, environment: 'live' })).nodes[0].config.limit;
    await eventually(async () => expect((await tree(org)).org.limit).toBe(pool), 5_000);
    const before = await tree(org);
    expect(await mode.loseStore(t, org)).toBe(true);
    expect(await tree(org)).toEqual(before);
    return before;
  }

  it('after a week of mixed traffic, rollups equal the ledger, reads equal the full aggregation, and a rebuild keeps the tree', async () => {
    clock.set(START);
    const org = await api.createOrg(uniqueId('ru'), { rate_card_id: cardId, overage_policy: 'allow' });
    const ok = (res: { status: number; body: unknown }) =>
      expect({ success: res.status >= 200 && res.status < 300, body: res.body }).toMatchObject({ success: true });
    ok(await api.put(`/v1/orgs/${org}/settings`, { max_ttl_seconds: 86_400 }));
    ok(await api.post(`/v1/orgs/${org}/credits`, { amount: 30_000_000, reason: 'top-up' }));
    ok(
      await api.put(`/v1/orgs/${org}/projects/p-day`, {
        limit: 6_000_000,
        period: 'day',
        default_user_limit: 2_500_000,
        default_user_period: 'week',
      }),
    );
    ok(await api.put(`/v1/orgs/${org}/projects/p-week`, { limit: 9_000_000, period: 'week' }));
    ok(await api.put(`/v1/orgs/${org}/projects/p-month`, { limit: 14_000_000, period: 'month' }));
    ok(await api.put(`/v1/orgs/${org}/projects/p-month/users/u1`, { limit: 3_000_000, period: 'month' }));
    const key = (await api.createOrgKey(org, ['admission', 'read'])).secret;

    // A seeded generator: the same workload every run.
    let seed = 20261205;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor(seed / 65_536) % n; // the high bits: an LCG's low bits cycle
    };
    const reserve = async (body: Record<string, unknown>) =>
      api.post('/v1/reservations', { org_id: org, ...body }, { key, idempotencyKey: uniqueId('k') });
    const finish = async (id: string, path: 'commit' | 'release', body: Record<string, unknown>) => {
      const res = await api.post(`/v1/reservations/${id}/${path}`, body, { key, idempotencyKey: uniqueId('c') });
      expect({ status: res.status, body: res.body }).toMatchObject({ status: 200 });
      return res.body;
    };
    let overnight: { id: string; amount: number }[] = [];
    const committedIds: string[] = [];
    let checks = 0;
    for (let d = 0; d < 7; d++) {
      const date = new Date(Date.UTC(2026, 10, 27 + d)).toISOString().slice(0, 10);
      for (const time of STEPS) {
        clock.set(new Date(`${date}T${time}Z`));
        // A promotion for the morning: less is spent before it expires at 12:30 than it gave, and the rest is forfeited.
        if (date === '2026-11-30' && time === '09:30:00.000')
          ok(await api.post(`/v1/orgs/${org}/credits`, { amount: 4_000_000, reason: 'promo', expires_at: EXPIRES_FIRST }));
        // Holds admitted before midnight are committed on the next day, in the periods they were admitted in.
        for (const hold of overnight) committedIds.push((await finish(hold.id, 'commit', { amount: 1 + next(hold.amount) })).id);
        overnight = [];
        for (let i = 0; i < 3; i++) {
          const scope = { project_id: PROJECTS[next(PROJECTS.length)], user_id: USERS[next(USERS.length)] };
          const op = next(6);
          if (op === 0) {
            const images = 1 + next(12);
            const held = await reserve({ ...scope, product: 'image.generate', usage: { images }, ttl_seconds: 3_600 });
            if (held.status === 201) committedIds.push((await finish(held.body.id, 'commit', { usage: { images: 1 + next(images) } })).id);
            else expect({ status: held.status, body: held.body }).toMatchObject({ status: 402 });
            continue;
          }
          const amount = 10_000 + next(400_000);
          const held = await reserve({ ...scope, amount, ttl_seconds: time === '23:55:00.000' ? 1_800 : 600 + next(3_000) });
          if (held.status !== 201) {
            expect({ status: held.status, body: held.body }).toMatchObject({ body: { code: 'insufficient_budget' } });
            continue;
          }
          if (time === '23:55:00.000' && op < 4) overnight.push({ id: held.body.id, amount });
          else if (op === 1) await finish(held.body.id, 'release', { reason: 'provider_failed' });
          else if (op === 5)
            continue; // still held at the check, or expired by a later one
          // Sometimes above the hold: charged under the `allow` policy.
          else committedIds.push((await finish(held.body.id, 'commit', { amount: 1 + next(Math.floor(amount * 1.2)) })).id);
        }
      }
      if (date === '2026-11-28') {
        clock.set(new Date(`${date}T23:58:20.000Z`));
        ok(await api.post(`/v1/orgs/${org}/credits`, { amount: 2_000_000, reason: 'promo', expires_at: EXPIRES_SECOND }));
      }
      // End of the day: everything must agree, and a rebuild must change nothing.
      const instants = [
        new Date(EXPIRES_FIRST),
        new Date(Date.parse(EXPIRES_FIRST) - 1),
        new Date(EXPIRES_SECOND),
        START,
        new Date(`${date}T11:59:59.999Z`),
        new Date(`${date}T12:00:00.000Z`),
        new Date(`${date}T17:45:10.250Z`),
        clock.now(),
      ];
      await expectRollupsEqualLedger(org);
      await expectReadsEqualReference(org, instants);
      await expectRebuildKeepsTree(org);
      checks++;
    }
    expect(checks).toBe(7);
    // Every rollup has rows to compare (the quantities' from the priced commits).
    for (const size of await expectRollupsEqualLedger(org)) expect(size).toBeGreaterThan(0);
    expect(committedIds.length).toBeGreaterThan(40);

    // The rebuilt pool counts what the morning promotion forfeited (at most 6 commits of < 500,000 were drawn from it).
    const final = await expectRebuildKeepsTree(org);
    expect(final.org.limit).toBeLessThan(30_000_000 + 4_000_000 + 2_000_000);
    const [{ c }] = await sql<{ c: string }>(`select sum(amount)::text as c from usage_ledger where org_id = ?`, [org]);
    expect(final.org.committed).toBe(Number(c));
    // Periods of every kind were exercised: the tree shows today's day, this ISO week and December.
    const projects = Object.fromEntries((final.projects as { id: string; period_start: string | null }[]).map((p) => [p.id, p]));
    expect(projects['p-day'].period_start).toBe('2026-12-03T00:00:00.000Z');
    expect(projects['p-week'].period_start).toBe('2026-11-30T00:00:00.000Z');
    expect(projects['p-month'].period_start).toBe('2026-12-01T00:00:00.000Z');
    const [{ n }] = await sql<{ n: string }>(
      `select count(distinct periods->>'day')::text as n from usage_ledger where org_id = ? and (periods->>'day') <> to_char(committed_at at time zone 'UTC', 'YYYY-MM-DD')`,
      [org],
    );
    expect(Number(n)).toBeGreaterThan(0); // holds committed on a later day than they were admitted

    // A conflicting duplicate of a ledger row never counts, and a statement that fails leaves no trace.
    const before = await sql(`select * from usage_rollup_totals where org_id = ? order by project_id, user_id`, [org]);
    const columns = `id, reservation_id, org_id, environment, project_id, user_id, amount, periods, committed_at, product, usage, quantity_period`;
    await sql(`insert into usage_ledger (${columns}) select ${columns} from usage_ledger where reservation_id = ? on conflict do nothing`, [
      committedIds[0],
    ]);
    // A reservation with no committed outcome (released, expired or still held): its ledger row fails the statement at commit.
    const [uncommitted] = await sql<{ id: string }>(
      `select r.id from reservations r left join reservation_outcomes o on o.reservation_id = r.id
        where r.org_id = ? and o.status is distinct from 'committed' limit 1`,
      [org],
    );
    await expect(
      sql(
        `insert into usage_ledger (${columns})
         select 'use_rollup_test', ?, org_id, environment, project_id, user_id, 777, periods, committed_at, null, null, null
           from usage_ledger where reservation_id = ?`,
        [uncommitted.id, committedIds[0]],
      ),
    ).rejects.toThrow(/without a committed outcome/);
    expect(await sql(`select * from usage_rollup_totals where org_id = ? order by project_id, user_id`, [org])).toEqual(before);
    await expectRollupsEqualLedger(org);
  }, 240_000);
});
