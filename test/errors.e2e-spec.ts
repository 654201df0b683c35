import { createTestApp, ProbeModule, TestApp, TestClient, uniqueId } from '@tollgate/testing';

describe('errors: every failure is problem+json with a stable code, and changes nothing', () => {
  let t: TestApp;
  let api: TestClient;
  const logLines: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ extraImports: [ProbeModule], env: { LOG_LEVEL: 'error', HTTP_BODY_LIMIT_BYTES: '4096' }, logLines });
    api = t.client;
  });
  afterAll(() => t.close());

  function expectProblem(res: { status: number; headers: Record<string, unknown>; body: any }, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({
      type: `urn:tollgate:problem:${code}`,
      status,
      code,
      title: expect.any(String),
      detail: expect.any(String),
    });
  }

  it('answers 400 invalid_json for malformed JSON and creates nothing', async () => {
    const id = uniqueId();
    const res = await api.request('POST', '/v1/orgs', { raw: `{"id": "${id}", "name": "x"` });
    expectProblem(res, 400, 'invalid_json');
    expect((await api.get(`/v1/orgs/${id}`)).status).toBe(404);
  });

  it('answers 400 invalid_json for an empty body sent as JSON', async () => {
    expectProblem(await api.request('POST', '/v1/orgs', { raw: '' }), 400, 'invalid_json');
  });

  it('answers 422 validation_failed naming every bad field', async () => {
    const res = await api.post('/v1/orgs', {
      id: 'bad id!',
      overage_policy: 'whatever',
      settings: { overdraft_limit: -1, default_ttl_seconds: 2.5 },
    });
    expectProblem(res, 422, 'validation_failed');
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(['id', 'name', 'overage_policy', 'settings.overdraft_limit', 'settings.default_ttl_seconds']),
    );
    for (const e of res.body.errors) expect(e.message).toEqual(expect.any(String));
  });

  it('refuses unknown fields (a typo must not pass silently)', async () => {
    const res = await api.post('/v1/orgs', { name: 'typo', overage_polcy: 'allow' });
    expectProblem(res, 422, 'validation_failed');
    expect(res.body.errors).toEqual([{ field: 'overage_polcy', message: 'overage_polcy is not a field of this request' }]);
  });

  it('refuses amounts that are not integers of micro-credits, with one message saying what an amount is', async () => {
    for (const amount of [1.5, '100', -1, 0, 2 ** 53]) {
      const res = await api.post('/test-probe/echo', { value: 'v', amount });
      expectProblem(res, 422, 'validation_failed');
      expect(res.body.errors).toEqual([
        { field: 'amount', message: 'amount must be a whole number of micro-credits from 1 to 9007199254740991' },
      ]);
    }
  });

  it('answers 413 payload_too_large over the configured body size', async () => {
    const res = await api.post('/v1/orgs', { name: 'x'.repeat(5000) });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('answers 415 for a body that is not JSON', async () => {
    const res = await api.request('POST', '/v1/orgs', { raw: 'name=x', headers: { 'content-type': 'text/plain' } });
    expectProblem(res, 415, 'unsupported_media_type');
    const form = await api.request('POST', '/v1/orgs', {
      raw: '{"name":"x"}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectProblem(form, 415, 'unsupported_media_type');
  });

  it('answers 404 route_not_found for an unknown path', async () => {
    expectProblem(await api.get('/v1/nothing-here'), 404, 'route_not_found');
  });

  it('answers 500 internal_error with an error_id that is also in the logs, without leaking internals', async () => {
    const res = await api.get('/test-probe/boom');
    expectProblem(res, 500, 'internal_error');
    expect(res.body.error_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(res.body)).not.toContain('kaboom');
    const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.error_id === res.body.error_id);
    expect(logged).toMatchObject({ level: 'error', err: expect.objectContaining({ message: expect.stringContaining('kaboom') }) });
    expect(logged.request_id).toBe(res.headers['x-request-id']);
  });
});
