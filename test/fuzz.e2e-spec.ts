import fc from 'fast-check';
import { Clock, registeredRoutes, RegisteredRoute } from '@tollgate/platform';
import { createTestApp, TestApp, uniqueId } from '@tollgate/testing';

/**
 * Fuzzes every route the running app registers (so a new route is fuzzed without anyone
 * adding it here) with generated bodies, headers, ids and query strings, hostile ones
 * included. Properties: no 5xx; every 4xx is problem+json with a stable code; a rejected
 * request changes nothing (the fixture organization's tree, settings, reservations, keys,
 * credits, overrides, audit log, and its rate card).
 *
 * `npm test` runs FUZZ_RUNS (default 500, about 20 s) cases; `npm run test:fuzz -- --runs 5000` runs more,
 * `--seed N` replays a failure (fast-check prints the seed and the shrunk case).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 500);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

const CARD = {
  name: 'Fuzz',
  rates: [
    { product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.2' },
    { product: 'video.generate', dimension: 'video_seconds', match: { resolution: '1080p' }, model: 'flat', unit_price: '0.3' },
  ],
  ladders: [{ product: 'video.generate', ladder: [{ resolution: '1080p' }, { resolution: '720p' }] }],
};

/** Frozen time: nothing expires between two snapshots, so any difference is the request's doing. */
class FrozenClock extends Clock {
  private readonly at = new Date();
  now(): Date {
    return new Date(this.at);
  }
}

describe('fuzz: every registered route, generated and hostile input', () => {
  let t: TestApp;
  let org: string;
  let orgKey: string;
  let victimKeyId: string;
  let cardId: string;
  let heldId: string;
  let routes: RegisteredRoute[];

  beforeAll(async () => {
    t = await createTestApp({ clock: new FrozenClock() });
    const api = t.client;
    cardId = (await api.post('/v1/rate-cards', CARD)).body.id;
    org = await api.createOrg(uniqueId('fz'), { rate_card_id: cardId });
    expect((await api.post(`/v1/orgs/${org}/credits`, { amount: 50_000_000, reason: 'top-up' })).status).toBe(201);
    expect((await api.put(`/v1/orgs/${org}/projects/p`, { limit: 20_000_000, default_user_limit: 5_000_000 })).status).toBe(201);
    expect((await api.put(`/v1/orgs/${org}/projects/p/users/u`, { limit: 2_000_000 })).status).toBe(201);
    orgKey = (await api.createOrgKey(org, ['admission', 'read', 'quota:admin'])).secret;
    victimKeyId = (await api.createOrgKey(org, ['read'])).id;
    heldId = (
      await api.post('/v1/reservations', { org_id: org, project_id: 'p', user_id: 'u', amount: 1_000 }, { idempotencyKey: uniqueId('k') })
    ).body.id;
    routes = registeredRoutes(t.app);
  });
  afterAll(() => t?.close());

  it('fuzzes the routes the app registers, which are the routes its OpenAPI document lists', async () => {
    const doc = (await t.client.get('/docs/openapi.json', { key: null })).body;
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    // /metrics (Prometheus) and /docs are left out of the document; they are fuzzed all the same.
    const registered = routes.filter((r) => r.url.startsWith('/v1') || r.url.startsWith('/health')).map((r) => `${r.method} ${r.url}`);
    expect([...new Set(registered)].sort()).toEqual([...new Set(documented)].sort());
    expect(routes.length).toBeGreaterThan(30);
  });

  /** What a rejected request must leave as it was. Per fixture, since other suites share the database. */
  async function snapshot(): Promise<unknown> {
    const read = async (url: string, environment?: 'test') => {
      const res = await t.client.get(url, { environment });
      return { status: res.status, body: res.body };
    };
    return Promise.all([
      read(`/v1/orgs/${org}`),
      read(`/v1/orgs/${org}`, 'test'),
      read(`/v1/orgs/${org}/settings`),
      read(`/v1/orgs/${org}/settings`, 'test'),
      read(`/v1/orgs/${org}/usage`),
      read(`/v1/orgs/${org}/usage`, 'test'),
      read(`/v1/reservations?org_id=${org}&limit=200`),
      read(`/v1/reservations?org_id=${org}&limit=200`, 'test'),
      read(`/v1/orgs/${org}/credits`),
      read(`/v1/orgs/${org}/keys`),
      read(`/v1/orgs/${org}/rate-overrides`),
      read(`/v1/audit-log?org_id=${org}&limit=200`),
      read(`/v1/rate-cards/${cardId}`),
    ]);
  }

  // ---- generators --------------------------------------------------------------------------

  const ID_CHARS = fc.constantFrom(...'abcXYZ019._-:'.split(''));
  const hostileString = fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      'a b',
      'a\u0000b',
      '\ud800',
      '\udfff',
      '💸',
      'é',
      '../..',
      '%',
      '%00',
      '%zz',
      '\\',
      '"',
      "'",
      '<script>',
      '${x}',
      'null',
      'true',
      '0',
      '-1',
      '1e309',
      'NaN',
    ),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('x'.repeat(129), 'x'.repeat(600), 'x'.repeat(5_000)),
  );
  const number = fc.oneof(
    fc.constantFrom(0, -0, -1, 1, 1.5, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e308, -1e308, Number.MAX_VALUE, 5e-324, 86_400, 86_401, 900),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );
  const FIELD_NAMES = [
    'id',
    'name',
    'status',
    'rate_card_id',
    'overage_policy',
    'overage_percent',
    'settings',
    'auto_create',
    'default_ttl_seconds',
    'max_ttl_seconds',
    'past_due_policy',
    'past_due_grace_amount',
    'overdraft_limit',
    'budget_alert_thresholds',
    'scopes',
    'environment',
    'limit',
    'period',
    'default_user_limit',
    'default_user_period',
    'amount',
    'reason',
    'expires_at',
    'source',
    'org_id',
    'project_id',
    'user_id',
    'product',
    'usage',
    'dimensions',
    'ttl_seconds',
    'metadata',
    'allow_downgrade',
    'policy',
    'items',
    'provider',
    'rates',
    'ladders',
    'ladder',
    'overrides',
    'tiers',
    'unit_price',
    'model',
    'dimension',
    'match',
    'video_seconds',
    'resolution',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    'hasOwnProperty',
  ];
  const key = fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 12 }));
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant(null),
      fc.boolean(),
      number,
      hostileString,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(key, tie('value'), { maxKeys: 5 }),
    ),
  }));

  /** A valid body for the routes we know, to mutate; other routes start from `{}`. */
  function template(method: string, url: string): Record<string, unknown> {
    const holder = { org_id: org, project_id: 'p', user_id: 'u' };
    const rate = { ...CARD.rates[0], unit_price: '0.25' };
    const templates: Record<string, Record<string, unknown>> = {
      'POST /v1/orgs': { name: 'Fuzzed', settings: { max_ttl_seconds: 900 } },
      'PATCH /v1/orgs/:org': { name: 'Fuzzed', overage_policy: 'allow' },
      'PUT /v1/orgs/:org/settings': { max_ttl_seconds: 1200, budget_alert_thresholds: [50, 90] },
      'POST /v1/orgs/:org/keys': { scopes: ['read'], environment: 'live' },
      'POST /v1/platform-keys': { scopes: ['read'] },
      'PUT /v1/orgs/:org/projects/:project': { limit: 1_000, period: 'month' },
      'PUT /v1/orgs/:org/projects/:project/users/:user': { limit: 1_000, period: 'day' },
      'POST /v1/orgs/:org/credits': { amount: 1_000, reason: 'fuzz' },
      'POST /v1/rate-cards': { name: 'Fuzzed', rates: [rate] },
      'POST /v1/rate-cards/:id/rates': { rates: [rate] },
      'PUT /v1/rate-cards/:id/ladders/:product': { ladder: [{ resolution: '1080p' }, { resolution: '720p' }] },
      'POST /v1/orgs/:org/rate-overrides': { overrides: [rate] },
      'POST /v1/reservations': { ...holder, product: 'video.generate', usage: { video_seconds: 2 }, dimensions: { resolution: '1080p' } },
      'POST /v1/reservations/batch': { ...holder, policy: 'max_fundable', items: [{ amount: 10 }, { amount: 20 }] },
      'POST /v1/quotes': { ...holder, amount: 1_000 },
      'POST /v1/reservations/:id/commit': { amount: 500 },
      'POST /v1/reservations/:id/release': { reason: 'fuzz' },
      'POST /v1/reservations/:id/extend': { ttl_seconds: 600 },
    };
    return structuredClone(templates[`${method} ${url}`] ?? {});
  }

  type Mutation = { kind: 'drop' | 'set' | 'add' | 'nest'; key: string; value: unknown };
  const mutation: fc.Arbitrary<Mutation> = fc.record({ kind: fc.constantFrom('drop', 'set', 'add', 'nest'), key, value });

  /** Own properties only: a key like `__proto__` must land on the body, never on a prototype. */
  function setOwn(target: object, key: string, value: unknown): void {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }

  function mutate(body: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
    for (const m of mutations) {
      const keys = Object.keys(body);
      const target = keys.length > 0 ? keys[Math.abs(hash(m.key)) % keys.length] : m.key;
      const current = Object.getOwnPropertyDescriptor(body, target)?.value;
      if (m.kind === 'drop') delete body[target];
      else if (m.kind === 'set') setOwn(body, target, m.value);
      else if (m.kind === 'add') setOwn(body, m.key, m.value);
      else if (current !== null && typeof current === 'object') setOwn(current, m.key, m.value);
    }
    return body;
  }

  function hash(s: string): number {
    let h = 0;
    for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
    return h;
  }

  /** encodeURIComponent, but lone surrogates become their (invalid) UTF-8 bytes instead of throwing. */
  function percentEncode(s: string): string {
    try {
      return encodeURIComponent(s);
    } catch {
      return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    }
  }

  /** Raw bodies no JSON.stringify produces. */
  const hostileRaw = fc.oneof(
    fc.integer({ min: 1, max: 5_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
    fc.integer({ min: 1, max: 5_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
    fc.constant(`{"items":[${Array(10_000).fill('{"amount":1}').join(',')}]}`),
    fc.constant(`{"name":"x","metadata":[${Array(10_000).fill('1').join(',')}]}`),
    fc.constantFrom(
      '{"__proto__":{"admin":true},"name":"x"}',
      '{"constructor":{"prototype":{"admin":true}},"name":"x"}',
      '{"name":"x","usage":{"toString":4,"valueOf":1}}',
      '{"name":"\\u0000"}',
      '{"name":"\\ud800"}',
      '{"amount":1e400}',
      '{"amount":-0}',
      '{"amount":123456789012345678901234567890}',
      '{',
      '',
      'null',
      '[]',
      '"str"',
      '{"a":1,"a":2}',
      '{"name":"x"} trailing',
      '\ufeff{"name":"x"}',
    ),
  );
  const invalidUtf8 = fc
    .uint8Array({ minLength: 1, maxLength: 32 })
    .map((bytes) => Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28, 0xff, ...bytes]), Buffer.from('"}')]));

  function idsFor(param: string): fc.Arbitrary<string> {
    const fixture: Record<string, string[]> = {
      org: [org, org, org, 'someone-else'],
      project: ['p', 'p2'],
      user: ['u', 'u2'],
      id: [heldId, cardId, victimKeyId, 'key_nothere', 'res_nothere'],
      product: ['video.generate', 'video.fast'],
    };
    const encoded = percentEncode;
    return fc.oneof(
      { weight: 14, arbitrary: fc.constantFrom(...(fixture[param] ?? ['x'])) },
      { weight: 2, arbitrary: fc.string({ unit: ID_CHARS, minLength: 1, maxLength: 128 }) },
      { weight: 1, arbitrary: fc.string({ unit: ID_CHARS, minLength: 128, maxLength: 128 }) },
      { weight: 2, arbitrary: hostileString.filter((s) => s.length > 0).map(encoded) },
      { weight: 1, arbitrary: fc.constantFrom('%00', 'a%00b', '%zz', '%', '..', '.', 'a%2Fb', 'x'.repeat(700)) },
    );
  }

  const QUERY_KEYS = [
    'limit',
    'cursor',
    'org_id',
    'project_id',
    'user_id',
    'status',
    'at',
    'period',
    'limit[]',
    '__proto__',
    'constructor',
  ];
  const query = fc.array(
    fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(fc.constantFrom('1', '200', '201', '0', '-1', 'abc', 'held', ''), hostileString)),
    { maxLength: 4 },
  );

  const headers = fc.record({
    auth: fc.constantFrom(
      'platform',
      'platform',
      'platform',
      'platform',
      'platform',
      'platform',
      'org',
      'org',
      'none',
      'garbage',
      'malformed',
    ),
    contentType: fc.oneof(
      {
        weight: 8,
        arbitrary: fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/json; charset=latin1',
          'Application/JSON',
        ),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/jsonx',
          '',
        ),
      },
    ),
    environment: fc.constantFrom(undefined, undefined, 'live', 'test', 'prod', ''),
    idempotencyKey: fc.oneof(
      fc.constant(undefined),
      fc.constant('fuzz-fixed-key'),
      fc.string({ unit: ID_CHARS, minLength: 1, maxLength: 40 }),
      fc.constantFrom('', 'has space', 'é', 'x'.repeat(300)),
    ),
    requestId: fc.constantFrom(undefined, 'ok-id', 'bad id\u0001', 'x'.repeat(300)),
  });

  const requestCase = fc
    .record({
      routeIndex: fc.nat(),
      otherMethod: fc.oneof(
        { weight: 12, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') },
      ),
      params: fc
        .dictionary(fc.constantFrom('org', 'project', 'user', 'id', 'product'), fc.constant(null))
        .chain(() =>
          fc.record({ org: idsFor('org'), project: idsFor('project'), user: idsFor('user'), id: idsFor('id'), product: idsFor('product') }),
        ),
      bodyKind: fc.constantFrom('template', 'template', 'template', 'random', 'raw', 'utf8', 'none'),
      mutations: fc.oneof(
        { weight: 1, arbitrary: fc.constant([] as Mutation[]) },
        { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) },
      ),
      random: value,
      raw: hostileRaw,
      utf8: invalidUtf8,
      query,
      headers,
    })
    .map((c) => ({ ...c, route: () => routes[c.routeIndex % routes.length] }));

  // ---- the property ------------------------------------------------------------------------

  it(
    `answers no 5xx, problem+json on every 4xx, and changes nothing when it refuses (${RUNS} cases)`,
    async () => {
      let before = await snapshot();
      const statuses = new Map<number, number>();
      // No request may add to the prototypes every object inherits from (prototype pollution).
      // Both realms: the suite's sandbox, and Node's own (what structuredClone and core modules build).
      const prototypes = [
        Object.prototype,
        Array.prototype,
        Object.getPrototypeOf(structuredClone({})),
        Object.getPrototypeOf(structuredClone([])),
      ];
      const prototypeNames = () => prototypes.map((proto) => Object.getOwnPropertyNames(proto).sort().join(','));
      const pristine = prototypeNames();
      await fc.assert(
        fc.asyncProperty(requestCase, async (c) => {
          const route = c.route();
          const method = c.otherMethod ?? route.method;
          const path = route.url.replace(/:([a-z]+)/g, (_, name: string) => (c.params as Record<string, string>)[name] ?? 'x');
          const qs = c.query.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
          const url = qs ? `${path}?${qs}` : path;

          const h: Record<string, string> = {};
          if (c.headers.auth === 'platform') h.authorization = `Bearer ${t.platformKey}`;
          else if (c.headers.auth === 'org') h.authorization = `Bearer ${orgKey}`;
          else if (c.headers.auth === 'garbage') h.authorization = 'Bearer tg_not_a_key_at_all_0123456789';
          else if (c.headers.auth === 'malformed') h.authorization = 'Basic Zm9vOmJhcg==';
          if (c.headers.environment !== undefined) h['x-environment'] = c.headers.environment;
          if (c.headers.idempotencyKey !== undefined) h['idempotency-key'] = c.headers.idempotencyKey;
          if (c.headers.requestId !== undefined) h['x-request-id'] = c.headers.requestId;

          let payload: string | Buffer | undefined;
          if (c.bodyKind === 'template') payload = JSON.stringify(mutate(template(route.method, route.url), c.mutations));
          else if (c.bodyKind === 'random') payload = JSON.stringify(c.random) ?? 'null';
          else if (c.bodyKind === 'raw') payload = c.raw;
          else if (c.bodyKind === 'utf8') payload = c.utf8;
          if (payload !== undefined && c.headers.contentType !== '') h['content-type'] = c.headers.contentType;

          const res = await t.app.inject({ method: method as 'GET', url, headers: h, payload });
          expect(prototypeNames()).toEqual(pristine);
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          if (process.env.FUZZ_DEBUG && res.statusCode === 404) process.stderr.write(`${method} ${route.url} ${res.body.slice(0, 120)}\n`);
          const where = `${method} ${url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          if (res.statusCode >= 500) throw new Error(`5xx: ${where}`);
          if (res.statusCode >= 400) {
            if (!String(res.headers['content-type']).startsWith('application/problem+json')) throw new Error(`not problem+json: ${where}`);
            const problem = JSON.parse(res.body);
            if (
              typeof problem.code !== 'string' ||
              !/^[a-z_]+$/.test(problem.code) ||
              problem.status !== res.statusCode ||
              problem.type !== `urn:tollgate:problem:${problem.code}`
            ) {
              throw new Error(`malformed problem: ${where}`);
            }
            const after = await snapshot();
            expect({ request: where, state: after }).toEqual({ request: where, state: before });
          } else {
            before = await snapshot();
          }
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      process.stderr.write(
        `fuzz: ${RUNS} cases, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}\n`,
      );
      // The generators reach past validation too: some requests were accepted, many refused.
      expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
      expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(4);
    },
    60_000 + RUNS * 400,
  );
});
