import { Client } from 'pg';
import {
  createTestApp,
  ledgerInvariantProblems,
  pgSql,
  ServiceProcess,
  TEST_PLATFORM_KEY,
  testDatabaseUrl,
  uniqueId,
} from '@tollgate/testing';

/**
 * "Nothing lost" across a crash between commit and dispatch: the service is killed (SIGKILL, no
 * shutdown hook) while commits are in flight. Every commit it answered has all its usage events,
 * each with a pending outbox row (the dispatcher's durable source); no commit left part of itself;
 * and retrying every commit on a restarted service, with the same key and body, replays the
 * answered ones and completes the others without a second event: at the end, per organization,
 * events = ledger = the usage tree's committed, and every event has exactly one outbox row.
 */

const CARD = {
  name: 'Crash',
  rates: [
    { product: 'llm.chat', dimension: 'input_tokens', model: 'flat', unit_price: '0.000002' },
    { product: 'llm.chat', dimension: 'output_tokens', model: 'flat', unit_price: '0.000008' },
  ],
};
const COMMITS = 160;
/** Kill once this many commits have been answered: the rest are in flight or not yet sent. */
const KILL_AFTER = 40;
// The harness's key and a prefix the global setup cleans: booting with another key would revoke
// the one the suites running beside this one use.
const ENV = { REDIS_KEY_PREFIX: 'tgtest:crash:' };

interface Attempt {
  id: string;
  idempotencyKey: string;
  body: { usage: { input_tokens: number; output_tokens: number } };
}

describe('a crash between commit and dispatch', () => {
  let service: ServiceProcess | undefined;
  let db: Client;

  beforeAll(async () => {
    // The global setup emptied the schema: one in-process boot migrates it first.
    const t = await createTestApp();
    await t.close();
    db = new Client({ connectionString: testDatabaseUrl() });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await service?.stop();
    await db?.end();
  }, 30_000);

  const rows = async <T>(sql: string, params: unknown[]) => (await db.query(sql, params)).rows as T[];

  /** What Postgres holds for the organization: per reservation, its outcome, ledger amount, events and outbox rows. */
  async function recorded(org: string) {
    return rows<{
      id: string;
      status: string | null;
      committed: string | null;
      ledger: string | null;
      events: string;
      event_sum: string | null;
      outbox: string;
      pending: string;
    }>(
      `select r.id, o.status, o.amount_committed as committed, l.amount as ledger,
              (select count(*) from usage_events e where e.reservation_id = r.id) as events,
              (select sum(amount) from usage_events e where e.reservation_id = r.id) as event_sum,
              (select count(*) from usage_outbox x join usage_events e on e.id = x.event_id where e.reservation_id = r.id and x.destination = 'default') as outbox,
              (select count(*) from usage_outbox x join usage_events e on e.id = x.event_id
                where e.reservation_id = r.id and x.destination = 'default' and x.status in ('pending', 'routed')) as pending
         from reservations r
         left join reservation_outcomes o on o.reservation_id = r.id
         left join usage_ledger l on l.reservation_id = r.id
        where r.org_id = $1 and r.environment = 'live'
        order by r.id`,
      [org],
    );
  }

  it('loses no usage event, leaves no commit half-written, and a retry on a restarted service makes no second event', async () => {
    service = await ServiceProcess.start('before the crash', TEST_PLATFORM_KEY, ENV);
    await service.ready();
    const card = await service.ok('POST', '/v1/rate-cards', { body: CARD });
    const org = uniqueId('crash');
    await service.ok('POST', '/v1/orgs', { body: { id: org, name: 'Crash', rate_card_id: card.body.id } });
    await service.ok('POST', `/v1/orgs/${org}/credits`, { body: { amount: 1_000_000_000, reason: 'top-up' } });
    const key = (await service.ok('POST', `/v1/orgs/${org}/keys`, { body: { scopes: ['admission', 'read'], environment: 'live' } })).body
      .secret as string;

    const attempts: Attempt[] = [];
    for (let i = 0; i < COMMITS; i += 20) {
      const held = await Promise.all(
        Array.from({ length: Math.min(20, COMMITS - i) }, (_, j) =>
          service!.ok('POST', '/v1/reservations', {
            key,
            idempotencyKey: uniqueId('r'),
            body: {
              org_id: org,
              project_id: `p${(i + j) % 3}`,
              user_id: `u${(i + j) % 7}`,
              product: 'llm.chat',
              usage: { input_tokens: 1000, output_tokens: 1000 },
            },
          }),
        ),
      );
      held.forEach((res, j) =>
        attempts.push({
          id: res.body.id,
          idempotencyKey: uniqueId('c'),
          // Actual usage differs from the estimate, commit by commit.
          body: { usage: { input_tokens: 500 + ((i + j) % 11) * 100, output_tokens: 200 + ((i + j) % 5) * 300 } },
        }),
      );
    }

    // All commits at once; the process is killed as soon as KILL_AFTER of them are answered.
    const victim = service;
    let answeredCount = 0;
    const firstAnswers = await Promise.all(
      attempts.map((a) =>
        victim
          .call('POST', `/v1/reservations/${a.id}/commit`, { key, idempotencyKey: a.idempotencyKey, body: a.body })
          .then((res) => {
            if (res.status === 200 && ++answeredCount === KILL_AFTER) void victim.kill();
            return res;
          })
          .catch(() => null),
      ),
    );
    await victim.kill();
    const answered = new Map(firstAnswers.flatMap((res, i) => (res?.status === 200 ? [[attempts[i].id, res.body] as const] : [])));
    expect(answered.size).toBeGreaterThanOrEqual(KILL_AFTER);
    // The crash really cut commits off: some were never answered.
    expect(answered.size).toBeLessThan(COMMITS);

    // Right after the crash, from Postgres alone.
    const before = await recorded(org);
    expect(before).toHaveLength(COMMITS);
    for (const row of before) {
      const answer = answered.get(row.id);
      const whole =
        row.status === 'committed'
          ? // A commit is all there: its ledger row, both events summing to it, one pending outbox row each.
            row.ledger === row.committed && row.events === '2' && row.event_sum === row.ledger && row.outbox === '2' && row.pending === '2'
          : // Or nothing of it is.
            row.status === null && row.ledger === null && row.events === '0' && row.outbox === '0';
      expect({ id: row.id, whole }).toEqual({ id: row.id, whole: true });
      if (answer) {
        // Answered means recorded, with the very events the answer named.
        expect({ id: row.id, status: row.status, committed: Number(row.committed) }).toEqual({
          id: row.id,
          status: 'committed',
          committed: answer.amount_committed,
        });
        const events = await rows<{ id: string }>('select id from usage_events where reservation_id = $1 order by id', [row.id]);
        expect(events.map((e) => e.id)).toEqual([...answer.event_ids].sort());
      }
    }

    // A restarted instance; the client retries every commit with the same key and body.
    service = await ServiceProcess.start('after the crash', TEST_PLATFORM_KEY, ENV);
    await service.ready();
    for (const a of attempts) {
      let res = await service.call('POST', `/v1/reservations/${a.id}/commit`, { key, idempotencyKey: a.idempotencyKey, body: a.body });
      // 503 (the store rebuilt from Postgres) says "try again": a client does.
      for (let retry = 0; retry < 10 && res.status === 503; retry++) {
        await new Promise((r) => setTimeout(r, 200));
        res = await service.call('POST', `/v1/reservations/${a.id}/commit`, { key, idempotencyKey: a.idempotencyKey, body: a.body });
      }
      expect({ id: a.id, status: res.status }).toEqual({ id: a.id, status: 200 });
      const first = answered.get(a.id);
      if (first) expect({ id: a.id, event_ids: res.body.event_ids }).toEqual({ id: a.id, event_ids: first.event_ids });
    }

    const after = await recorded(org);
    expect(after.filter((row) => row.status !== 'committed' || row.events !== '2' || row.outbox !== '2' || row.pending !== '2')).toEqual(
      [],
    );
    const [totals] = await rows<{ ledger: string; events: string; outbox: string; distinct_events: string }>(
      `select (select sum(amount) from usage_ledger where org_id = $1) as ledger,
              (select sum(amount) from usage_events where org_id = $1) as events,
              (select count(*) from usage_outbox where org_id = $1 and destination = 'default') as outbox,
              (select count(distinct event_id) from usage_outbox where org_id = $1 and destination = 'default') as distinct_events`,
      [org],
    );
    const tree = (await service.ok('GET', `/v1/orgs/${org}/usage`, { key })).body;
    expect({
      ledger: Number(totals.ledger),
      events: Number(totals.events),
      outbox: Number(totals.outbox),
      distinctEvents: Number(totals.distinct_events),
      reserved: tree.org.reserved,
    }).toEqual({
      ledger: tree.org.committed,
      events: tree.org.committed,
      outbox: 2 * COMMITS,
      distinctEvents: 2 * COMMITS,
      reserved: 0,
    });
    expect(await ledgerInvariantProblems(pgSql(db), { orgId: org, environment: 'live' }, tree)).toEqual([]);
  }, 180_000);
});
