import { EntityManager } from '@mikro-orm/postgresql';
import { createTestApp, TestApp, TestClient, uniqueId, ledgerInvariantProblems, STORE_MODES } from '@tollgate/testing';

/** A chat product priced per input and output token (two lines), dearer for the large model; video per second. */
const CARD = {
  name: 'Usage events',
  rates: [
    { product: 'llm.chat', dimension: 'input_tokens', model: 'flat', unit_price: '0.000002' },
    { product: 'llm.chat', dimension: 'output_tokens', model: 'flat', unit_price: '0.000008' },
    { product: 'llm.chat', dimension: 'input_tokens', match: { model: 'large' }, model: 'flat', unit_price: '0.00001' },
    { product: 'llm.chat', dimension: 'output_tokens', match: { model: 'large' }, model: 'flat', unit_price: '0.00003' },
    { product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.3' },
  ],
};

describe.each(STORE_MODES)('usage events ($name)', (mode) => {
  let t: TestApp;
  let api: TestClient;
  let cardId: string;
  const orgs: string[] = [];
  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []) =>
    t.app.get(EntityManager).getConnection().execute<T[]>(query, params);

  beforeAll(async () => {
    t = await createTestApp({ embedded: mode.embedded });
    api = t.client;
    const card = await api.post('/v1/rate-cards', CARD);
    expect(card.status).toBe(201);
    cardId = card.body.id;
  }, 120_000);

  afterAll(async () => {
    // The invariant, over every organization this suite made: usage events, ledger and the tree agree.
    try {
      for (const org of orgs) await expectLedgerInvariant(org);
    } finally {
      await t.close();
    }
  });

  async function fund(extra: Record<string, unknown> = {}) {
    const org = await api.createOrg(uniqueId('ue'), { rate_card_id: cardId, ...extra });
    orgs.push(org);
    await api.post(`/v1/orgs/${org}/credits`, { amount: 100_000_000, reason: 'top-up' });
    const key = (await api.createOrgKey(org, ['admission', 'read'])).secret;
    return { org, key };
  }

  const chat = (org: string, input: number, output: number, model = 'large') => ({
    org_id: org,
    project_id: 'p',
    user_id: 'u',
    product: 'llm.chat',
    usage: { input_tokens: input, output_tokens: output },
    dimensions: { model },
  });

  async function hold(key: string, body: Record<string, unknown>) {
    const res = await api.post('/v1/reservations', body, { key, idempotencyKey: uniqueId('k') });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function events(org: string, query = '', key?: string) {
    const res = await api.get(`/v1/orgs/${org}/usage-events${query}`, key ? { key } : {});
    expect(res.status).toBe(200);
    return res.body.data as any[];
  }

  async function expectLedgerInvariant(org: string) {
    const tree = (await api.get(`/v1/orgs/${org}/usage`)).body;
    expect({ org, problems: await ledgerInvariantProblems(sql, { orgId: org, environment: 'live' }, tree) }).toEqual({ org, problems: [] });
    const [e] = await sql<{ n: string }>(`select count(*) as n from usage_events where org_id = ? and environment = 'live'`, [org]);
    // One outbox row per event, pending until the dispatcher routes it (decision 025).
    const [o] = await sql<{ n: string }>(
      `select count(*) as n from usage_outbox x join usage_events v on v.id = x.event_id where v.org_id = ? and x.destination = 'default' and x.status in ('pending', 'routed')`,
      [org],
    );
    expect(Number(o.n)).toBe(Number(e.n));
  }

  it('makes one event per charged line of a priced commit, with the documented fields and exact amounts', async () => {
    const { org, key } = await fund({ overage_policy: 'allow' });
    const held = await hold(key, chat(org, 2_000, 1_000));
    // Estimate: 2,000 × 0.00001 + 1,000 × 0.00003 credits = 20,000 + 30,000 micro-credits.
    expect(held.amount).toBe(50_000);
    const committed = await api.post(
      `/v1/reservations/${held.id}/commit`,
      { usage: { input_tokens: 1_500, output_tokens: 1_234 }, provider: { name: 'openai', request_id: 'chatcmpl-1' } },
      { key, idempotencyKey: uniqueId('c') },
    );
    expect(committed.status).toBe(200);
    // 1,500 × 0.00001 = 15,000; 1,234 × 0.00003 = 37,020.
    expect(committed.body).toMatchObject({ amount_committed: 52_020, variance: 2_020, overage: true });
    const ids = committed.body.event_ids;
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^evt_[A-Za-z0-9_-]{32}$/);

    const listed = await events(org, '', key);
    expect(listed.map((e) => e.id).sort()).toEqual([...ids].sort());
    const byDimension = Object.fromEntries(listed.map((e) => [e.dimension, e]));
    const common = {
      kind: 'usage',
      org_id: org,
      environment: 'live',
      project_id: 'p',
      user_id: 'u',
      product: 'llm.chat',
      dimensions: { model: 'large' },
      rate_card_id: cardId,
      rate_id: expect.stringMatching(/\S/),
      reservation_id: held.id,
      provider: 'openai',
      provider_request_id: 'chatcmpl-1',
      occurred_at: committed.body.committed_at,
      recorded_at: expect.any(String),
    };
    expect(byDimension.input_tokens).toEqual({
      ...common,
      id: expect.any(String),
      dimension: 'input_tokens',
      line: expect.any(Number),
      quantity: '1500',
      amount: 15_000,
      estimate: 20_000,
      actual: 15_000,
      variance: -5_000,
    });
    expect(byDimension.output_tokens).toEqual({
      ...common,
      id: expect.any(String),
      dimension: 'output_tokens',
      line: expect.any(Number),
      quantity: '1234',
      amount: 37_020,
      estimate: 30_000,
      actual: 37_020,
      variance: 7_020,
    });
    expect(byDimension.input_tokens.rate_id).not.toBe(byDimension.output_tokens.rate_id);
    // The ledger row keeps the commit's variance and provider.
    const [ledger] = await sql(
      `select amount, estimate, actual, variance, provider, provider_request_id from usage_ledger where reservation_id = ?`,
      [held.id],
    );
    expect(ledger).toMatchObject({ provider: 'openai', provider_request_id: 'chatcmpl-1' });
    expect([ledger.amount, ledger.estimate, ledger.actual, ledger.variance].map(Number)).toEqual([52_020, 50_000, 52_020, 2_020]);
  });

  it('makes one event for a raw amount, and lists by window, product and cursor', async () => {
    const { org, key } = await fund();
    const raw = await hold(key, { org_id: org, project_id: 'p', user_id: 'u', amount: 900_000 });
    const rawCommit = await api.post(`/v1/reservations/${raw.id}/commit`, { amount: 400_000 }, { key, idempotencyKey: uniqueId('c') });
    expect(rawCommit.body.event_ids).toHaveLength(1);
    const video = await hold(key, {
      org_id: org,
      project_id: 'p',
      user_id: 'u2',
      product: 'video.generate',
      usage: { video_seconds: 8 },
    });
    await api.post(`/v1/reservations/${video.id}/commit`, { usage: { video_seconds: 6.5 } }, { key, idempotencyKey: uniqueId('c') });

    const all = await events(org);
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({
      id: rawCommit.body.event_ids[0],
      product: null,
      dimension: null,
      dimensions: {},
      quantity: '1',
      amount: 400_000,
      estimate: 900_000,
      actual: 400_000,
      variance: -500_000,
      rate_card_id: null,
      provider: null,
    });
    expect(all[1]).toMatchObject({ product: 'video.generate', dimension: 'video_seconds', quantity: '6.5', amount: 1_950_000 });
    expect((await events(org, '?product=video.generate')).map((e) => e.id)).toEqual([all[1].id]);
    const page1 = await api.get(`/v1/orgs/${org}/usage-events?limit=1`);
    expect(page1.body.data.map((e: any) => e.id)).toEqual([all[0].id]);
    const page2 = await api.get(`/v1/orgs/${org}/usage-events?limit=1&cursor=${page1.body.next_cursor}`);
    expect(page2.body).toEqual({ data: [all[1]], next_cursor: null });
    const at = Date.parse(all[0].occurred_at);
    expect(await events(org, `?to=${new Date(at).toISOString()}`)).toEqual([]);
    expect(await events(org, `?from=${new Date(at + 3_600_000).toISOString()}`)).toEqual([]);
    expect((await events(org, `?from=${new Date(at).toISOString()}&to=${new Date(at + 3_600_000).toISOString()}`)).length).toBe(2);
    expect((await api.get(`/v1/orgs/${org}/usage-events?from=yesterday`)).status).toBe(422);
  });

  it('makes no second event for a retried commit, a replay, another key, or a commit after the store was rebuilt', async () => {
    const { org, key } = await fund();
    const held = await hold(key, chat(org, 1_000, 1_000, 'small'));
    const body = { usage: { input_tokens: 800, output_tokens: 700 } };
    const idem = uniqueId('c');
    const both = await Promise.all([
      api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: idem }),
      api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: idem }),
    ]);
    // The same commit twice at once: one charges; the other is its replay, or, while the first is
    // still being written, 409 or a retryable 503 (it found the store behind Postgres and had it
    // rebuilt). Never a second charge: the events below are counted.
    const first = both.find((r) => r.status === 200)!;
    expect(first).toBeDefined();
    for (const r of both) {
      if (r.status === 200) expect(r.body.event_ids).toEqual(first.body.event_ids);
      else
        expect({ status: r.status, code: r.body.code }).toEqual(
          r.status === 503 ? { status: 503, code: 'store_unavailable' } : { status: 409, code: 'reservation_not_held' },
        );
    }
    const replay = await api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: idem });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect((await api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: uniqueId('c') })).status).toBe(409);
    // The store forgets the organization: the retry is answered from Postgres, and still makes nothing.
    await mode.loseStore(t, org);
    const afterRebuild = await api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: idem });
    expect(afterRebuild.status).toBe(200);
    expect(afterRebuild.body).toEqual(first.body);
    expect((await events(org)).map((e) => e.id).sort()).toEqual([...first.body.event_ids].sort());

    // A hold made before the store was lost commits once after the rebuild: its own events, once.
    const second = await hold(key, chat(org, 1_000, 1_000, 'small'));
    await mode.loseStore(t, org);
    const idem2 = uniqueId('c');
    const committed = await api.post(`/v1/reservations/${second.id}/commit`, body, { key, idempotencyKey: idem2 });
    expect(committed.status).toBe(200);
    await mode.loseStore(t, org);
    expect((await api.post(`/v1/reservations/${second.id}/commit`, body, { key, idempotencyKey: idem2 })).body).toEqual(committed.body);
    expect(await events(org)).toHaveLength(4);
    const [{ n }] = await sql<{ n: string }>(`select count(*) as n from usage_ledger where org_id = ?`, [org]);
    expect(Number(n)).toBe(2);
  });

  it('a commit whose Postgres write fails has no event, no outbox row and no ledger row; its retry has them once', async () => {
    const { org, key } = await fund();
    const held = await hold(key, chat(org, 1_000, 1_000));
    const fn = `pg_fail_${org.replace(/-/g, '_')}`;
    // Only the usage_events insert fails: the ledger row and the outcome in the same statement must not stay.
    await sql(`create or replace function ${fn}() returns trigger language plpgsql as $$
      begin if new.org_id = '${org}' then raise exception 'injected failure'; end if; return new; end $$`);
    await sql(`create trigger ${fn} before insert on usage_events for each row execute function ${fn}()`);
    const body = { usage: { input_tokens: 10, output_tokens: 10 } };
    const failed = await api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: uniqueId('c') });
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('store_unavailable');
    const count = async (table: string) =>
      Number((await sql<{ n: string }>(`select count(*) as n from ${table} where org_id = ?`, [org]))[0].n);
    expect([
      await count('usage_events'),
      await count('usage_outbox'),
      await count('usage_ledger'),
      await count('reservation_outcomes'),
    ]).toEqual([0, 0, 0, 0]);
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ committed: 0, reserved: 40_000 });
    await sql(`drop trigger ${fn} on usage_events`);
    const retried = await api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: uniqueId('c') });
    expect(retried.status).toBe(200);
    expect([await count('usage_events'), await count('usage_outbox'), await count('usage_ledger')]).toEqual([2, 2, 1]);
  });

  it('bills nothing for a reservation Postgres already records as released, even when the store still holds it (a rebuild race)', async () => {
    const { org, key } = await fund();
    const held = await hold(key, chat(org, 1_000, 1_000));
    // Another path ended it in Postgres while the store kept the hold.
    await sql(
      `insert into reservation_outcomes (reservation_id, org_id, environment, status, amount_committed, amount_released, overage, reason, request_hash, response, created_at)
       values (?, ?, 'live', 'released', 0, 40000, 0, 'race', null, null, now())`,
      [held.id, org],
    );
    const body = { usage: { input_tokens: 10, output_tokens: 10 } };
    const failed = await api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: uniqueId('c') });
    expect({ status: failed.status, code: failed.body.code }).toEqual({ status: 503, code: 'store_unavailable' });
    const count = async (table: string) =>
      Number((await sql<{ n: string }>(`select count(*) as n from ${table} where org_id = ?`, [org]))[0].n);
    expect([await count('usage_events'), await count('usage_outbox'), await count('usage_ledger')]).toEqual([0, 0, 0]);
    // The store was rebuilt from Postgres: released, nothing committed, nothing held.
    expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ committed: 0, reserved: 0 });
    const retried = await api.post(`/v1/reservations/${held.id}/commit`, body, { key, idempotencyKey: uniqueId('c') });
    expect({ status: retried.status, code: retried.body.code }).toEqual({ status: 409, code: 'reservation_not_held' });
  });

  it('splits a capped charge over the lines so the events sum to exactly what was charged', async () => {
    const { org, key } = await fund({ overage_policy: 'cap_at_hold' });
    const held = await hold(key, chat(org, 1_000, 1_000)); // 10,000 + 30,000
    const committed = await api.post(
      `/v1/reservations/${held.id}/commit`,
      { usage: { input_tokens: 3_333, output_tokens: 1_111 } }, // 33,330 + 33,330, capped at 40,000
      { key, idempotencyKey: uniqueId('c') },
    );
    expect(committed.body).toMatchObject({ amount_committed: 40_000, variance: 26_660 });
    const listed = await events(org);
    expect(listed.map((e) => e.amount).reduce((a, b) => a + b, 0)).toBe(40_000);
    expect(listed.map((e) => [e.dimension, e.amount, e.actual])).toEqual(
      expect.arrayContaining([
        ['input_tokens', 20_000, 33_330],
        ['output_tokens', 20_000, 33_330],
      ]),
    );
  });

  it('reports variance per project, product and user', async () => {
    const { org, key } = await fund();
    for (const [input, output] of [
      [500, 500], // estimate 40,000 → 20,000: −0.5
      [1_000, 1_000], // 40,000: 0
      [2_000, 1_000], // 50,000: +0.25
    ]) {
      const held = await hold(key, chat(org, 1_000, 1_000));
      await api.post(
        `/v1/reservations/${held.id}/commit`,
        { usage: { input_tokens: input, output_tokens: output } },
        { key, idempotencyKey: uniqueId('c') },
      );
    }
    const report = await api.get(`/v1/orgs/${org}/variance?group_by=product`, { key });
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ org_id: org, group_by: 'product' });
    expect(report.body.data).toEqual([
      {
        product: 'llm.chat',
        count: 3,
        estimate: 120_000,
        actual: 110_000,
        variance: -10_000,
        relative_mean: expect.closeTo(-0.083333, 6),
        relative_p50: 0,
        relative_p90: 0.25,
        overran: 1,
        // The default policy (cap_at_hold) charged nothing above the hold of the commit that overran it.
        overage_count: 0,
        overage_amount: 0,
      },
    ]);
    const byUser = (await api.get(`/v1/orgs/${org}/variance?group_by=user`)).body.data;
    expect(byUser).toEqual([expect.objectContaining({ project_id: 'p', user_id: 'u', count: 3 })]);
    expect((await api.get(`/v1/orgs/${org}/variance?group_by=model`)).status).toBe(422);
  });

  it('never shows one organization’s events to another’s key', async () => {
    const a = await fund();
    const b = await fund();
    const held = await hold(a.key, chat(a.org, 10, 10));
    await api.post(
      `/v1/reservations/${held.id}/commit`,
      { usage: { input_tokens: 1, output_tokens: 1 } },
      { key: a.key, idempotencyKey: uniqueId('c') },
    );
    expect(await events(a.org, '', a.key)).toHaveLength(2);
    for (const path of ['usage-events', 'variance', 'spend?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z']) {
      const res = await api.get(`/v1/orgs/${a.org}/${path}`, { key: b.key });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('unknown_org');
    }
    // An admission-only key may not read them.
    const admission = (await api.createOrgKey(a.org, ['admission'])).secret;
    expect((await api.get(`/v1/orgs/${a.org}/usage-events`, { key: admission })).status).toBe(403);
    // The test environment of the same organization has its own (none).
    const testKey = (await api.createOrgKey(a.org, ['read'], 'test')).secret;
    expect(await events(a.org, '', testKey)).toEqual([]);
  });
});
