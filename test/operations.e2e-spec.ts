import { createTestApp, ProbeModule, TestApp, TestClient } from '@tollgate/testing';

describe('operations: health, metrics, docs, request ids, shutdown', () => {
  let t: TestApp;
  let api: TestClient;
  const logLines: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ extraImports: [ProbeModule], env: { LOG_LEVEL: 'info' }, logLines });
    api = t.client;
  });
  afterAll(() => t.close());

  it('answers /health/live without a key', async () => {
    const res = await api.get('/health/live', { key: null });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok' });
  });

  it('answers /health/ready with Postgres and Redis up, in terminus format', async () => {
    const res = await api.get('/health/ready', { key: null });
    expect(res.status).toBe(200);
    // The outbox lag is the whole database's, which the suites running beside this one fill.
    expect(res.body).toEqual({
      status: 'ok',
      info: {
        postgres: { status: 'up' },
        redis: { status: 'up' },
        billing_outbox: expect.objectContaining({ status: 'up', lag_seconds: expect.any(Number) }),
      },
      error: {},
      details: {
        postgres: { status: 'up' },
        redis: { status: 'up' },
        billing_outbox: expect.objectContaining({ status: 'up', lag_seconds: expect.any(Number) }),
      },
    });
  });

  it('serves Prometheus metrics: request durations by route pattern and status, and process metrics', async () => {
    await api.get('/v1/orgs/some-org-that-is-not-there');
    const res = await api.get('/metrics', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/tollgate_http_request_duration_seconds_count\{method="GET",route="\/v1\/orgs\/:org",status="404"\} [1-9]/);
    expect(res.text).toContain('tollgate_process_cpu_seconds_total');
    expect(res.text).toContain('tollgate_nodejs_eventloop_lag_seconds');
    // Ids in paths never become label values (cardinality).
    expect(res.text).not.toContain('some-org-that-is-not-there');
  });

  it('serves the OpenAPI document and its UI', async () => {
    const doc = await api.get('/docs/openapi.json', { key: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/orgs',
        '/v1/orgs/{org}',
        '/v1/orgs/{org}/keys',
        '/v1/orgs/{org}/keys/{id}',
        '/v1/audit-log',
        '/health/ready',
      ]),
    );
    const ui = await api.get('/docs', { key: null });
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('/docs/openapi.json');
    const asset = await api.get('/docs/swagger-ui-bundle.js', { key: null });
    expect(asset.status).toBe(200);
    expect(asset.text.length).toBeGreaterThan(100_000);
  });

  it("echoes the caller's X-Request-Id, or makes one, and logs one JSON line per request with it", async () => {
    const mine = await api.get('/health/live', { key: null, headers: { 'x-request-id': 'trace-abc.123' } });
    expect(mine.headers['x-request-id']).toBe('trace-abc.123');
    const made = await api.get('/health/live', { key: null });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const line = logLines.map((l) => JSON.parse(l)).find((l) => l.request_id === 'trace-abc.123' && l.msg === 'request completed');
    expect(line).toMatchObject({ level: 'info', service: 'tollgate', method: 'GET', route: '/health/live', status: 200 });
    expect(typeof line.duration_ms).toBe('number');
  });

  it('never logs API keys', async () => {
    await api.get('/v1/orgs');
    expect(logLines.join('\n')).not.toContain(t.platformKey);
  });
});

describe('operations: readiness reports a dependency that is down', () => {
  it('answers 503 with the failing check named when Redis is unreachable', async () => {
    const t = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const res = await t.client.get('/health/ready', { key: null });
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'error', info: { postgres: { status: 'up' } }, error: { redis: { status: 'down' } } });
      expect((await t.client.get('/health/live', { key: null })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('operations: graceful shutdown', () => {
  it('lets in-flight requests finish when the app closes', async () => {
    const t = await createTestApp({ extraImports: [ProbeModule] });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = `http://127.0.0.1:${(t.app.getHttpServer().address() as { port: number }).port}`;
    const inFlight = fetch(`${address}/test-probe/slow?ms=400`, { headers: { authorization: `Bearer ${t.platformKey}` } });
    await new Promise((r) => setTimeout(r, 100));
    const closing = t.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await closing;
    await expect(fetch(`${address}/health/live`)).rejects.toThrow();
  });
});
