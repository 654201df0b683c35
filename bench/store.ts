/**
 * `npm run bench:store`: what one admission costs the two stores it touches, without HTTP.
 *
 * - Redis: the quota store's reserve and commit script calls, 64 in flight from one client,
 *   as calls/s and as Redis's own µs per call (INFO commandstats: server time, unaffected by
 *   the client's share of the cores), against the floors' bare three-level reserve EVALSHA in
 *   the same run (bench/floors/reserve-script.ts): the ratio is what the store's semantics
 *   (hold records, periods, every period kind's counter, pruning) cost on top of a counter check.
 * - Postgres: reservation rows inserted as the group-commit writer inserts them (one statement
 *   of 100 rows), with the trigger that auto-creates projects and users (decision 018) and
 *   without it, interleaved: the ratio is what the trigger costs the hot path's one write.
 *
 * BENCH_SECONDS (default 10) per measurement; BENCH_REDIS_URL, BENCH_POSTGRES_URL. Keys live
 * under `bench:store:` (deleted afterwards); Postgres uses its own database tollgate_bench_store.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { loadConfig } from '@tollgate/config';
import { createOrm, migrate } from '@tollgate/platform';
import { QUOTA_ENTITIES, QuotaScope } from '@tollgate/quota';
import { TENANCY_ENTITIES } from '@tollgate/tenancy';
import { RedisQuotaStore } from '../libs/quota/src/adapters/redis/redis-quota-store.adapter';
import { MIGRATIONS } from '../apps/tollgate/migrations';
import { reserveKeys, RESERVE_LUA } from './floors/reserve-script';
import { machineInfo } from './lib/machine';
import { deleteKeysMatching } from '../libs/testing/src/redis-keys';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://localhost:6379';
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@localhost:5432';
const DATABASE = 'tollgate_bench_store';
const PREFIX = 'bench:store:';
const IN_FLIGHT = 64;
const USERS = 1_000;
const HOUR = 3_600_000;

/** Runs `op` with IN_FLIGHT callers for `seconds`, or until it answers false; answers calls per second. */
async function saturate(seconds: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const started = Date.now();
  const until = started + seconds * 1000;
  let done = 0;
  let more = true;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (more && Date.now() < until) {
        if ((await op(done)) === false) more = false;
        else done++;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

/**
 * Since the last CONFIG RESETSTAT: Redis's own time per EVALSHA (wall time inside the script,
 * so a busy machine inflates it), and the commands each script ran (redis.call), which do not
 * depend on the machine at all.
 */
async function evalshaStats(redis: Redis): Promise<{ us: number; commands: number }> {
  const stats = (await redis.info('commandstats')).split('\n');
  let scripts = 0;
  let us = NaN;
  let inner = 0;
  for (const line of stats) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/.exec(line);
    if (!match) continue;
    const [, name, calls, perCall] = match;
    if (name === 'evalsha') {
      scripts = Number(calls);
      us = Number(perCall);
    } else if (!['config', 'info', 'script'].includes(name)) inner += Number(calls);
  }
  return { us, commands: scripts > 0 ? inner / scripts : NaN };
}

/** BENCH_THRESHOLDS=80,100: reserve and commit with budget alert thresholds (decision 029), as the service calls them. */
const THRESHOLDS = process.env.BENCH_THRESHOLDS ? process.env.BENCH_THRESHOLDS.split(',').map(Number) : undefined;

async function redisRows(redis: Redis): Promise<string[]> {
  const store = new RedisQuotaStore(redis, PREFIX);
  const scope: QuotaScope = { orgId: `bench-store-${randomUUID().slice(0, 8)}`, environment: 'live' };
  const loaded = await store.load(scope, {
    nodes: [
      { node: { level: 'org' }, config: { limit: 10 ** 15, period: 'none' } },
      { node: { level: 'project', projectId: 'p' }, config: { limit: 10 ** 14, period: 'month' } },
      ...Array.from({ length: USERS }, (_, i) => ({
        node: { level: 'user' as const, projectId: 'p', userId: `u-${i}` },
        config: { limit: 10 ** 11, period: 'day' as const },
      })),
    ],
    defaultUserConfigs: [{ projectId: 'p', config: { limit: 10 ** 11, period: 'day' } }],
    holds: [],
    committed: [],
  });
  if (loaded.kind !== 'loaded') throw new Error(`load: ${loaded.kind}`);
  const floorSha = (await redis.script('LOAD', RESERVE_LUA)) as string;
  const floorKeys = Array.from({ length: USERS }, (_, i) => reserveKeys('floor', 'p', `u-${i}`));
  const floor = (i: number) =>
    redis.evalsha(floorSha, 3, ...floorKeys[i % USERS], '1', String(10 ** 15), String(10 ** 14), String(10 ** 11));

  const rows: string[] = [];
  const held: string[] = [];
  let n = 0;
  const reserve = async () => {
    const holdId = `h${n++}`;
    const outcome = await store.reserve(
      scope,
      { holdId, projectId: 'p', userId: `u-${n % USERS}`, amount: 1_000, expiresAtMs: Date.now() + HOUR },
      new Date(),
      THRESHOLDS,
    );
    if (outcome.kind !== 'held') throw new Error(`reserve: ${outcome.kind}`);
    held.push(holdId);
  };
  const commit = async () => {
    const holdId = held.pop();
    if (!holdId) return false; // every hold of the reserve rows is committed
    const outcome = await store.commit(scope, holdId, 700, new Date(), undefined, undefined, THRESHOLDS);
    if (outcome.kind !== 'committed') throw new Error(`commit: ${outcome.kind}`);
  };
  // Warm-up: scripts loaded, JIT warm.
  await saturate(1, floor);
  await saturate(1, reserve);
  await saturate(1, commit);

  const slices = Math.max(1, Math.round(SECONDS / 2));
  const sum = { floor: [0, 0, 0], reserve: [0, 0, 0], commit: [0, 0, 0] };
  for (let s = 0; s < slices; s++) {
    for (const [name, op] of [
      ['floor', floor],
      ['reserve', reserve],
      ['commit', commit],
    ] as const) {
      await redis.config('RESETSTAT');
      const rate = await saturate(SECONDS / slices, op);
      const stats = await evalshaStats(redis);
      sum[name][0] += rate / slices;
      sum[name][1] += stats.us / slices;
      sum[name][2] += stats.commands / slices;
    }
  }
  const line = (name: string, [rate, us, commands]: number[]) =>
    `| ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${us.toFixed(2)} | ${(us / sum.floor[1]).toFixed(2)}x | ${commands.toFixed(1)} |`;
  rows.push('| Redis call (64 in flight) | calls/s | Redis µs per call | vs the floor | commands per call |', '|---|---:|---:|---:|---:|');
  rows.push(line('floor: bare three-level reserve EVALSHA', sum.floor));
  rows.push(line('QuotaStore.reserve (reserve.lua)', sum.reserve));
  rows.push(line('QuotaStore.commit (commit.lua)', sum.commit));
  return rows;
}

async function postgresRows(): Promise<string[]> {
  const admin = new Client({ connectionString: `${POSTGRES_URL}/postgres` });
  await admin.connect();
  if ((await admin.query('select 1 from pg_database where datname = $1', [DATABASE])).rowCount === 0)
    await admin.query(`create database ${DATABASE}`);
  await admin.end();
  const url = `${POSTGRES_URL}/${DATABASE}`;
  const config = loadConfig({ DATABASE_URL: url, TOLLGATE_PLATFORM_KEY: 'bench-store-platform-key-000000' }, { forService: false });
  const db = new Client({ connectionString: url });
  await db.connect();
  await db.query('drop schema if exists public cascade; create schema public');
  const orm = await createOrm(config.database, { entities: [...TENANCY_ENTITIES, ...QUOTA_ENTITIES], migrations: MIGRATIONS });
  await migrate(orm);
  await orm.close(true);
  await db.query(
    `insert into organizations (id, name, status, overage_policy, created_at, updated_at, status_changed_at) values ('bench', 'bench', 'active', 'allow', now(), now(), now())`,
  );

  let n = 0;
  /** One group-commit statement of 100 holds over the org's 1,000 users (projects and users exist after the first pass). */
  const batch = async () => {
    const values: string[] = [];
    const params: unknown[] = [];
    for (let i = 0; i < 100; i++, n++) {
      const at = params.length;
      values.push(
        `($${at + 1}, 'bench', 'live', 'p', $${at + 2}, 1000, $${at + 1}, 'h', '{"day":"2026-12-01","week":"2026-W49","month":"2026-12"}', now() + interval '1 hour', null, '{}', null, 'key:bench', now())`,
      );
      params.push(`res_${n}`, `u-${n % USERS}`);
    }
    await db.query(
      `with t0 as (insert into reservations (id, org_id, environment, project_id, user_id, amount, idempotency_key, request_hash, periods, expires_at, metadata, response, pricing, created_by, created_at)
        values ${values.join(', ')} on conflict (id) do nothing returning id::text as k) select 0 as t, k from t0`,
      params,
    );
  };
  const timed = async (seconds: number) => {
    const until = Date.now() + seconds * 1000;
    let rows = 0;
    while (Date.now() < until) {
      await batch();
      rows += 100;
    }
    return rows / seconds;
  };
  await timed(1); // creates the project and the users: the steady state is every scope already a row
  const slices = Math.max(1, Math.round(SECONDS / 2));
  const rate = { with: 0, without: 0 };
  for (let s = 0; s < slices; s++) {
    await db.query('alter table reservations enable trigger reservations_create_scopes');
    rate.with += (await timed(SECONDS / slices)) / slices;
    await db.query('alter table reservations disable trigger reservations_create_scopes');
    rate.without += (await timed(SECONDS / slices)) / slices;
  }
  await db.query('alter table reservations enable trigger reservations_create_scopes');
  await db.end();
  return [
    '| Postgres: 100-row group-commit inserts, one connection | rows/s | vs without |',
    '|---|---:|---:|',
    `| without the auto-create trigger | ${Math.round(rate.without).toLocaleString('en-US')} | 1.00 |`,
    `| with it (decision 018) | ${Math.round(rate.with).toLocaleString('en-US')} | ${(rate.with / rate.without).toFixed(2)} |`,
  ];
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const info = await machineInfo(redis);
    console.log(
      `bench:store at ${info.commit} on ${info.cpuModel} (${info.cores} cores), node ${info.node}, redis ${info.redis}, load ${info.loadBefore.join(' ')}; ${SECONDS} s per row, interleaved\n`,
    );
    console.log((await redisRows(redis)).join('\n'));
    console.log();
    // BENCH_SKIP_PG=1: the Redis rows only (e.g. to compare with a build whose schema differs).
    if (!process.env.BENCH_SKIP_PG) console.log((await postgresRows()).join('\n'));
  } finally {
    await deleteKeysMatching(redis, `${PREFIX}*`);
    await deleteKeysMatching(redis, 'bench:{bench:floor}*');
    redis.disconnect();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
