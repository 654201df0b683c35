import fc from 'fast-check';
import Redis from 'ioredis';
import { createTestApp, TestApp, TestClient, TestResponse, testRedisUrl, uniqueId } from '@tollgate/testing';

/**
 * The invariants of DESIGN.md ("No overspend", "All or nothing", "Exactly once", "Nothing lost")
 * as a model-based property over the real HTTP API, Postgres and Redis: random hierarchies, random
 * command sequences, and after every command the usage tree must agree with a model built only
 * from the API's own answers. At the end: nothing leaks, and Redis agrees with Postgres.
 */

// Every app of these suites registers this platform key (there is one configured platform key
// per database; a different one per app would revoke the other's), and a Redis prefix of their
// own, so no other suite's sweeper or invalidation bus acts on these scopes.
const INVARIANTS_PLATFORM_KEY = 'tg_platform_test_invariants_0123456789abcdef';
const INVARIANTS_REDIS_PREFIX = 'tginv:';

type Period = 'none' | 'day' | 'month';
type Level = 'org' | 'project' | 'user';

const PROJECTS = ['p0', 'p1'] as const;
const USERS = ['u0', 'u1', 'u2'] as const;
const MAX_EXPIRIES_PER_RUN = 2;
const NUM_RUNS = 25;

interface Cap {
  limit: number | null;
  period: Period;
}

interface Hierarchy {
  credits: number;
  projects: { limit: number | null; period: Period; defaultUserLimit: number | null; defaultUserPeriod: Period }[];
  /** Own caps, [project][user]; null: the project's default. */
  ownCaps: (Cap | null)[][];
}

interface Hold {
  id: string;
  project: string;
  user: string;
  amount: number;
}

interface Reserve201 {
  idempotencyKey: string;
  body: Record<string, unknown>;
  response: Record<string, unknown>;
}

interface Ended {
  hold: Hold;
  status: 'committed' | 'released' | 'expired';
  /** Committed: the request that committed it, to retry. */
  commit?: { idempotencyKey: string; amount: number; response: Record<string, unknown> };
}

interface Model {
  limits: Map<string, number | null>;
  committed: Map<string, number>;
  held: Hold[];
  ended: Ended[];
  reserves: Reserve201[];
  expiries: number;
}

interface Real {
  api: TestClient;
  org: string;
  key: string;
  redis: Redis;
}

const nodeKey = (level: Level, project?: string, user?: string) =>
  level === 'org' ? 'org' : level === 'project' ? `p:${project}` : `u:${project}:${user}`;
const chain = (project: string, user: string): [Level, string][] => [
  ['org', nodeKey('org')],
  ['project', nodeKey('project', project)],
  ['user', nodeKey('user', project, user)],
];

function reservedOf(model: Model, key: string): number {
  let sum = 0;
  for (const h of model.held) for (const [, k] of chain(h.project, h.user)) if (k === key) sum += h.amount;
  return sum;
}

/** What the model says a reserve of `amount` at (project, user) must answer. */
function predict(model: Model, project: string, user: string, amount: number) {
  const remaining: Record<Level, number | null> = { org: null, project: null, user: null };
  for (const [level, key] of chain(project, user)) {
    const limit = model.limits.get(key)!;
    if (limit === null) continue;
    const used = (model.committed.get(key) ?? 0) + reservedOf(model, key);
    if (used + amount > limit) return { admitted: false as const, level, available: Math.max(0, limit - used) };
    remaining[level] = limit - used - amount;
  }
  return { admitted: true as const, remaining };
}

/** The smallest room left along (project, user), or null when no level has a limit. */
function roomAlong(model: Model, project: string, user: string): number | null {
  let room: number | null = null;
  for (const [, key] of chain(project, user)) {
    const limit = model.limits.get(key)!;
    if (limit === null) continue;
    const left = Math.max(0, limit - (model.committed.get(key) ?? 0) - reservedOf(model, key));
    room = room === null ? left : Math.min(room, left);
  }
  return room;
}

function describeResponse(res: TestResponse): string {
  return `${res.status} ${res.text}`;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

async function usageTree(real: Real) {
  const res = await real.api.get(`/v1/orgs/${real.org}/usage`, { key: real.key });
  if (res.status !== 200) throw new Error(`usage tree: ${describeResponse(res)}`);
  return res.body;
}

/** Every node of the tree, keyed like the model. */
function nodesOf(tree: any): Map<string, any> {
  const nodes = new Map<string, any>([['org', tree.org]]);
  for (const p of tree.projects) {
    nodes.set(nodeKey('project', p.id), p);
    for (const u of p.users) nodes.set(nodeKey('user', p.id, u.id), u);
  }
  return nodes;
}

/** After every command: the tree is the model's, and no level is over its limit. */
async function checkInvariants(model: Model, real: Real, after: string): Promise<void> {
  const tree = await usageTree(real);
  const nodes = nodesOf(tree);
  const problems: string[] = [];
  expect([...nodes.keys()].sort()).toEqual([...model.limits.keys()].sort());
  for (const [key, node] of nodes) {
    const limit = model.limits.get(key)!;
    const committed = model.committed.get(key) ?? 0;
    const reserved = reservedOf(model, key);
    if (node.limit !== limit) problems.push(`${key}: limit ${node.limit}, expected ${limit}`);
    if (node.limit !== null && node.committed + node.reserved > node.limit)
      problems.push(`${key}: OVERSPEND committed ${node.committed} + reserved ${node.reserved} > limit ${node.limit}`);
    if (node.reserved !== reserved) problems.push(`${key}: reserved ${node.reserved}, the model holds ${reserved}`);
    if (node.committed !== committed) problems.push(`${key}: committed ${node.committed}, the model committed ${committed}`);
    const available = limit === null ? null : Math.max(0, limit - committed - reserved);
    if (node.available !== available) problems.push(`${key}: available ${node.available}, expected ${available}`);
  }
  if (problems.length > 0) throw new Error(`after ${after}:\n  ${problems.join('\n  ')}\ntree: ${JSON.stringify(tree)}`);
}

async function expectNotHeld(res: TestResponse, what: string): Promise<void> {
  if (res.status !== 409 || res.body?.code !== 'reservation_not_held')
    throw new Error(`${what}: expected 409 reservation_not_held, got ${describeResponse(res)}`);
}

function pick<T>(items: T[], index: number): T {
  return items[index % items.length];
}

// ---------------------------------------------------------------------------------- commands

type Cmd = fc.AsyncCommand<Model, Real>;

/** Commands run, by kind (for the summary line). */
const ran = new Map<string, number>();
const tally = (cmd: Cmd) => ran.set(cmd.constructor.name, (ran.get(cmd.constructor.name) ?? 0) + 1);

async function doReserve(
  model: Model,
  real: Real,
  project: string,
  user: string,
  amount: number,
  ttl: number,
  what: string,
): Promise<Hold | null> {
  const body = { org_id: real.org, project_id: project, user_id: user, amount, ttl_seconds: ttl };
  const idempotencyKey = uniqueId('k');
  const expected = predict(model, project, user, amount);
  const res = await real.api.post('/v1/reservations', body, { key: real.key, idempotencyKey });
  if (expected.admitted) {
    if (res.status !== 201)
      throw new Error(`${what}: the model admits it (remaining ${JSON.stringify(expected.remaining)}), got ${describeResponse(res)}`);
    expect(res.body).toMatchObject({ status: 'held', amount, project_id: project, user_id: user, remaining: expected.remaining });
    const hold = { id: res.body.id as string, project, user, amount };
    model.held.push(hold);
    model.reserves.push({ idempotencyKey, body, response: res.body });
    return hold;
  }
  if (res.status !== 402)
    throw new Error(`${what}: the model refuses it at ${expected.level} (available ${expected.available}), got ${describeResponse(res)}`);
  expect(res.body).toMatchObject({ code: 'insufficient_budget', level: expected.level, required: amount, available: expected.available });
  return null;
}

class ReserveCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly u: number,
    readonly amount: number,
    readonly ttl: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    tally(this);
    await doReserve(model, real, PROJECTS[this.p], USERS[this.u], this.amount, this.ttl, this.toString());
    await checkInvariants(model, real, this.toString());
  }
  toString = () => `reserve(${PROJECTS[this.p]}/${USERS[this.u]}, ${this.amount}, ttl ${this.ttl})`;
}

/** The room left along the chain, plus delta: exactly at the boundary, or one over or under it. */
class ReserveAtBoundaryCmd implements Cmd {
  constructor(
    readonly p: number,
    readonly u: number,
    readonly delta: -1 | 0 | 1,
  ) {}
  check = (model: Readonly<Model>) => {
    const room = roomAlong(model as Model, PROJECTS[this.p], USERS[this.u]);
    return room !== null && room + this.delta >= 1;
  };
  async run(model: Model, real: Real) {
    tally(this);
    const amount = roomAlong(model, PROJECTS[this.p], USERS[this.u])! + this.delta;
    const what = `${this.toString()} = ${amount}`;
    await doReserve(model, real, PROJECTS[this.p], USERS[this.u], amount, 600, what);
    await checkInvariants(model, real, what);
  }
  toString = () => `reserveAtBoundary(${PROJECTS[this.p]}/${USERS[this.u]}, room${this.delta >= 0 ? '+' : ''}${this.delta})`;
}

class CommitCmd implements Cmd {
  constructor(
    readonly index: number,
    readonly permille: number,
  ) {}
  check = (model: Readonly<Model>) => model.held.length > 0;
  async run(model: Model, real: Real) {
    tally(this);
    const hold = pick(model.held, this.index);
    const amount = Math.floor((hold.amount * this.permille) / 1000);
    const what = `${this.toString()} [${hold.id} of ${hold.amount} at ${hold.project}/${hold.user}: ${amount}]`;
    const idempotencyKey = uniqueId('c');
    const res = await real.api.post(`/v1/reservations/${hold.id}/commit`, { amount }, { key: real.key, idempotencyKey });
    if (res.status !== 200) throw new Error(`${what}: ${describeResponse(res)}`);
    expect(res.body).toMatchObject({
      status: 'committed',
      amount_committed: amount,
      amount_released: hold.amount - amount,
      variance: amount - hold.amount,
      overage: false,
    });
    model.held.splice(model.held.indexOf(hold), 1);
    for (const [, key] of chain(hold.project, hold.user)) model.committed.set(key, (model.committed.get(key) ?? 0) + amount);
    model.ended.push({ hold, status: 'committed', commit: { idempotencyKey, amount, response: res.body } });
    await checkInvariants(model, real, what);
  }
  toString = () => `commit(held#${this.index}, ${this.permille}‰)`;
}

class ReleaseCmd implements Cmd {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.held.length > 0;
  async run(model: Model, real: Real) {
    tally(this);
    const hold = pick(model.held, this.index);
    const what = `${this.toString()} [${hold.id} of ${hold.amount} at ${hold.project}/${hold.user}]`;
    const res = await real.api.post(
      `/v1/reservations/${hold.id}/release`,
      { reason: 'provider_failed' },
      { key: real.key, idempotencyKey: uniqueId('r') },
    );
    if (res.status !== 200) throw new Error(`${what}: ${describeResponse(res)}`);
    expect(res.body).toMatchObject({ status: 'released', amount_released: hold.amount });
    model.held.splice(model.held.indexOf(hold), 1);
    model.ended.push({ hold, status: 'released' });
    await checkInvariants(model, real, what);
  }
  toString = () => `release(held#${this.index})`;
}

class ExtendCmd implements Cmd {
  constructor(
    readonly index: number,
    readonly ttl: number,
  ) {}
  check = (model: Readonly<Model>) => model.held.length > 0;
  async run(model: Model, real: Real) {
    tally(this);
    const hold = pick(model.held, this.index);
    const what = `${this.toString()} [${hold.id}]`;
    const before = Date.now();
    const res = await real.api.post(`/v1/reservations/${hold.id}/extend`, { ttl_seconds: this.ttl }, { key: real.key });
    if (this.ttl > 900) {
      if (res.status !== 422) throw new Error(`${what}: beyond max_ttl_seconds, expected 422, got ${describeResponse(res)}`);
    } else {
      if (res.status !== 200) throw new Error(`${what}: ${describeResponse(res)}`);
      expect(res.body.status).toBe('held');
      const expiresAt = new Date(res.body.expires_at).getTime();
      expect(expiresAt).toBeGreaterThanOrEqual(before + this.ttl * 1000 - 1_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + this.ttl * 1000 + 1_000);
    }
    await checkInvariants(model, real, what);
  }
  toString = () => `extend(held#${this.index}, ttl ${this.ttl})`;
}

/** Commit, release or extend of a reservation that has ended: 409, and nothing changes. */
class EndedCmd implements Cmd {
  constructor(
    readonly index: number,
    readonly op: 'commit' | 'release' | 'extend',
  ) {}
  check = (model: Readonly<Model>) => model.ended.length > 0;
  async run(model: Model, real: Real) {
    tally(this);
    const { hold, status } = pick(model.ended, this.index);
    const what = `${this.toString()} [${hold.id}, ${status}]`;
    const url = `/v1/reservations/${hold.id}/${this.op}`;
    const body = this.op === 'commit' ? { amount: 1 } : this.op === 'extend' ? { ttl_seconds: 60 } : {};
    const res = await real.api.post(url, body, { key: real.key, idempotencyKey: uniqueId('x') });
    await expectNotHeld(res, what);
    const got = await real.api.get(`/v1/reservations/${hold.id}`, { key: real.key });
    expect({ what, status: got.body.status }).toEqual({ what, status });
    await checkInvariants(model, real, what);
  }
  toString = () => `${this.op}Ended(ended#${this.index})`;
}

/** The same commit again (same key and body): its first answer, billed once. */
class RetryCommitCmd implements Cmd {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => model.ended.some((e) => e.commit);
  async run(model: Model, real: Real) {
    tally(this);
    const { hold, commit } = pick(
      model.ended.filter((e) => e.commit),
      this.index,
    );
    const what = `${this.toString()} [${hold.id}]`;
    const res = await real.api.post(
      `/v1/reservations/${hold.id}/commit`,
      { amount: commit!.amount },
      { key: real.key, idempotencyKey: commit!.idempotencyKey },
    );
    if (res.status !== 200) throw new Error(`${what}: ${describeResponse(res)}`);
    expect(res.headers['idempotent-replayed']).toBe('true');
    expect(res.body).toEqual(commit!.response);
    await checkInvariants(model, real, what);
  }
  toString = () => `retryCommit(committed#${this.index})`;
}

/** The same reserve again (same key and body): its first answer, and never a second hold. */
function retryable(model: Model): Reserve201[] {
  return model.reserves;
}

class RetryReserveCmd implements Cmd {
  constructor(readonly index: number) {}
  check = (model: Readonly<Model>) => retryable(model as Model).length > 0;
  async run(model: Model, real: Real) {
    tally(this);
    const first = pick(retryable(model), this.index);
    const id = first.response.id as string;
    const state = model.held.some((h) => h.id === id) ? 'held' : model.ended.find((e) => e.hold.id === id)?.status;
    const what = `${this.toString()} [${id}, ${state}]`;
    const res = await real.api.post('/v1/reservations', first.body, { key: real.key, idempotencyKey: first.idempotencyKey });
    if (res.status !== 201) throw new Error(`${what}: expected the first answer replayed (201), got ${describeResponse(res)}`);
    expect(res.headers['idempotent-replayed']).toBe('true');
    expect(res.body).toEqual(first.response);
    await checkInvariants(model, real, what);
  }
  toString = () => `retryReserve(reserve#${this.index})`;
}

/**
 * A hold left to expire: a new one with ttl 1 s, or a held one shortened to 1 s. Waits for the
 * sweeper (every second) to return it to every level.
 */
class ExpireCmd implements Cmd {
  constructor(
    readonly kind: 'new' | 'existing',
    readonly index: number,
    readonly p: number,
    readonly u: number,
    readonly amount: number,
  ) {}
  check = (model: Readonly<Model>) => model.expiries < MAX_EXPIRIES_PER_RUN && (this.kind === 'new' || model.held.length > 0);
  async run(model: Model, real: Real) {
    tally(this);
    model.expiries++;
    let hold: Hold | null;
    let what = this.toString();
    if (this.kind === 'new') {
      hold = await doReserve(model, real, PROJECTS[this.p], USERS[this.u], this.amount, 1, what);
      if (!hold) return checkInvariants(model, real, what);
    } else {
      hold = pick(model.held, this.index);
      what += ` [${hold.id} of ${hold.amount}]`;
      const res = await real.api.post(`/v1/reservations/${hold.id}/extend`, { ttl_seconds: 1 }, { key: real.key });
      if (res.status !== 200) throw new Error(`${what}: ${describeResponse(res)}`);
    }
    const h = hold;
    model.held.splice(model.held.indexOf(h), 1);
    model.ended.push({ hold: h, status: 'expired' });
    const expected = reservedOf(model, nodeKey('user', h.project, h.user));
    const swept = await waitFor(async () => {
      const tree = await usageTree(real);
      return nodesOf(tree).get(nodeKey('user', h.project, h.user)).reserved === expected;
    }, 8_000);
    if (!swept) throw new Error(`${what}: the hold was not returned within 8 s of its expiry: ${JSON.stringify(await usageTree(real))}`);
    expect((await real.api.get(`/v1/reservations/${h.id}`, { key: real.key })).body.status).toBe('expired');
    await checkInvariants(model, real, `${what} (expired)`);
  }
  toString = () =>
    this.kind === 'new' ? `expireNew(${PROJECTS[this.p]}/${USERS[this.u]}, ${this.amount})` : `expireExisting(held#${this.index})`;
}

/** Redis loses the organization: the next call rebuilds it from Postgres, holds and spend included. */
class RebuildCmd implements Cmd {
  check = () => true;
  async run(model: Model, real: Real) {
    tally(this);
    const keys = await real.redis.keys(`*{${real.org}:live}*`);
    if (keys.length > 0) await real.redis.del(...keys);
    await checkInvariants(model, real, this.toString());
  }
  toString = () => 'rebuildFromPostgres()';
}

// ------------------------------------------------------------------------------- arbitraries

const period = fc.constantFrom<Period>('none', 'day', 'month');
const cap = (max: number) =>
  fc.option(fc.oneof({ arbitrary: fc.integer({ min: 0, max }), weight: 1 }, { arbitrary: fc.integer({ min: max / 4, max }), weight: 4 }), {
    freq: 3,
  });

const hierarchy: fc.Arbitrary<Hierarchy> = fc.record({
  credits: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 12_000_000 }), weight: 1 },
    { arbitrary: fc.integer({ min: 4_000_000, max: 30_000_000 }), weight: 4 },
  ),
  projects: fc.tuple(
    ...PROJECTS.map(() => fc.record({ limit: cap(8_000_000), period, defaultUserLimit: cap(5_000_000), defaultUserPeriod: period })),
  ),
  ownCaps: fc.tuple(
    ...PROJECTS.map(() =>
      fc.tuple(...USERS.map(() => fc.option(fc.record({ limit: fc.integer({ min: 0, max: 4_000_000 }), period }), { freq: 4 }))),
    ),
  ),
});

const p = fc.integer({ min: 0, max: PROJECTS.length - 1 });
const u = fc.integer({ min: 0, max: USERS.length - 1 });
const index = fc.nat({ max: 50 });
const amount = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 3_000_000 }), weight: 4 },
  { arbitrary: fc.integer({ min: 1, max: 1_000 }), weight: 1 },
);
const ttl = fc.oneof(fc.constantFrom(60, 900), fc.integer({ min: 60, max: 900 }));

const command: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.tuple(p, u, amount, ttl).map(([a, b, c, d]) => new ReserveCmd(a, b, c, d)), weight: 10 },
  { arbitrary: fc.tuple(p, u, fc.constantFrom<-1 | 0 | 1>(-1, 0, 1)).map(([a, b, c]) => new ReserveAtBoundaryCmd(a, b, c)), weight: 3 },
  {
    arbitrary: fc.tuple(index, fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(0, 1000))).map(([a, b]) => new CommitCmd(a, b)),
    weight: 6,
  },
  { arbitrary: index.map((a) => new ReleaseCmd(a)), weight: 3 },
  {
    arbitrary: fc
      .tuple(index, fc.oneof({ arbitrary: fc.integer({ min: 60, max: 900 }), weight: 5 }, { arbitrary: fc.constant(901), weight: 1 }))
      .map(([a, b]) => new ExtendCmd(a, b)),
    weight: 2,
  },
  {
    arbitrary: fc
      .tuple(index, fc.constantFrom<'commit' | 'release' | 'extend'>('commit', 'release', 'extend'))
      .map(([a, b]) => new EndedCmd(a, b)),
    weight: 2,
  },
  { arbitrary: index.map((a) => new RetryCommitCmd(a)), weight: 1 },
  { arbitrary: index.map((a) => new RetryReserveCmd(a)), weight: 2 },
  {
    arbitrary: fc
      .tuple(fc.constantFrom<'new' | 'existing'>('new', 'existing'), index, p, u, amount)
      .map(([a, b, c, d, e]) => new ExpireCmd(a, b, c, d, e)),
    weight: 1,
  },
  { arbitrary: fc.constant(null).map(() => new RebuildCmd()), weight: 1 },
);

// ------------------------------------------------------------------------------------- setup

async function createHierarchy(api: TestClient, h: Hierarchy): Promise<{ org: string; key: string; limits: Map<string, number | null> }> {
  const org = await api.createOrg(uniqueId('inv'));
  const ok = (res: TestResponse, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${describeResponse(res)}`);
  };
  ok(await api.post(`/v1/orgs/${org}/credits`, { amount: h.credits, reason: 'top-up' }), 'credits');
  const limits = new Map<string, number | null>([['org', h.credits]]);
  for (const [i, project] of PROJECTS.entries()) {
    const spec = h.projects[i];
    ok(
      await api.put(`/v1/orgs/${org}/projects/${project}`, {
        limit: spec.limit,
        period: spec.period,
        default_user_limit: spec.defaultUserLimit,
        default_user_period: spec.defaultUserPeriod,
      }),
      `project ${project}`,
    );
    limits.set(nodeKey('project', project), spec.limit);
    for (const [j, user] of USERS.entries()) {
      const own = h.ownCaps[i][j];
      ok(
        await api.put(`/v1/orgs/${org}/projects/${project}/users/${user}`, own ? { limit: own.limit, period: own.period } : {}),
        `user ${project}/${user}`,
      );
      limits.set(nodeKey('user', project, user), own ? own.limit : spec.defaultUserLimit);
    }
  }
  const key = (await api.createOrgKey(org, ['admission', 'read'])).secret;
  return { org, key, limits };
}

/** Sum of amount_committed over every committed reservation, page by page. */
async function committedByListing(real: Real): Promise<number> {
  let sum = 0;
  let cursor: string | null = null;
  do {
    const res: TestResponse = await real.api.get(
      `/v1/reservations?org_id=${real.org}&status=committed&limit=7${cursor ? `&cursor=${cursor}` : ''}`,
      { key: real.key },
    );
    if (res.status !== 200) throw new Error(`list: ${describeResponse(res)}`);
    for (const r of res.body.data) {
      expect(r.status).toBe('committed');
      sum += r.amount_committed;
    }
    cursor = res.body.next_cursor;
  } while (cursor);
  return sum;
}

describe('invariants: random reserve/commit/release/extend/expire sequences over the real API (Postgres + Redis)', () => {
  let t: TestApp;
  let api: TestClient;
  let redis: Redis;

  beforeAll(async () => {
    t = await createTestApp({ env: { TOLLGATE_PLATFORM_KEY: INVARIANTS_PLATFORM_KEY, REDIS_KEY_PREFIX: INVARIANTS_REDIS_PREFIX } });
    api = new TestClient(t.app, INVARIANTS_PLATFORM_KEY);
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis?.disconnect();
    await t?.close();
  });

  it('keeps committed + reserved ≤ limit and reserved = the holds at every level, leaks nothing, and Redis agrees with Postgres', async () => {
    const started = Date.now();
    ran.clear();
    const outcomes = { held: 0, ended: 0 };
    await fc.assert(
      fc.asyncProperty(hierarchy, fc.commands([command], { maxCommands: 25, size: 'max' }), async (h, commands) => {
        const { org, key, limits } = await createHierarchy(api, h);
        const real: Real = { api, org, key, redis };
        const model: Model = { limits, committed: new Map(), held: [], ended: [], reserves: [], expiries: 0 };
        await checkInvariants(model, real, 'setup');
        await fc.asyncModelRun(() => ({ model, real }), commands);
        outcomes.held += model.reserves.length;
        outcomes.ended += model.ended.length;

        // The end: release what is still held; nothing stays reserved anywhere.
        for (const hold of [...model.held]) {
          const res = await api.post(`/v1/reservations/${hold.id}/release`, {}, { key, idempotencyKey: uniqueId('r') });
          if (res.status !== 200) throw new Error(`final release of ${hold.id}: ${describeResponse(res)}`);
          model.held.splice(model.held.indexOf(hold), 1);
          model.ended.push({ hold, status: 'released' });
        }
        await checkInvariants(model, real, 'the final releases');
        const before = await usageTree(real);
        for (const node of nodesOf(before).values()) expect({ id: node.id, reserved: node.reserved }).toEqual({ id: node.id, reserved: 0 });

        // Money committed is what the committed reservations say.
        expect(await committedByListing(real)).toBe(before.org.committed);
        const held = await api.get(`/v1/reservations?org_id=${org}&status=held`, { key });
        expect(held.body.data).toEqual([]);

        // Redis and Postgres agree: the tree rebuilt from Postgres is the same tree.
        const keys = await redis.keys(`*{${org}:live}*`);
        expect(keys.length).toBeGreaterThan(0);
        await redis.del(...keys);
        expect(await redis.keys(`*{${org}:live}*`)).toEqual([]);
        const after = await usageTree(real);
        expect(after).toEqual(before);
      }),
      { numRuns: NUM_RUNS, interruptAfterTimeLimit: 150_000, markInterruptAsFailure: true },
    );

    console.log(
      `invariants property: ${NUM_RUNS} runs in ${((Date.now() - started) / 1000).toFixed(1)} s; commands run: ${JSON.stringify(Object.fromEntries(ran))}; holds admitted ${outcomes.held}, ended ${outcomes.ended}`,
    );
  }, 240_000);

  // Found by the property above: a retry of a reserve whose hold has ended is decided anew by
  // the store; when the budget is spent meanwhile the store refuses it, and the first answer
  // must still win. (With room left it holds the amount a second time for a moment before the
  // insert conflicts and undoes it: never past a limit, but see ADR 011.)
  it('replays the 201 for a retry after the hold was committed and the budget is spent', async () => {
    const org = await api.createOrg(uniqueId('inv-retry'));
    await api.post(`/v1/orgs/${org}/credits`, { amount: 1_000_000, reason: 'top-up' });
    const key = (await api.createOrgKey(org, ['admission', 'read'])).secret;
    const body = { org_id: org, project_id: 'p', user_id: 'u', amount: 1_000_000 };
    const idempotencyKey = uniqueId('k');
    const first = await api.post('/v1/reservations', body, { key, idempotencyKey });
    expect(first.status).toBe(201);
    expect(
      (await api.post(`/v1/reservations/${first.body.id}/commit`, { amount: 1_000_000 }, { key, idempotencyKey: uniqueId('c') })).status,
    ).toBe(200);
    const retry = await api.post('/v1/reservations', body, { key, idempotencyKey });
    expect({ status: retry.status, replayed: retry.headers['idempotent-replayed'] }).toEqual({ status: 201, replayed: 'true' });
    expect(retry.body).toEqual(first.body);
  });
});
