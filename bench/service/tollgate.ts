/**
 * The real service as a benchmark target: start it from dist/ on its own database, find
 * out whether the admission API exists yet, set up the organizations the runs need, and
 * describe the reserve → commit workload in the shapes of API.md.
 */
import http from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { Child, freePort, REPO_ROOT } from '../lib/children';
import { BenchRequest, call, inPool, Workload } from '../lib/load';

/** Not the test database: e2e global setup drops the schema of that one. */
export const BENCH_DATABASE = 'tollgate_bench';
const POSTGRES_URL = 'postgresql://postgres@localhost:5432';
export const BENCH_DATABASE_URL = `${POSTGRES_URL}/${BENCH_DATABASE}`;
/** Every Redis key the service writes during a run starts with this; the runner deletes `bench:*` afterwards. */
export const SERVICE_REDIS_PREFIX = 'bench:tg:';
/** Registered by the service at start-up as a platform key; a local benchmark credential, not a secret. */
export const PLATFORM_KEY = 'tollgate-bench-platform-key-0000000000';

export const DEFAULT_MAIN_JS = path.join(REPO_ROOT, 'dist', 'apps', 'tollgate', 'main.js');

/** Micro-credits. A hold of 0.001 credit, committed at 90%: a partial commit that releases the rest. */
export const HOLD_AMOUNT = 1_000;
export const COMMIT_AMOUNT = 900;
export const TTL_SECONDS = 120;
/** Far above what any run spends (a 20 s run at 10k/s commits ~2e8): checked, never short. */
const ORG_CREDITS = 1_000_000_000_000_000;
const PROJECT_LIMIT = 100_000_000_000_000;
const USER_LIMIT = 100_000_000_000;
export const PROJECT_ID = 'p';

export async function ensureBenchDatabase(): Promise<void> {
  const client = new Client({ connectionString: `${POSTGRES_URL}/postgres` });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [BENCH_DATABASE]);
    // Identifiers cannot be parameters; BENCH_DATABASE is a constant.
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  } finally {
    await client.end();
  }
}

/** The service as a child process; `nodeArgs` go before the script (profiling, GC flags). */
export async function startTollgate(redisUrl: string, mainJs: string, nodeArgs: string[] = []): Promise<Child> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} missing: run \`npm run build\` (npm run bench:admission does)`);
  await ensureBenchDatabase();
  const port = await freePort();
  return Child.start({
    name: 'tollgate',
    args: [...nodeArgs, mainJs],
    // Only what the service needs: nothing of the caller's environment (a DATABASE_URL pointing
    // at the test database, say) leaks in.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      DATABASE_URL: BENCH_DATABASE_URL,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: SERVICE_REDIS_PREFIX,
      TOLLGATE_PLATFORM_KEY: PLATFORM_KEY,
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    port,
    readyPath: '/health/ready',
    readyTimeoutMs: 120_000, // first start applies migrations
  });
}

const AUTH = { authorization: `Bearer ${PLATFORM_KEY}` };

/** Reserve body per API.md (raw amount). */
export function reserveRequest(idempotencyKey: string, orgId: string, userId: string): BenchRequest {
  return {
    method: 'POST',
    path: '/v1/reservations',
    headers: { ...AUTH, 'idempotency-key': idempotencyKey },
    body: { org_id: orgId, project_id: PROJECT_ID, user_id: userId, amount: HOLD_AMOUNT, ttl_seconds: TTL_SECONDS },
  };
}

/**
 * The benchmark's rate card: tokens, graduated over the period's tiers with a dimensional
 * override for one model, so a priced reserve resolves a match and walks tiers. 1,000 tokens
 * cost 1,000 micro-credits, the raw workload's amount, so both rows hold the same.
 */
export const BENCH_RATE_CARD = {
  name: 'bench',
  rates: [
    {
      product: 'bench.generate',
      dimension: 'tokens',
      model: 'graduated',
      tiers: [
        { up_to: 1_000_000, unit_price: '0.000001' },
        { up_to: null, unit_price: '0.0000008' },
      ],
    },
    {
      product: 'bench.generate',
      dimension: 'tokens',
      match: { model: 'm1' },
      model: 'graduated',
      tiers: [
        { up_to: 100_000, unit_price: '0.000001' },
        { up_to: null, unit_price: '0.0000009' },
      ],
    },
  ],
};

/** Reserve body per API.md (priced: product, usage, dimensions). */
export function pricedReserveRequest(idempotencyKey: string, orgId: string, userId: string): BenchRequest {
  return {
    method: 'POST',
    path: '/v1/reservations',
    headers: { ...AUTH, 'idempotency-key': idempotencyKey },
    body: {
      org_id: orgId,
      project_id: PROJECT_ID,
      user_id: userId,
      product: 'bench.generate',
      usage: { tokens: 1_000 },
      dimensions: { model: 'm1' },
      ttl_seconds: TTL_SECONDS,
    },
  };
}

/** Commit body per API.md (actual usage, priced at the hold's rates). */
export function pricedCommitRequest(idempotencyKey: string, reservationId: string): BenchRequest {
  return {
    method: 'POST',
    path: `/v1/reservations/${encodeURIComponent(reservationId)}/commit`,
    headers: { ...AUTH, 'idempotency-key': idempotencyKey },
    body: { usage: { tokens: 900 } },
  };
}

/** Commit body per API.md (raw amount). */
export function commitRequest(idempotencyKey: string, reservationId: string): BenchRequest {
  return {
    method: 'POST',
    path: `/v1/reservations/${encodeURIComponent(reservationId)}/commit`,
    headers: { ...AUTH, 'idempotency-key': idempotencyKey },
    body: { amount: COMMIT_AMOUNT },
  };
}

/**
 * Each virtual user alternates reserve → commit of the hold it got. Idempotency keys are
 * unique per run (`runId`) and request, so no run replays another's answers.
 */
export function reserveThenCommit(runId: string, pick: (i: number) => { org: string; user: string }, priced = false): Workload {
  return {
    request: (i) => {
      const { org, user } = pick(i);
      return priced ? pricedReserveRequest(`${runId}-${i}-r`, org, user) : reserveRequest(`${runId}-${i}-r`, org, user);
    },
    followUp: (res, req) => {
      if (req.path !== '/v1/reservations') return undefined;
      let id: unknown;
      try {
        id = (JSON.parse(res.body) as { id?: unknown }).id;
      } catch {
        throw new Error(`reserve ${res.status}: body is not JSON`);
      }
      if (typeof id !== 'string') throw new Error(`reserve ${res.status} without an id`);
      return priced
        ? pricedCommitRequest(`${req.headers?.['idempotency-key']}-c`, id)
        : commitRequest(`${req.headers?.['idempotency-key']}-c`, id);
    },
  };
}

/** Uniform pseudo-random picks, seeded so two runs send the same sequence. */
export function seededPicker(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

export type Availability = { implemented: true } | { implemented: false; reason: string };

function routeMissing(res: { status: number; json: unknown }): boolean {
  return res.status === 404 && (res.json as { code?: unknown } | undefined)?.code === 'route_not_found';
}

/** An HTTP client for setup and probes (not measured). */
export class TollgateApi {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

  constructor(readonly port: number) {}

  close(): void {
    this.agent.destroy();
  }

  request(req: BenchRequest, timeoutMs?: number) {
    return call(this.port, { ...req, headers: { ...AUTH, ...req.headers } }, this.agent, timeoutMs);
  }

  /**
   * Whether POST /v1/reservations exists: a probe for an organization that does not exist
   * answers 404 `unknown_org` (or 422) once the route is there, 404 `route_not_found` before.
   */
  async reservations(): Promise<Availability> {
    const reserve = await this.request(reserveRequest(`probe-${Date.now()}-r`, 'bench-probe-no-such-org', 'u-0'));
    if (routeMissing(reserve)) return { implemented: false, reason: 'POST /v1/reservations not implemented yet' };
    // An unknown reservation: 404 with its own code (or 409) once commit exists.
    const commit = await this.request(commitRequest(`probe-${Date.now()}-c`, 'res_bench_probe_no_such_hold'));
    if (routeMissing(commit)) return { implemented: false, reason: 'POST /v1/reservations/{id}/commit not implemented yet' };
    return { implemented: true };
  }

  /** Runs a setup call; a missing route becomes a NotImplemented the runner reports as n/a. */
  async setup(req: BenchRequest, accept: number[]): Promise<{ status: number; json: unknown; text: string }> {
    const res = await this.request(req);
    if (routeMissing(res))
      throw new NotImplemented(
        `${req.method} ${req.path.replace(/\/orgs\/[^/]+/, '/orgs/{org}').replace(/\/users\/[^/]+/, '/users/{user}')} not implemented yet`,
      );
    if (!accept.includes(res.status)) throw new Error(`${req.method} ${req.path} answered ${res.status}: ${res.text.slice(0, 300)}`);
    return res;
  }
}

export class NotImplemented extends Error {}

/** What the service runs need, created once per database (see Population). */
export interface Populations {
  hotOrg: string;
  /** Users u-0 … u-(n-1) of hotOrg, each with its own limit. */
  hotUsers: number;
  spreadOrgs: string[];
  largeOrg: string;
  largeUsers: number;
}

export function populations(spreadOrgs: number, smallUsers: number, largeUsers: number): Populations {
  return {
    hotOrg: `bench-hot-u${smallUsers}`,
    hotUsers: smallUsers,
    spreadOrgs: Array.from({ length: spreadOrgs }, (_, i) => `bench-spread-${String(i).padStart(5, '0')}`),
    largeOrg: `bench-u${largeUsers}`,
    largeUsers,
  };
}

/**
 * Creating 10,000 organizations and a million users takes minutes over HTTP, so it is done
 * once per database: a row in `bench.population` (our own schema in tollgate_bench, beside
 * the service's tables) records each finished step. Dropping the database starts over.
 */
class Population {
  constructor(readonly db: Client) {}

  static async open(): Promise<Population> {
    const db = new Client({ connectionString: BENCH_DATABASE_URL });
    await db.connect();
    await db.query('CREATE SCHEMA IF NOT EXISTS bench');
    await db.query('CREATE TABLE IF NOT EXISTS bench.population (step text PRIMARY KEY, done_at timestamptz NOT NULL DEFAULT now())');
    return new Population(db);
  }

  async done(step: string): Promise<boolean> {
    return ((await this.db.query('SELECT 1 FROM bench.population WHERE step = $1', [step])).rowCount ?? 0) > 0;
  }

  async clear(): Promise<void> {
    await this.db.query('DELETE FROM bench.population');
  }

  async mark(step: string): Promise<void> {
    await this.db.query('INSERT INTO bench.population (step) VALUES ($1) ON CONFLICT DO NOTHING', [step]);
  }

  close(): Promise<void> {
    return this.db.end();
  }
}

type Log = (line: string) => void;

/** The priced rows' rate card, assigned to the hot org (raw amounts there are not priced). */
async function assignRateCard(api: TollgateApi, org: string): Promise<void> {
  const card = await api.setup({ method: 'POST', path: '/v1/rate-cards', body: BENCH_RATE_CARD }, [201]);
  const id = (card.json as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') throw new Error(`rate card created without an id: ${card.text.slice(0, 200)}`);
  await api.setup({ method: 'PATCH', path: `/v1/orgs/${org}`, body: { rate_card_id: id } }, [200]);
}

async function createOrg(api: TollgateApi, org: string): Promise<void> {
  // 409: created by an earlier, interrupted setup.
  await api.setup({ method: 'POST', path: '/v1/orgs', body: { id: org, name: org } }, [201, 409]);
  await api.setup({ method: 'POST', path: `/v1/orgs/${org}/credits`, body: { amount: ORG_CREDITS, reason: 'benchmark' } }, [201]);
  await api.setup(
    {
      method: 'PUT',
      path: `/v1/orgs/${org}/projects/${PROJECT_ID}`,
      body: { limit: PROJECT_LIMIT, period: 'month', default_user_limit: USER_LIMIT, default_user_period: 'day' },
    },
    [200, 201],
  );
}

/** Users made one by one through the API; past this, the rest are inserted in bulk (see bulkUsers). */
const USERS_VIA_API = 20_000;

async function createUsers(
  api: TollgateApi,
  db: Client,
  org: string,
  count: number,
  log: Log,
  forget: (org: string) => Promise<void>,
): Promise<void> {
  const viaApi = Math.min(count, USERS_VIA_API);
  let made = 0;
  const started = Date.now();
  await inPool(range(viaApi), 32, async (i) => {
    await api.setup(
      { method: 'PUT', path: `/v1/orgs/${org}/projects/${PROJECT_ID}/users/u-${i}`, body: { limit: USER_LIMIT, period: 'day' } },
      [200, 201],
    );
    if (++made % 5_000 === 0)
      log(`  ${org}: ${made}/${viaApi} users through the API (${Math.round(made / ((Date.now() - started) / 1000))}/s)`);
  });
  if (count > viaApi) await bulkUsers(db, org, viaApi, count, log, forget);
}

/**
 * Users viaApi … count-1 as rows in project_users, copied from what PUT …/users/u-0 wrote.
 * Admin writes ran at about 110/s on this machine (a million would take 2.5 hours through
 * the API); the service reads these rows like any other when it rebuilds the organization's
 * counters, which the caller forces by deleting the organization's Redis keys afterwards.
 * Tied to the schema on purpose: if project_users changes, this fails loudly, naming it.
 */
async function bulkUsers(
  db: Client,
  org: string,
  from: number,
  count: number,
  log: Log,
  forget: (org: string) => Promise<void>,
): Promise<void> {
  const template = await db
    .query('SELECT environment, limit_amount, period FROM project_users WHERE org_id = $1 AND project_id = $2 AND id = $3', [
      org,
      PROJECT_ID,
      'u-0',
    ])
    .catch((error: Error) => {
      throw new Error(
        `bulk users: project_users is not what bench/service/tollgate.ts expects (${error.message}); update bulkUsers or set BENCH_USERS_LARGE ≤ ${USERS_VIA_API}`,
      );
    });
  const row = template.rows[0] as { environment: string; limit_amount: string; period: string } | undefined;
  if (!row || Number(row.limit_amount) !== USER_LIMIT || row.period !== 'day') {
    throw new Error(`bulk users: PUT …/users/u-0 did not leave the row bulkUsers copies (${JSON.stringify(row)}); update bulkUsers`);
  }
  const CHUNK = 100_000;
  for (let start = from; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    await db.query(
      `INSERT INTO project_users (org_id, environment, project_id, id, limit_amount, period, created_at, updated_at)
       SELECT $1, $2, $3, 'u-' || g, $4, $5, now(), now() FROM generate_series($6::int, $7::int - 1) AS g
       ON CONFLICT DO NOTHING`,
      [org, row.environment, PROJECT_ID, row.limit_amount, row.period, start, end],
    );
    log(`  ${org}: ${end}/${count} users`);
  }
  await forget(org);
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/**
 * Organizations: one hot org with `hotUsers` users, `spreadOrgs` orgs (their users are
 * created by their first reserve, under the project's default user cap), and one org with
 * `largeUsers` users. Each org: credits, project `p` with a monthly limit and a daily
 * default user cap, so every reserve is checked at all three levels.
 * Throws NotImplemented if an admin route does not exist yet.
 */
export async function setUp(api: TollgateApi, pop: Populations, log: Log, forget: (org: string) => Promise<void>): Promise<void> {
  const marks = await Population.open();
  const db = marks.db;
  try {
    // Markers whose organizations are gone (tables truncated, a schema rebuilt) are worthless.
    const probes: [string, string][] = [
      [`org:${pop.hotOrg}`, pop.hotOrg],
      [`spread:${pop.spreadOrgs.length}`, pop.spreadOrgs[pop.spreadOrgs.length - 1]],
      [`org:${pop.largeOrg}`, pop.largeOrg],
    ];
    for (const [step, org] of probes) {
      if (!(await marks.done(step))) continue;
      const res = await api.request({ method: 'GET', path: `/v1/orgs/${org}` });
      if (res.status !== 200) {
        log(`  ${org} is gone (GET answered ${res.status}): setting everything up again`);
        await marks.clear();
        break;
      }
    }
    const steps: [string, () => Promise<void>][] = [
      [`org:${pop.hotOrg}`, () => createOrg(api, pop.hotOrg)],
      [`users:${pop.hotOrg}:${pop.hotUsers}`, () => createUsers(api, db, pop.hotOrg, pop.hotUsers, log, forget)],
      [`card:${pop.hotOrg}`, () => assignRateCard(api, pop.hotOrg)],
      [`spread:${pop.spreadOrgs.length}`, () => inPool(pop.spreadOrgs, 32, (org) => createOrg(api, org))],
      [`org:${pop.largeOrg}`, () => createOrg(api, pop.largeOrg)],
      [`users:${pop.largeOrg}:${pop.largeUsers}`, () => createUsers(api, db, pop.largeOrg, pop.largeUsers, log, forget)],
    ];
    for (const [step, run] of steps) {
      if (await marks.done(step)) continue;
      const started = Date.now();
      log(`  setup ${step} ...`);
      await run();
      await marks.mark(step);
      log(`  setup ${step} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await marks.close();
  }
}

/**
 * One reserve + commit on an organization, retried while the service answers 503 (it
 * says when to retry) until `deadlineMs`: the first request after the previous run's Redis
 * keys were deleted waits for the service to rebuild the organization's counters from
 * Postgres, and that rebuild is not what the measured runs are about.
 */
async function primeOne(api: TollgateApi, org: string, key: string, deadlineMs: number): Promise<void> {
  const attempts: string[] = [];
  const attempt = async (req: BenchRequest, expect: number) => {
    const what = req.path.endsWith('/commit') ? 'commit' : 'reserve';
    for (;;) {
      const left = deadlineMs - Date.now();
      const history = () => (attempts.length ? ` (earlier: ${attempts.join(', ')})` : '');
      if (left <= 0) throw new Error(`priming ${org}: no ${expect} to the ${what} before the deadline${history()}`);
      const started = Date.now();
      let res;
      try {
        res = await api.request(req, left);
      } catch (error) {
        throw new Error(
          `priming ${org}: ${what}: ${(error as Error).message} after ${Math.round((Date.now() - started) / 1000)} s${history()}`,
        );
      }
      if (res.status === expect) return res;
      const code = (res.json as { code?: unknown } | undefined)?.code;
      attempts.push(`${res.status}${typeof code === 'string' ? ` ${code}` : ''} after ${Math.round((Date.now() - started) / 1000)} s`);
      if (res.status !== 503) throw new Error(`priming ${org}: ${what} answered ${res.status}: ${res.text.slice(0, 200)}`);
      const retryAfter = (res.json as { retry_after_seconds?: unknown } | undefined)?.retry_after_seconds;
      await new Promise((r) => setTimeout(r, typeof retryAfter === 'number' ? retryAfter * 1000 : 1000));
    }
  };
  // The same idempotency key on every attempt: a retried reserve is the same request.
  const reserve = await attempt(reserveRequest(`${key}-r`, org, 'u-0'), 201);
  const id = (reserve.json as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') throw new Error(`priming ${org}: reserve answered 201 without an id: ${reserve.text.slice(0, 200)}`);
  await attempt(commitRequest(`${key}-c`, id), 200);
}

/** Primes the hot org and every spread org (one reserve + commit each) before measuring. */
export async function primeOrgs(api: TollgateApi, pop: Populations, runId: string): Promise<void> {
  const deadline = Date.now() + 300_000;
  await primeOne(api, pop.hotOrg, `${runId}-hot`, deadline);
  await inPool(pop.spreadOrgs.entries(), 32, ([i, org]) => primeOne(api, org, `${runId}-spread-${i}`, deadline));
}

/** Primes the large org; returns how long its first answer took (mostly its rebuild). */
export async function primeLargeOrg(api: TollgateApi, pop: Populations, runId: string): Promise<number> {
  const started = Date.now();
  await primeOne(api, pop.largeOrg, `${runId}-large`, started + 300_000);
  return Date.now() - started;
}
