import { SchedulerRegistry } from '@nestjs/schedule';
import { createTestApp, ManualClock, TestApp, TestClient, uniqueId } from '@tollgate/testing';

/**
 * Spend over time (GET /v1/orgs/{org}/spend) and the overage in the variance report. The app
 * runs on a clock the test moves, its schedulers stopped, so each commit lands on the day, ISO
 * week and month the test says.
 */

const CARD = {
  name: 'Spend',
  rates: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.3' }],
};

describe.each([
  ['Postgres + Redis', false],
  ['embedded', true],
])('spend over time and overage in the variance report (%s)', (_name, embedded) => {
  let t: TestApp;
  let api: TestClient;
  let cardId: string;
  const clock = new ManualClock(new Date('2026-11-12T10:00:00.000Z'));

  beforeAll(async () => {
    t = await createTestApp({ clock, embedded });
    const registry = t.app.get(SchedulerRegistry);
    for (const name of registry.getIntervals()) registry.deleteInterval(name);
    api = t.client;
    // The card's rates start when it is made: made before every commit of these tests.
    clock.set(new Date('2026-10-01T00:00:00.000Z'));
    const card = await api.post('/v1/rate-cards', CARD);
    expect(card.status).toBe(201);
    cardId = card.body.id;
  }, 120_000);
  afterAll(() => t.close());

  async function fund(extra: Record<string, unknown> = {}) {
    // Credits count from their grant: granted before every commit of these tests.
    clock.set(new Date('2026-10-01T00:00:00.000Z'));
    const org = await api.createOrg(uniqueId('sp'), { rate_card_id: cardId, ...extra });
    expect((await api.post(`/v1/orgs/${org}/credits`, { amount: 100_000_000, reason: 'top-up' })).status).toBe(201);
    const key = (await api.createOrgKey(org, ['admission', 'read'])).secret;
    return { org, key };
  }

  /** Holds and commits at `at`: a raw amount, or video seconds (300,000 micro-credits a second). */
  async function commitAt(
    at: string,
    key: string,
    org: string,
    scope: { project: string; user: string },
    charge: { amount: number } | { seconds: number; held?: number },
  ) {
    clock.set(new Date(at));
    const body =
      'amount' in charge
        ? { amount: charge.amount }
        : { product: 'video.generate', usage: { video_seconds: charge.held ?? charge.seconds } };
    const held = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: scope.project, user_id: scope.user, ...body },
      { key, idempotencyKey: uniqueId('k') },
    );
    expect({ status: held.status, body: held.status === 201 ? null : held.body }).toEqual({ status: 201, body: null });
    const commit = 'amount' in charge ? { amount: charge.amount } : { usage: { video_seconds: charge.seconds } };
    const committed = await api.post(`/v1/reservations/${held.body.id}/commit`, commit, { key, idempotencyKey: uniqueId('c') });
    expect(committed.status).toBe(200);
    expect(committed.body.committed_at).toBe(new Date(at).toISOString());
    return committed.body;
  }

  async function spend(org: string, query: string, key?: string) {
    const res = await api.get(`/v1/orgs/${org}/spend?${query}`, key ? { key } : {});
    expect({ status: res.status, body: res.status === 200 ? 'ok' : res.body }).toEqual({ status: 200, body: 'ok' });
    return res.body;
  }

  /**
   * Saturday 31 October 23:30 (October, ISO week 44), Sunday 1 November 00:10 (November, still
   * week 44), Monday 2 November 12:00 and 23:59:59.999 (week 45).
   */
  async function fourCommits() {
    const { org, key } = await fund();
    await commitAt('2026-10-31T23:30:00.000Z', key, org, { project: 'p1', user: 'u1' }, { amount: 100_000 });
    await commitAt('2026-11-01T00:10:00.000Z', key, org, { project: 'p1', user: 'u2' }, { seconds: 1 });
    await commitAt('2026-11-02T12:00:00.000Z', key, org, { project: 'p2', user: 'u1' }, { amount: 50_000 });
    await commitAt('2026-11-02T23:59:59.999Z', key, org, { project: 'p1', user: 'u1' }, { seconds: 2 });
    return { org, key };
  }

  it('buckets charged spend per UTC day, ISO week and month, per project, with exact amounts and zero buckets', async () => {
    const { org, key } = await fourCommits();
    const days = await spend(org, 'from=2026-10-30T12:00:00Z&to=2026-11-04T00:00:00Z&interval=day', key);
    expect(days).toEqual({
      org_id: org,
      from: '2026-10-30T12:00:00.000Z',
      to: '2026-11-04T00:00:00.000Z',
      interval: 'day',
      group_by: 'project',
      top: 100,
      amount: 1_050_000,
      data: [
        // The first bucket keeps its calendar bounds though the window starts at noon.
        { start: '2026-10-30T00:00:00.000Z', end: '2026-10-31T00:00:00.000Z', amount: 0, count: 0, groups: [] },
        {
          start: '2026-10-31T00:00:00.000Z',
          end: '2026-11-01T00:00:00.000Z',
          amount: 100_000,
          count: 1,
          groups: [{ key: 'p1', amount: 100_000, count: 1 }],
        },
        {
          start: '2026-11-01T00:00:00.000Z',
          end: '2026-11-02T00:00:00.000Z',
          amount: 300_000,
          count: 1,
          groups: [{ key: 'p1', amount: 300_000, count: 1 }],
        },
        {
          start: '2026-11-02T00:00:00.000Z',
          end: '2026-11-03T00:00:00.000Z',
          amount: 650_000,
          count: 2,
          groups: [
            { key: 'p1', amount: 600_000, count: 1 },
            { key: 'p2', amount: 50_000, count: 1 },
          ],
        },
        { start: '2026-11-03T00:00:00.000Z', end: '2026-11-04T00:00:00.000Z', amount: 0, count: 0, groups: [] },
      ],
    });

    const weeks = await spend(org, 'from=2026-10-26T00:00:00Z&to=2026-11-09T00:00:00Z&interval=week');
    expect(weeks.data).toEqual([
      {
        start: '2026-10-26T00:00:00.000Z', // Monday of ISO week 44
        end: '2026-11-02T00:00:00.000Z',
        amount: 400_000,
        count: 2,
        groups: [{ key: 'p1', amount: 400_000, count: 2 }],
      },
      {
        start: '2026-11-02T00:00:00.000Z',
        end: '2026-11-09T00:00:00.000Z',
        amount: 650_000,
        count: 2,
        groups: [
          { key: 'p1', amount: 600_000, count: 1 },
          { key: 'p2', amount: 50_000, count: 1 },
        ],
      },
    ]);

    const months = await spend(org, 'from=2026-10-15T00:00:00Z&to=2026-12-01T00:00:00Z&interval=month');
    expect(months.data).toEqual([
      {
        start: '2026-10-01T00:00:00.000Z',
        end: '2026-11-01T00:00:00.000Z',
        amount: 100_000,
        count: 1,
        groups: [{ key: 'p1', amount: 100_000, count: 1 }],
      },
      {
        start: '2026-11-01T00:00:00.000Z',
        end: '2026-12-01T00:00:00.000Z',
        amount: 950_000,
        count: 3,
        groups: [
          { key: 'p1', amount: 900_000, count: 2 },
          { key: 'p2', amount: 50_000, count: 1 },
        ],
      },
    ]);

    // The window is half-open: a commit at `to` is out, one at `from` is in.
    const edge = await spend(org, 'from=2026-11-01T00:10:00Z&to=2026-11-02T23:59:59.999Z&interval=month');
    expect(edge.data).toEqual([
      {
        start: '2026-11-01T00:00:00.000Z',
        end: '2026-12-01T00:00:00.000Z',
        amount: 350_000,
        count: 2,
        groups: [
          { key: 'p1', amount: 300_000, count: 1 },
          { key: 'p2', amount: 50_000, count: 1 },
        ],
      },
    ]);
  });

  it('groups by product (null for raw amounts) and by user within its project', async () => {
    const { org } = await fourCommits();
    const window = 'from=2026-10-31T00:00:00Z&to=2026-11-03T00:00:00Z&interval=week';
    const byProduct = await spend(org, `${window}&group_by=product`);
    expect(byProduct.data.map((b: any) => [b.start, b.groups])).toEqual([
      [
        '2026-10-26T00:00:00.000Z',
        [
          { key: 'video.generate', amount: 300_000, count: 1 },
          { key: null, amount: 100_000, count: 1 },
        ],
      ],
      [
        '2026-11-02T00:00:00.000Z',
        [
          { key: 'video.generate', amount: 600_000, count: 1 },
          { key: null, amount: 50_000, count: 1 },
        ],
      ],
    ]);
    const byUser = await spend(org, `${window}&group_by=user`);
    expect(byUser.data.map((b: any) => b.groups)).toEqual([
      [
        { key: 'u1', project_id: 'p1', amount: 100_000, count: 1 },
        { key: 'u2', project_id: 'p1', amount: 300_000, count: 1 },
      ],
      [
        { key: 'u1', project_id: 'p1', amount: 600_000, count: 1 },
        { key: 'u1', project_id: 'p2', amount: 50_000, count: 1 },
      ],
    ]);
    expect(byUser.amount).toBe(1_050_000);
  });

  it('lists the top groups of a bucket, largest first, and sums the rest into others', async () => {
    const { org, key } = await fund();
    // One day, five users: u1 100, u2 500, u3 300 (twice: 600), u4 50, u5 500 micro-credits.
    const charges: Array<[string, number]> = [
      ['u1', 100],
      ['u2', 500],
      ['u3', 300],
      ['u3', 300],
      ['u4', 50],
      ['u5', 500],
    ];
    for (const [i, [user, amount]] of charges.entries()) {
      await commitAt(`2026-11-05T0${i}:00:00.000Z`, key, org, { project: 'p1', user }, { amount });
    }
    const window = 'from=2026-11-05T00:00:00Z&to=2026-11-06T00:00:00Z&group_by=user';
    const top2 = await spend(org, `${window}&top=2`, key);
    expect({ top: top2.top, amount: top2.amount, data: top2.data }).toEqual({
      top: 2,
      amount: 1_750,
      data: [
        {
          start: '2026-11-05T00:00:00.000Z',
          end: '2026-11-06T00:00:00.000Z',
          amount: 1_750,
          count: 6,
          // The two largest (u3 600; u2 and u5 tie at 500, u2 first by key), listed in key order.
          groups: [
            { key: 'u2', project_id: 'p1', amount: 500, count: 1 },
            { key: 'u3', project_id: 'p1', amount: 600, count: 2 },
          ],
          others: { groups: 3, amount: 650, count: 3 },
        },
      ],
    });
    // The default lists all five: no others.
    const all = await spend(org, window, key);
    expect(all.data[0].groups.map((g: any) => g.key)).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    expect(all.data[0]).not.toHaveProperty('others');
    for (const top of ['0', '1001', '2.5', 'x']) {
      const res = await api.get(`/v1/orgs/${org}/spend?${window}&top=${top}`, { key });
      const fields = [...new Set(res.body.errors?.map((e: any) => e.field))];
      expect({ top, status: res.status, code: res.body.code, fields }).toEqual({
        top,
        status: 422,
        code: 'validation_failed',
        fields: ['top'],
      });
    }
  });

  it('shows what was charged above the hold in the variance report, per group', async () => {
    const allow = await fund({ overage_policy: 'allow' });
    // Held 1 s (300,000), used 1.5 s: 450,000 charged, 150,000 above the hold.
    const over = await commitAt('2026-11-03T09:00:00.000Z', allow.key, allow.org, { project: 'p1', user: 'u1' }, { seconds: 1.5, held: 1 });
    expect(over).toMatchObject({ amount_committed: 450_000, overage: true });
    await commitAt('2026-11-03T10:00:00.000Z', allow.key, allow.org, { project: 'p1', user: 'u1' }, { seconds: 1, held: 2 });
    await commitAt('2026-11-03T11:00:00.000Z', allow.key, allow.org, { project: 'p2', user: 'u1' }, { amount: 7 });
    const report = await api.get(`/v1/orgs/${allow.org}/variance?group_by=project`, { key: allow.key });
    expect(report.status).toBe(200);
    expect(report.body.data).toEqual([
      expect.objectContaining({
        project_id: 'p1',
        count: 2,
        estimate: 900_000,
        actual: 750_000,
        overran: 1,
        overage_count: 1,
        overage_amount: 150_000,
      }),
      expect.objectContaining({ project_id: 'p2', count: 1, overran: 0, overage_count: 0, overage_amount: 0 }),
    ]);
    // Capped at the hold: the commit overran its estimate, but nothing was charged above it.
    const capped = await fund({ overage_policy: 'cap_at_hold' });
    const cap = await commitAt('2026-11-03T12:00:00.000Z', capped.key, capped.org, { project: 'p1', user: 'u1' }, { seconds: 3, held: 1 });
    expect(cap.amount_committed).toBe(300_000);
    expect((await api.get(`/v1/orgs/${capped.org}/variance?group_by=product`)).body.data).toEqual([
      expect.objectContaining({
        product: 'video.generate',
        count: 1,
        estimate: 300_000,
        actual: 900_000,
        overran: 1,
        overage_count: 0,
        overage_amount: 0,
      }),
    ]);
  });

  it('shows each node’s overage in its current period in the usage tree', async () => {
    const { org, key } = await fund({ overage_policy: 'allow' });
    // p1 counts by day, its user u1 by ISO week; p2 has no period (all time).
    clock.set(new Date('2026-11-02T00:00:00.000Z'));
    expect((await api.put(`/v1/orgs/${org}/projects/p1`, { limit: 50_000_000, period: 'day' })).status).toBe(201);
    expect((await api.put(`/v1/orgs/${org}/projects/p1/users/u1`, { limit: 50_000_000, period: 'week' })).status).toBe(201);
    // Tuesday 3 and Wednesday 4 November (week 45): 150,000 and 300,000 above their holds.
    await commitAt('2026-11-03T09:00:00.000Z', key, org, { project: 'p1', user: 'u1' }, { seconds: 1.5, held: 1 });
    await commitAt('2026-11-04T09:00:00.000Z', key, org, { project: 'p1', user: 'u1' }, { seconds: 2, held: 1 });
    await commitAt('2026-11-04T10:00:00.000Z', key, org, { project: 'p1', user: 'u1' }, { seconds: 1, held: 2 });
    await commitAt('2026-11-04T11:00:00.000Z', key, org, { project: 'p2', user: 'u2' }, { seconds: 1, held: 1 });
    clock.set(new Date('2026-11-04T12:00:00.000Z'));
    const tree = await api.get(`/v1/orgs/${org}/usage`, { key });
    expect(tree.status).toBe(200);
    const figures = (node: any) => ({ id: node.id, period: node.period, committed: node.committed, overage: node.overage });
    const p1 = tree.body.projects.find((p: any) => p.id === 'p1');
    const p2 = tree.body.projects.find((p: any) => p.id === 'p2');
    expect({
      org: figures(tree.body.org),
      p1: figures(p1),
      u1: figures(p1.users[0]),
      p2: figures(p2),
      u2: figures(p2.users[0]),
    }).toEqual({
      org: { id: org, period: 'none', committed: 1_650_000, overage: 450_000 },
      // Today only: the 4 November commits.
      p1: { id: 'p1', period: 'day', committed: 900_000, overage: 300_000 },
      // This ISO week: both overruns.
      u1: { id: 'u1', period: 'week', committed: 1_350_000, overage: 450_000 },
      p2: { id: 'p2', period: 'none', committed: 300_000, overage: 0 },
      u2: { id: 'u2', period: 'none', committed: 300_000, overage: 0 },
    });
    // Next Monday (week 46): the week and the day have no overage left; all time keeps it.
    clock.set(new Date('2026-11-09T08:00:00.000Z'));
    const later = await api.get(`/v1/orgs/${org}/usage`, { key });
    const laterP1 = later.body.projects.find((p: any) => p.id === 'p1');
    expect([figures(later.body.org), figures(laterP1), figures(laterP1.users[0])]).toEqual([
      { id: org, period: 'none', committed: 1_650_000, overage: 450_000 },
      { id: 'p1', period: 'day', committed: 0, overage: 0 },
      { id: 'u1', period: 'week', committed: 0, overage: 0 },
    ]);
    // Capped at the hold: overran, but nothing charged above it, so no overage anywhere.
    const capped = await fund({ overage_policy: 'cap_at_hold' });
    await commitAt('2026-11-09T09:00:00.000Z', capped.key, capped.org, { project: 'p1', user: 'u1' }, { seconds: 3, held: 1 });
    const cappedTree = await api.get(`/v1/orgs/${capped.org}/usage`, { key: capped.key });
    expect([figures(cappedTree.body.org), figures(cappedTree.body.projects[0])]).toEqual([
      { id: capped.org, period: 'none', committed: 300_000, overage: 0 },
      { id: 'p1', period: 'none', committed: 300_000, overage: 0 },
    ]);
  });

  it('never shows one organization’s spend to another’s key, nor the live environment to a test key', async () => {
    const a = await fourCommits();
    const b = await fund();
    const window = 'from=2026-10-31T00:00:00Z&to=2026-11-03T00:00:00Z&interval=month';
    const other = await api.get(`/v1/orgs/${a.org}/spend?${window}`, { key: b.key });
    expect({ status: other.status, code: other.body.code }).toEqual({ status: 404, code: 'unknown_org' });
    const admission = (await api.createOrgKey(a.org, ['admission'])).secret;
    expect((await api.get(`/v1/orgs/${a.org}/spend?${window}`, { key: admission })).status).toBe(403);
    const testKey = (await api.createOrgKey(a.org, ['read'], 'test')).secret;
    const testEnv = await spend(a.org, window, testKey);
    expect(testEnv.amount).toBe(0);
    expect(testEnv.data.map((bucket: any) => bucket.groups)).toEqual([[], []]);
    expect((await spend(b.org, window, b.key)).amount).toBe(0);
    expect((await spend(a.org, window, a.key)).amount).toBe(1_050_000);
  });

  it('answers 422 naming the field for a bad window, interval or grouping', async () => {
    const { org, key } = await fund();
    const cases: Array<[string, string]> = [
      ['to=2026-11-03T00:00:00Z', 'from'],
      ['from=2026-11-01T00:00:00Z', 'to'],
      ['from=yesterday&to=2026-11-03T00:00:00Z', 'from'],
      ['from=2026-11-01T00:00:00Z&to=soon', 'to'],
      ['from=2026-11-03T00:00:00Z&to=2026-11-03T00:00:00Z', 'to'],
      ['from=2026-11-04T00:00:00Z&to=2026-11-03T00:00:00Z', 'to'],
      // 401 days of days is too many; the same window by week is fine.
      ['from=2025-10-01T00:00:00Z&to=2026-11-06T00:00:00Z&interval=day', 'to'],
      ['from=2016-01-01T00:00:00Z&to=2026-11-06T00:00:00Z&interval=month', 'to'],
      ['from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z&interval=hour', 'interval'],
      ['from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z&group_by=model', 'group_by'],
    ];
    for (const [query, field] of cases) {
      const res = await api.get(`/v1/orgs/${org}/spend?${query}`, { key });
      expect({ query, status: res.status, code: res.body.code, fields: res.body.errors?.map((e: any) => e.field) }).toEqual({
        query,
        status: 422,
        code: 'validation_failed',
        fields: expect.arrayContaining([field]),
      });
    }
    expect((await api.get(`/v1/orgs/${org}/spend?from=2025-10-01T00:00:00Z&to=2026-11-06T00:00:00Z&interval=week`, { key })).status).toBe(
      200,
    );
  });
});
