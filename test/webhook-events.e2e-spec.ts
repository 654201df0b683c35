import { EntityManager } from '@mikro-orm/postgresql';
import { SchedulerRegistry } from '@nestjs/schedule';
import { OutboxDispatcher } from '@tollgate/billing';
import { ExpireHoldsUseCase } from '@tollgate/reservations';
import {
  createTestApp,
  FAKE_FLEXPRICE_KEYS,
  FAKE_METRONOME_TOKENS,
  FakeFlexprice,
  FakeMetronome,
  ManualClock,
  TestApp,
  TestClient,
  TestResponse,
  uniqueId,
} from '@tollgate/testing';

/**
 * Tollgate's own signals (decision 029) on the real path: each API action that changes a fact
 * leaves its row in webhook_events, written with the change, with the id derived from the fact,
 * so a retried or duplicated action leaves no second row. The webhooks dispatcher that sends
 * them is off here; only what is recorded is asserted.
 */
const MAX_ATTEMPTS = 2;

function ok(res: TestResponse, what: string, status?: number): TestResponse {
  if (status !== undefined ? res.status !== status : res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res;
}

describe('webhook events recorded with the change (Postgres + Redis)', () => {
  const flexprice = new FakeFlexprice();
  const metronome = new FakeMetronome();
  const clock = new ManualClock(new Date());
  let t: TestApp;
  let api: TestClient;
  let dispatcher: OutboxDispatcher;

  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []) =>
    t.app.get(EntityManager).getConnection().execute<T[]>(query, params);
  /** The signals of one organization and type, oldest id first. */
  const events = async (orgId: string, type: string) =>
    (
      await sql<{ id: string; environment: string; data: Record<string, any>; occurred_at: string | Date }>(
        `select id, environment, data, occurred_at from webhook_events where org_id = ? and type = ? order by id`,
        [orgId, type],
      )
    ).map((row) => ({ ...row, occurred_at: new Date(row.occurred_at) }));

  beforeAll(async () => {
    const [fpUrl, mnUrl] = await Promise.all([flexprice.start(), metronome.start()]);
    t = await createTestApp({
      clock,
      env: {
        FLEXPRICE_BASE_URL: `${fpUrl}/v1`,
        FLEXPRICE_API_KEY: FAKE_FLEXPRICE_KEYS.live,
        METRONOME_BASE_URL: mnUrl,
        METRONOME_BEARER_TOKEN: FAKE_METRONOME_TOKENS.live,
        BILLING_DISPATCH_ENABLED: 'false',
        BILLING_RETRY_BASE_MS: '20',
        BILLING_RETRY_MAX_MS: '40',
        BILLING_BREAKER_FAILURES: '100',
        BILLING_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        WEBHOOK_DISPATCH_ENABLED: 'false',
      },
    });
    // The sweeper runs when the test says so (the clock is moved by hand).
    const registry = t.app.get(SchedulerRegistry);
    for (const name of registry.getIntervals()) registry.deleteInterval(name);
    api = t.client;
    dispatcher = t.app.get(OutboxDispatcher);
  }, 120_000);

  beforeEach(() => clock.set(new Date()));
  afterEach(() => {
    metronome.clearFaults();
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await t?.close();
    await Promise.all([flexprice.stop(), metronome.stop()]);
  });

  async function org(prefix: string, credits = 1_000_000): Promise<string> {
    const id = await api.createOrg(uniqueId(prefix), { overage_policy: 'allow' });
    ok(await api.post(`/v1/orgs/${id}/credits`, { amount: credits, reason: 'top-up' }, { idempotencyKey: uniqueId('g') }), 'credits');
    return id;
  }
  const reserve = (orgId: string, amount: number, key = uniqueId('r'), extra: Record<string, unknown> = {}) =>
    api.post('/v1/reservations', { org_id: orgId, project_id: 'p', user_id: 'u', amount, ...extra }, { idempotencyKey: key });

  it('credits.granted: one row per grant, in its transaction; a retried grant (same Idempotency-Key) adds none', async () => {
    const id = await api.createOrg(uniqueId('wg'));
    const key = uniqueId('g');
    const expiresAt = new Date(clock.now().getTime() + 86_400_000).toISOString();
    const body = { amount: 5_000_000, reason: 'promo', source: 'sales', expires_at: expiresAt };
    const grant = ok(await api.post(`/v1/orgs/${id}/credits`, body, { idempotencyKey: key }), 'grant', 201).body;
    expect((await api.post(`/v1/orgs/${id}/credits`, body, { idempotencyKey: key })).body.id).toBe(grant.id);
    expect(await events(id, 'credits.granted')).toEqual([
      {
        id: `credits.granted:${grant.id}`,
        environment: 'live',
        data: {
          grant_id: grant.id,
          amount: 5_000_000,
          reason: 'promo',
          source: 'sales',
          expires_at: expiresAt,
          granted_at: grant.created_at,
        },
        occurred_at: new Date(grant.created_at),
      },
    ]);
  });

  it('org.status_changed: one row per environment for each change; the same status again adds none', async () => {
    const id = await api.createOrg(uniqueId('ws'));
    const suspended = ok(await api.patch(`/v1/orgs/${id}`, { status: 'suspended' }), 'suspend').body;
    ok(await api.patch(`/v1/orgs/${id}`, { status: 'suspended' }), 'suspend again');
    const changedAt = suspended.status_changed_at;
    expect(await events(id, 'org.status_changed')).toEqual(
      (['live', 'test'] as const).map((environment) => ({
        id: `org.status_changed:${id}:${changedAt}:${environment}`,
        environment,
        data: { from: 'active', to: 'suspended', changed_at: changedAt },
        occurred_at: new Date(changedAt),
      })),
    );
    clock.advance(1_000);
    const active = ok(await api.patch(`/v1/orgs/${id}`, { status: 'active' }), 'reactivate').body;
    const rows = await events(id, 'org.status_changed');
    expect(rows).toHaveLength(4);
    expect(rows.filter((r) => r.data.changed_at === active.status_changed_at).map((r) => [r.environment, r.data.from, r.data.to])).toEqual([
      ['live', 'suspended', 'active'],
      ['test', 'suspended', 'active'],
    ]);
  });

  it('reservation.expired: recorded by the sweep that releases the hold, once', async () => {
    const id = await org('we');
    const held = ok(await reserve(id, 300_000, uniqueId('r'), { ttl_seconds: 60, metadata: { job: 'j-1' } }), 'reserve', 201).body;
    const sweeper = t.app.get(ExpireHoldsUseCase);
    expect(await events(id, 'reservation.expired')).toEqual([]);
    clock.advance(61_000);
    expect(await sweeper.sweep()).toBeGreaterThanOrEqual(1);
    await sweeper.sweep();
    expect(await events(id, 'reservation.expired')).toEqual([
      {
        id: `reservation.expired:${held.id}`,
        environment: 'live',
        data: {
          reservation_id: held.id,
          project_id: 'p',
          user_id: 'u',
          amount: 300_000,
          expired_at: held.expires_at,
          metadata: { job: 'j-1' },
        },
        occurred_at: new Date(held.expires_at),
      },
    ]);
    expect((await api.get(`/v1/reservations/${held.id}`)).body.status).toBe('expired');
  });

  it('billing.delivery_dead: recorded with the status change after the last attempt; dead again after a retry is the same row', async () => {
    const id = await org('wd');
    ok(await api.put(`/v1/orgs/${id}/billing`, { backend: 'metronome' }), 'route');
    const held = ok(await reserve(id, 1_000), 'reserve', 201).body;
    const committed = ok(
      await api.post(`/v1/reservations/${held.id}/commit`, { amount: 700 }, { idempotencyKey: uniqueId('c') }),
      'commit',
    ).body;
    const [eventId] = committed.event_ids as string[];
    const deliveryId = `${eventId}:metronome`;
    metronome.fail({ kind: 'status', status: 500, times: 1_000_000 });
    const status = async () => (await sql<{ status: string }>(`select status from usage_outbox where id = ?`, [deliveryId]))[0]?.status;
    const untilDead = async () => {
      const deadline = Date.now() + 20_000;
      while ((await status()) !== 'dead') {
        if (Date.now() > deadline) throw new Error(`delivery ${deliveryId} is ${await status()}, not dead`);
        await dispatcher.runOnce();
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await untilDead();
    const rows = await events(id, 'billing.delivery_dead');
    expect(rows).toEqual([
      {
        id: `billing.delivery_dead:${deliveryId}`,
        environment: 'live',
        data: {
          delivery_id: deliveryId,
          event_id: eventId,
          backend: 'metronome',
          role: 'primary',
          attempts: MAX_ATTEMPTS,
          last_error: expect.any(String),
          created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          project_id: 'p',
          user_id: 'u',
          reservation_id: held.id,
        },
        occurred_at: expect.any(Date),
      },
    ]);
    const outbox = ok(await api.get(`/v1/billing/outbox?status=dead&backend=metronome&limit=200`), 'outbox').body.data;
    expect(outbox.find((d: any) => d.id === deliveryId)).toMatchObject({ created_at: rows[0].data.created_at, attempts: MAX_ATTEMPTS });
    ok(await api.post(`/v1/billing/outbox/${deliveryId}/retry`, undefined, { idempotencyKey: uniqueId('rt') }), 'retry');
    await untilDead();
    expect(await events(id, 'billing.delivery_dead')).toHaveLength(1);
  }, 60_000);

  it('budget.threshold_reached: 50 concurrent reserves crossing 80% make exactly one event per level; replays and oscillation add none', async () => {
    const id = await org('wb', 1_000_000);
    ok(await api.put(`/v1/orgs/${id}/projects/p`, { limit: 1_000_000, period: 'day' }), 'project');
    ok(await api.put(`/v1/orgs/${id}/projects/p/users/u`, { limit: 1_000_000, period: 'month' }), 'user');
    const keys = Array.from({ length: 50 }, () => uniqueId('r'));
    // 50 × 17,000 = 850,000 of 1,000,000 at every level: 80% is crossed once, 100% never.
    const held = await Promise.all(keys.map((key) => reserve(id, 17_000, key)));
    expect(held.map((r) => r.status)).toEqual(keys.map(() => 201));
    const now = clock.now();
    const day = now.toISOString().slice(0, 10);
    const month = now.toISOString().slice(0, 7);
    const expected = [
      { key: `org:80:none@1000000`, level: 'org', project_id: null, user_id: null, period: 'none', period_id: null, period_start: null },
      {
        key: `project:p:80:${day}`,
        level: 'project',
        project_id: 'p',
        user_id: null,
        period: 'day',
        period_id: day,
        period_start: `${day}T00:00:00.000Z`,
      },
      {
        key: `user:p:u:80:${month}`,
        level: 'user',
        project_id: 'p',
        user_id: 'u',
        period: 'month',
        period_id: month,
        period_start: `${month}-01T00:00:00.000Z`,
      },
    ];
    const check = async () => {
      const rows = await events(id, 'budget.threshold_reached');
      expect(rows.map((r) => r.id).sort()).toEqual(expected.map((e) => `budget.threshold_reached:live:${id}:${e.key}`).sort());
      for (const e of expected) {
        const row = rows.find((r) => r.id === `budget.threshold_reached:live:${id}:${e.key}`)!;
        const { key: _key, ...data } = e;
        expect(row.data).toEqual({ ...data, threshold: 80, limit: 1_000_000, used: expect.any(Number), reached_at: expect.any(String) });
        // The crossing reserve is the one that took usage from below 800,000 to at or above it.
        expect(row.data.used).toBeGreaterThanOrEqual(800_000);
        expect(row.data.used).toBeLessThan(800_000 + 17_000);
      }
      return rows;
    };
    const first = await check();
    // A retried reserve (same Idempotency-Key) is a replay: nothing new.
    expect((await reserve(id, 17_000, keys[0])).status).toBe(201);
    // Usage falls below 80% (four holds released: 782,000) and rises back over it: the same period, the same events.
    for (const r of held.slice(0, 4))
      ok(await api.post(`/v1/reservations/${r.body.id}/release`, {}, { idempotencyKey: uniqueId('rl') }), 'release');
    ok(await reserve(id, 20_000), 'reserve again', 201);
    expect(await check()).toEqual(first);
  }, 60_000);
});
