/**
 * `npm run bench:rebuild` (decision 021): how long rebuilding an organization's quota-store
 * scope takes when its ledger holds 1,000,000 rows against 1,000, through the real code path
 * (the application booted as production boots it, EnsureScopeLoadedUseCase.load after the
 * organization's Redis keys are deleted: the HoldLedger reads, the credit pool, the hierarchy
 * and QuotaStore.load), with the ledger rollups and, in the same run, with the former
 * full-ledger queries swapped in as the baseline. Then what the rollup trigger costs the hot
 * path's one write: commit-like group-commit statements (outcome + priced ledger row, 100
 * units each) with and without the trigger, interleaved, on one connection and on four
 * writing to the same organization at once.
 *
 * Seeds with generate_series on its own database (tollgate_bench_rebuild, dropped and made
 * again each run: never the test database): each organization has 100 users in 5 projects
 * (day, week, month and no period), 60 days of history, grants of which three expired, and
 * 200 active holds. "Cold" is the first rebuild of an organization in this process (its rows
 * not read by it before; Postgres's buffers are warm from the seeding, and a server
 * restart is not this benchmark's to make; the process's own first-time costs go to a third,
 * tiny organization first); "warm" the median of the next BENCH_REBUILDS.
 *
 * BENCH_POSTGRES_URL (default postgresql://postgres@localhost:5432), BENCH_REDIS_URL,
 * BENCH_BIG_ROWS (1000000), BENCH_SMALL_ROWS (1000), BENCH_REBUILDS (9), BENCH_SECONDS (10,
 * the write measurement per side), BENCH_WRITE_HOLDS (1000000 holds seeded for the write
 * measurement to commit). Redis keys live under `bench:rebuild:` (deleted afterwards).
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { EntityManager } from '@mikro-orm/postgresql';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { Client } from 'pg';
import { loadConfig } from '@tollgate/config';
import { EnsureScopeLoadedUseCase, HoldLedger, periodIds, QuotaScope } from '@tollgate/quota';
import { createApp } from '../apps/tollgate/bootstrap';
import { machineInfo } from './lib/machine';
import { deleteKeysMatching } from '../libs/testing/src/redis-keys';
import { legacyLedger } from '../libs/testing/src/legacy-ledger';

const env = process.env;
const POSTGRES_URL = env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@localhost:5432';
const REDIS_URL = env.BENCH_REDIS_URL ?? 'redis://localhost:6379';
const DATABASE = 'tollgate_bench_rebuild';
const PREFIX = 'bench:rebuild:';
const BIG_ROWS = Number(env.BENCH_BIG_ROWS ?? 1_000_000);
const SMALL_ROWS = Number(env.BENCH_SMALL_ROWS ?? 1_000);
const REBUILDS = Number(env.BENCH_REBUILDS ?? 9);
const SECONDS = Number(env.BENCH_SECONDS ?? 10);
const PLATFORM_KEY = 'tg_platform_bench_rebuild_0123456789abcdef';
const DAY_MS = 86_400_000;

const PERIODS_AT = (instant: string) =>
  `jsonb_build_object('day', to_char(${instant} at time zone 'UTC', 'YYYY-MM-DD'),
                      'week', to_char(${instant} at time zone 'UTC', 'IYYY-"W"IW'),
                      'month', to_char(${instant} at time zone 'UTC', 'YYYY-MM'))`;

type Ledger = Pick<HoldLedger, 'committed' | 'consumedAt' | 'quantities'>;
type Reads = Ledger & Pick<HoldLedger, 'activeHolds'>;

async function inject(app: NestFastifyApplication, method: 'POST' | 'PUT', url: string, body: unknown): Promise<void> {
  const res = await app
    .getHttpAdapter()
    .getInstance()
    .inject({ method, url, payload: body as object, headers: { authorization: `Bearer ${PLATFORM_KEY}` } });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
}

/** An organization with `rows` committed ledger rows over 100 users × 60 days, grants (three expired) and 200 active holds. */
async function seedOrg(app: NestFastifyApplication, db: Client, org: string, rows: number): Promise<void> {
  await inject(app, 'POST', '/v1/orgs', { id: org, name: org });
  const periods = ['day', 'week', 'month', 'none', 'month'];
  for (let p = 0; p < 5; p++) {
    await inject(app, 'PUT', `/v1/orgs/${org}/projects/p${p}`, {
      limit: 10 ** 14,
      period: periods[p],
      default_user_limit: 10 ** 12,
      default_user_period: periods[(p + 1) % 5],
    });
  }
  const now = Date.now();
  const grants: [number, number, number | null][] = [
    [10 ** 15, now - 61 * DAY_MS, null],
    [5 * 10 ** 8, now - 50 * DAY_MS, now - 30 * DAY_MS],
    [5 * 10 ** 8, now - 40 * DAY_MS, now - 20 * DAY_MS],
    [5 * 10 ** 8, now - 30 * DAY_MS, now - 10 * DAY_MS],
    [5 * 10 ** 8, now - 5 * DAY_MS, now + 10 * DAY_MS],
  ];
  for (const [i, [amount, created, expires]] of grants.entries()) {
    await db.query(
      `insert into credit_grants (id, org_id, environment, amount, reason, source, expires_at, created_at) values ($1, $2, 'live', $3, 'bench', null, $4, $5)`,
      [`gr_${org}_${i}`, org, amount, expires === null ? null : new Date(expires), new Date(created)],
    );
  }
  // Admitted over the last 60 days, committed five minutes later (some on the next day); one in four priced.
  await db.query(
    `insert into reservations (id, org_id, environment, project_id, user_id, amount, idempotency_key, request_hash, periods, expires_at, metadata, response, pricing, created_by, created_at)
     select 'res_' || i || '.' || $1, $1, 'live', 'p' || (i % 100) / 20, 'u' || i % 100, 1000 + i % 5000, 'k' || i, 'h',
            ${PERIODS_AT('created')}, created + interval '10 minutes', null, '{}', null, 'bench', created
       from (select i, now() - interval '60 days' + (i::float8 / $2) * interval '60 days' - interval '1 hour' as created
               from generate_series(1, $2) i) s`,
    [org, rows],
  );
  await db.query(
    `insert into reservation_outcomes (reservation_id, org_id, environment, status, amount_committed, amount_released, overage, reason, request_hash, response, created_at)
     select id, org_id, 'live', 'committed', amount - (substring(id from 5 for position('.' in id) - 5)::int % 7), 0, 0, null, null, null,
            created_at + interval '5 minutes'
       from reservations where org_id = $1`,
    [org],
  );
  await db.query(
    `insert into usage_ledger (id, reservation_id, org_id, environment, project_id, user_id, amount, periods, committed_at, product, usage, quantity_period, estimate, actual, variance)
     select 'use_' || r.id, r.id, r.org_id, 'live', r.project_id, r.user_id, r.amount - i % 7, r.periods, r.created_at + interval '5 minutes',
            case when i % 4 = 0 then 'bench.generate' end,
            case when i % 4 = 0 then jsonb_build_object('tokens', i % 1000, 'images', (i % 3)::text || '.5') end,
            case when i % 4 = 0 then to_char((r.created_at + interval '5 minutes') at time zone 'UTC', 'YYYY-MM') end,
            r.amount, r.amount - i % 7, -(i % 7)
       from generate_series(1, $2) i join reservations r on r.id = 'res_' || i || '.' || $1`,
    [org, rows],
  );
  await db.query(
    `insert into reservations (id, org_id, environment, project_id, user_id, amount, idempotency_key, request_hash, periods, expires_at, metadata, response, pricing, created_by, created_at)
     select 'res_held' || i || '.' || $1, $1, 'live', 'p' || (i % 100) / 20, 'u' || i % 100, 1000, 'kh' || i, 'h',
            ${PERIODS_AT('now()')}, now() + interval '1 day', null, '{}', null, 'bench', now()
       from generate_series(1, 200) i`,
    [org],
  );
}

/** The org's keys gone, then one rebuild through the use case: its wall time. */
async function rebuildMs(app: NestFastifyApplication, redis: Redis, scope: QuotaScope): Promise<number> {
  await deleteKeysMatching(redis, `${PREFIX}*{${scope.orgId}:${scope.environment}}*`);
  const started = performance.now();
  if (!(await app.get(EnsureScopeLoadedUseCase).load(scope))) throw new Error(`load of ${scope.orgId}: busy`);
  return performance.now() - started;
}

/** The HoldLedger reads alone, as a rebuild issues them at once (activeHolds is the same in both runs). */
async function readsMs(ledger: Reads, scope: QuotaScope, instants: Date[]): Promise<number> {
  const started = performance.now();
  const now = new Date();
  await Promise.all([
    ledger.activeHolds(scope, now),
    ledger.consumedAt(scope, instants),
    ledger.committed(scope, now),
    ledger.quantities(scope, now),
  ]);
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => x.toFixed(1);

async function writeRows(url: string): Promise<string[]> {
  const org = 'bench-write';
  const setup = new Client({ connectionString: url });
  await setup.connect();
  await setup.query(
    `insert into organizations (id, name, status, overage_policy, created_at, updated_at, status_changed_at) values ($1, $1, 'active', 'allow', now(), now(), now())`,
    [org],
  );
  const HOLDS = Number(env.BENCH_WRITE_HOLDS ?? 1_000_000);
  const ids = periodIds(new Date());
  const periods = JSON.stringify({ day: ids.day, week: ids.week, month: ids.month });
  await setup.query(
    `insert into reservations (id, org_id, environment, project_id, user_id, amount, idempotency_key, request_hash, periods, expires_at, metadata, response, pricing, created_by, created_at)
     select 'res_w' || i, $1, 'live', 'p', 'u' || i % 1000, 1000, 'kw' || i, 'h', ${PERIODS_AT('now()')}, now() + interval '1 hour', null, '{}', null, 'bench', now()
       from generate_series(1, $2) i`,
    [org, HOLDS],
  );
  await setup.query('vacuum analyze reservations');
  let next = 0;
  /** One commit-like group-commit statement: 100 outcomes and their priced ledger rows, as ReservationRepository.insertOutcome writes them. */
  const batch = async (db: Client) => {
    const outcomes: string[] = [];
    const ledger: string[] = [];
    const params: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      const n = next++;
      if (n >= HOLDS) throw new Error('out of seeded holds: lower BENCH_SECONDS');
      const at = params.length;
      params.push(`res_w${n + 1}`, `u${(n + 1) % 1000}`, `{"tokens": "${n % 997}", "images": "2"}`);
      outcomes.push(`($${at + 1}, '${org}', 'live', 'committed', 900, 100, 0, null, null, null, now())`);
      ledger.push(
        `('use_w' || $${at + 1}, $${at + 1}, '${org}', 'live', 'p', $${at + 2}, 900, '${periods}', now(), 'bench.generate', $${at + 3}::jsonb, '${ids.month}', 1000, 900, -100, null, null)`,
      );
    }
    await db.query(
      `with t0 as (insert into reservation_outcomes (reservation_id, org_id, environment, status, amount_committed, amount_released, overage, reason, request_hash, response, created_at)
         values ${outcomes.join(', ')} on conflict (reservation_id) do nothing returning reservation_id::text as k),
       t1 as (insert into usage_ledger (id, reservation_id, org_id, environment, project_id, user_id, amount, periods, committed_at, product, usage, quantity_period, estimate, actual, variance, provider, provider_request_id)
         values ${ledger.join(', ')} on conflict (reservation_id) do nothing returning reservation_id::text as k)
       select 0 as t, k from t0 union all select 1 as t, k from t1`,
      params,
    );
  };
  const clients = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  const timed = async (connections: number, seconds: number) => {
    const until = Date.now() + seconds * 1000;
    let rows = 0;
    await Promise.all(
      clients.slice(0, connections).map(async (db) => {
        while (Date.now() < until) {
          await batch(db);
          rows += 100;
        }
      }),
    );
    return rows / seconds;
  };
  await timed(1, 1); // warm-up: rollup rows of today exist, as they do after the day's first commits
  const slices = Math.max(1, Math.round(SECONDS / 2));
  const out = ['| Postgres: 100-unit commit statements (outcome + priced ledger row) | rows/s | vs without |', '|---|---:|---:|'];
  for (const connections of [1, 4]) {
    const rate = { with: 0, without: 0 };
    for (let s = 0; s < slices; s++) {
      await setup.query('alter table usage_ledger enable trigger usage_ledger_rollup');
      rate.with += (await timed(connections, SECONDS / slices)) / slices;
      await setup.query('alter table usage_ledger disable trigger usage_ledger_rollup');
      rate.without += (await timed(connections, SECONDS / slices)) / slices;
    }
    await setup.query('alter table usage_ledger enable trigger usage_ledger_rollup');
    const who = connections === 1 ? 'one connection' : `${connections} connections, one organization`;
    out.push(`| ${who}, without the rollup trigger | ${Math.round(rate.without).toLocaleString('en-US')} | 1.00 |`);
    out.push(
      `| ${who}, with it (decision 021) | ${Math.round(rate.with).toLocaleString('en-US')} | ${(rate.with / rate.without).toFixed(2)} |`,
    );
  }
  // The statements written without the trigger are not in the rollups: made whole again before anything reads them.
  const [{ exact }] = (
    await setup.query(
      `select (select coalesce(sum(amount), 0) from usage_ledger where org_id = $1) - (select coalesce(sum(amount), 0) from usage_rollup_totals where org_id = $1) as exact`,
      [org],
    )
  ).rows;
  out.push('', `(${next.toLocaleString('en-US')} commits written; ${exact} micro-credits written while the trigger was off, as expected.)`);
  await Promise.all(clients.map((c) => c.end()));
  await setup.end();
  return out;
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const info = await machineInfo(redis);
  console.log(
    `bench:rebuild at ${info.commit} on ${info.cpuModel} (${info.cores} cores), node ${info.node}, redis ${info.redis}, load ${info.loadBefore.join(' ')}\n`,
  );
  const admin = new Client({ connectionString: `${POSTGRES_URL}/postgres` });
  await admin.connect();
  if ((await admin.query('select 1 from pg_database where datname = $1', [DATABASE])).rowCount === 0)
    await admin.query(`create database ${DATABASE}`);
  await admin.end();
  const url = `${POSTGRES_URL}/${DATABASE}`;
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query('drop schema if exists public cascade; create schema public');
  const config = loadConfig({
    DATABASE_URL: url,
    REDIS_URL,
    REDIS_KEY_PREFIX: PREFIX,
    TOLLGATE_PLATFORM_KEY: PLATFORM_KEY,
    LOG_LEVEL: 'warn',
  });
  let app = await createApp(config);
  await app.init();
  try {
    const orgs = [
      { org: 'bench-rebuild-1k', rows: SMALL_ROWS },
      { org: 'bench-rebuild-1m', rows: BIG_ROWS },
    ];
    const seeded = performance.now();
    for (const { org, rows } of [...orgs, { org: 'bench-rebuild-warmup', rows: 100 }]) await seedOrg(app, db, org, rows);
    await db.query('vacuum analyze');
    console.log(
      `seeded ${orgs.map((o) => `${o.org} (${o.rows.toLocaleString('en-US')} ledger rows)`).join(' and ')} in ${ms((performance.now() - seeded) / 1000)} s\n`,
    );
    // A fresh process-side state (connections, plans) for the "cold" rebuilds.
    await app.close();
    app = await createApp(config);
    await app.init();

    // One-time costs of a process (pool connections, Lua scripts, JIT) go to another organization first.
    for (let i = 0; i < 3; i++) await rebuildMs(app, redis, { orgId: 'bench-rebuild-warmup', environment: 'live' });
    const ledger = app.get(HoldLedger);
    const current: Ledger = {
      committed: ledger.committed.bind(ledger),
      consumedAt: ledger.consumedAt.bind(ledger),
      quantities: ledger.quantities.bind(ledger),
    };
    const legacy = legacyLedger((query, params) => app.get(EntityManager).getConnection().execute(query, params));
    /** Both EnsureScopeLoadedUseCase and ComputeCreditPoolUseCase hold this one instance: swapping its reads swaps the rebuild's. */
    const use = (reads: Ledger) => {
      ledger.committed = reads.committed;
      ledger.consumedAt = reads.consumedAt;
      ledger.quantities = reads.quantities;
    };
    const results = new Map<string, { cold: number; warm: number[]; reads: number[] }>();
    for (const [name, reads] of [
      ['rollups', current],
      ['full ledger (before)', legacy],
    ] as const) {
      use(reads);
      for (const { org } of orgs)
        results.set(`${name}|${org}`, { cold: await rebuildMs(app, redis, { orgId: org, environment: 'live' }), warm: [], reads: [] });
      for (let i = 0; i < REBUILDS; i++) {
        for (const { org } of orgs) {
          const scope: QuotaScope = { orgId: org, environment: 'live' };
          const r = results.get(`${name}|${org}`)!;
          r.warm.push(await rebuildMs(app, redis, scope));
          const instants = [new Date(), ...[61, 50, 40, 30, 20, 10, 5].map((d) => new Date(Date.now() - d * DAY_MS))];
          r.reads.push(await readsMs({ ...reads, activeHolds: ledger.activeHolds.bind(ledger) }, scope, instants));
        }
      }
    }
    use(current);

    // Same answers from both, on the big organization: the rollups change the cost, not the figures.
    const scope: QuotaScope = { orgId: orgs[1].org, environment: 'live' };
    const now = new Date();
    const instants = [now, ...[61, 50, 40, 30, 20, 10, 5].map((d) => new Date(now.getTime() - d * DAY_MS - 1234))];
    const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
    const same =
      JSON.stringify(sorted(await ledger.committed(scope, now))) === JSON.stringify(sorted(await legacy.committed(scope, now))) &&
      JSON.stringify(await ledger.consumedAt(scope, instants)) === JSON.stringify(await legacy.consumedAt(scope, instants)) &&
      JSON.stringify(sorted(await ledger.quantities(scope, now))) === JSON.stringify(sorted(await legacy.quantities(scope, now)));

    const lines = [
      `| rebuild of one scope (EnsureScopeLoadedUseCase.load) | ledger rows | cold ms | warm ms (median of ${REBUILDS}) | warm max | HoldLedger reads alone, median ms |`,
      '|---|---:|---:|---:|---:|---:|',
    ];
    for (const name of ['rollups', 'full ledger (before)']) {
      for (const { org, rows } of orgs) {
        const r = results.get(`${name}|${org}`)!;
        lines.push(
          `| ${name}: ${org} | ${rows.toLocaleString('en-US')} | ${ms(r.cold)} | ${ms(median(r.warm))} | ${ms(Math.max(...r.warm))} | ${ms(median(r.reads))} |`,
        );
      }
      const [small, big] = orgs.map(({ org }) => results.get(`${name}|${org}`)!);
      lines.push(
        `| ${name}: big / small | | ${(big.cold / small.cold).toFixed(2)}x | ${(median(big.warm) / median(small.warm)).toFixed(2)}x | | ${(median(big.reads) / median(small.reads)).toFixed(2)}x |`,
      );
    }
    console.log(lines.join('\n'));
    console.log(`\nrollup reads equal the full-ledger reads on ${orgs[1].org}: ${same ? 'yes' : 'NO'}\n`);
    if (!same) process.exitCode = 1;
    console.log((await writeRows(url)).join('\n'));
  } finally {
    await app.close();
    await db.end();
    await deleteKeysMatching(redis, `${PREFIX}*`);
    redis.disconnect();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
