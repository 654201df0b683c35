import { createTestApp, TestApp, TestClient, TestResponse, uniqueId } from '@tollgate/testing';

/**
 * Issue 14, "plain errors": one message per bad field in words a person reads, one path style
 * (`items[0].allow_downgrade`), 415 for a body that is not JSON (nothing changed), and request
 * log lines that say for whom, with which key, and which error.
 */
const CARD = {
  name: 'Plain errors',
  rates: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.2' }],
};

const AMOUNT_RULE = 'amount must be a whole number of micro-credits from 1 to 9007199254740991';

function expectProblem(res: TestResponse, status: number, code: string) {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toContain('application/problem+json');
}

describe('plain errors', () => {
  let t: TestApp;
  let api: TestClient;
  let cardId: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { LOG_LEVEL: 'info' }, logLines });
    api = t.client;
    const card = await api.post('/v1/rate-cards', CARD);
    expect(card.status).toBe(201);
    cardId = card.body.id;
  });
  afterAll(() => t.close());

  async function fundedOrg() {
    const org = await api.createOrg(uniqueId('pe'), { rate_card_id: cardId });
    expect((await api.post(`/v1/orgs/${org}/credits`, { amount: 10_000_000, reason: 'top-up' })).status).toBe(201);
    return org;
  }

  describe('a body that is not JSON: 415 unsupported_media_type, nothing changed', () => {
    const NOT_JSON: Array<[string, string]> = [
      // What `curl -d '{...}'` sends without -H 'Content-Type: application/json'.
      ['application/x-www-form-urlencoded', '{"name":"x"}'],
      ['text/plain', '{"name":"x"}'],
      ['text/plain; charset=utf-8', 'name=x'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--x--'],
      ['application/xml', '<org><name>x</name></org>'],
    ];

    it('on organization, credit and reservation routes', async () => {
      const org = await fundedOrg();
      const newOrg = uniqueId('pe');
      const bodies: Array<[string, string]> = [
        ['/v1/orgs', JSON.stringify({ id: newOrg, name: 'x' })],
        [`/v1/orgs/${org}/credits`, JSON.stringify({ amount: 5_000_000, reason: 'top-up' })],
        ['/v1/reservations', JSON.stringify({ org_id: org, project_id: 'p', user_id: 'u', amount: 1_000 })],
      ];
      for (const [url, json] of bodies) {
        for (const [type, raw] of [...NOT_JSON, ['application/x-www-form-urlencoded', json] as [string, string]]) {
          const res = await api.request('POST', url, { raw, headers: { 'content-type': type }, idempotencyKey: uniqueId('k') });
          expect({ url, type, status: res.status, code: res.body?.code }).toEqual({
            url,
            type,
            status: 415,
            code: 'unsupported_media_type',
          });
          expect(res.headers['content-type']).toContain('application/problem+json');
        }
      }
      // The detail says what was sent, and the usual cause.
      const form = await api.request('POST', '/v1/orgs', {
        raw: '{"name":"x"}',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(form.body.detail).toBe(
        "Send the request body as application/json, not application/x-www-form-urlencoded (curl -d sends that unless given -H 'Content-Type: application/json').",
      );
      const text = await api.request('POST', '/v1/orgs', { raw: 'x', headers: { 'content-type': 'Text/Plain; charset=utf-8' } });
      expect(text.body.detail).toBe('Send the request body as application/json, not text/plain.');
      // A body with no Content-Type at all is not taken for JSON either.
      const untyped = await t.app.inject({
        method: 'POST',
        url: '/v1/orgs',
        headers: { authorization: `Bearer ${t.platformKey}` },
        payload: JSON.stringify({ id: newOrg, name: 'x' }),
      });
      expect({ status: untyped.statusCode, code: JSON.parse(untyped.body).code }).toEqual({ status: 415, code: 'unsupported_media_type' });
      expect(JSON.parse(untyped.body).detail).toBe('Send the request body as application/json; this one had no Content-Type.');

      expect((await api.get(`/v1/orgs/${newOrg}`)).status).toBe(404);
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 0, committed: 0, limit: 10_000_000 });
      expect((await api.get(`/v1/orgs/${org}/credits`)).body.data).toHaveLength(1);
    });

    it('leaves requests without a body, JSON bodies and the routes that take other types working', async () => {
      const org = await fundedOrg();
      const held = await api.post(
        '/v1/reservations',
        { org_id: org, project_id: 'p', user_id: 'u', amount: 1_000 },
        { idempotencyKey: uniqueId('k') },
      );
      expect(held.status).toBe(201);
      // POST with no body and no Content-Type (release takes an optional body).
      const released = await api.request('POST', `/v1/reservations/${held.body.id}/release`, { idempotencyKey: uniqueId('k') });
      expect({ status: released.status, state: released.body.status }).toEqual({ status: 200, state: 'released' });
      expect((await api.get(`/v1/reservations/${held.body.id}`)).status).toBe(200);
      const key = await api.createOrgKey(org, ['read']);
      expect((await api.delete(`/v1/orgs/${org}/keys/${key.id}`)).status).toBeLessThan(300);
      // JSON with a charset is JSON.
      const charset = await api.request('POST', `/v1/orgs/${org}/credits`, {
        raw: JSON.stringify({ amount: 1, reason: 'charset' }),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      expect(charset.status).toBe(201);
      // The provider usage import still takes CSV; every other route still refuses it.
      const csv = await api.request('POST', '/v1/reconciliation/provider-usage', {
        raw: 'provider,request_id,occurred_at,usage.video_seconds\nrunway,r-1,2026-01-01T00:00:00Z,4\n',
        headers: { 'content-type': 'text/csv' },
      });
      expect(csv.status).toBeLessThan(300);
      expectProblem(
        await api.request('POST', `/v1/orgs/${org}/credits`, { raw: 'amount,reason\n5,x', headers: { 'content-type': 'text/csv' } }),
        415,
        'unsupported_media_type',
      );
      // A vendor webhook reads its raw JSON bytes: it gets past the parser to the signature check.
      const webhook = await api.request('POST', '/v1/webhooks/flexprice', { raw: '{"event_type":"x"}', key: null });
      expect(webhook.status).toBe(401);
    });
  });

  describe('validation errors: one plain message per bad field', () => {
    it('a string amount is one error, with the whole rule', async () => {
      const org = await fundedOrg();
      const holder = { org_id: org, project_id: 'p', user_id: 'u' };
      for (const amount of ['2500000', 1.5, 0, -3, 2 ** 53, true]) {
        const reserve = await api.post('/v1/reservations', { ...holder, amount }, { idempotencyKey: uniqueId('k') });
        expectProblem(reserve, 422, 'validation_failed');
        expect(reserve.body.errors).toEqual([{ field: 'amount', message: AMOUNT_RULE }]);
        const credits = await api.post(`/v1/orgs/${org}/credits`, { amount, reason: 'top-up' });
        expect(credits.body.errors).toEqual([{ field: 'amount', message: AMOUNT_RULE }]);
      }
      const ttl = await api.post('/v1/reservations', { ...holder, amount: 5, ttl_seconds: '60' }, { idempotencyKey: uniqueId('k') });
      expect(ttl.body.errors).toEqual([{ field: 'ttl_seconds', message: 'ttl_seconds must be a whole number from 1 to 86400' }]);
      const limit = await api.put(`/v1/orgs/${org}/projects/p`, { limit: '5' });
      expect(limit.body.errors).toEqual([
        { field: 'limit', message: 'limit must be a whole number of micro-credits from 0 to 9007199254740991' },
      ]);
      const page = await api.get(`/v1/reservations?org_id=${org}&limit=lots`);
      expect(page.body.errors).toEqual([{ field: 'limit', message: 'limit must be a whole number from 1 to 200' }]);
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 0, limit: 10_000_000 });
    });

    it('an unknown field is named as one', async () => {
      const org = await fundedOrg();
      const res = await api.post(
        '/v1/reservations',
        { org_id: org, project_id: 'p', user_id: 'u', amount: 5, at: '2026-01-01T00:00:00Z' },
        { idempotencyKey: uniqueId('k') },
      );
      expectProblem(res, 422, 'validation_failed');
      expect(res.body.errors).toEqual([{ field: 'at', message: 'at is not a field of this request' }]);
      expect(res.body.detail).toBe('at: at is not a field of this request');
      const nested = await api.patch(`/v1/orgs/${org}`, { settings: { max_ttl: 60 } });
      expect(nested.body.errors).toEqual([{ field: 'settings.max_ttl', message: 'max_ttl is not a field of this request' }]);
      const query = await api.get(`/v1/reservations?org_id=${org}&state=held`);
      expect(query.body.errors).toEqual([{ field: 'state', message: 'state is not a field of this request' }]);
    });

    it('a batch names its items in brackets, whichever check finds the problem', async () => {
      const org = await fundedOrg();
      const batch = (items: unknown[]) =>
        api.post(
          '/v1/reservations/batch',
          { org_id: org, project_id: 'p', user_id: 'u', policy: 'all_or_nothing', items },
          { idempotencyKey: uniqueId('k') },
        );
      // The DTO: unknown fields, types, an item that is not an object.
      const dto = await batch([{ amount: 1 }, { amount: '2', allow_downgrade: true }, 7]);
      expectProblem(dto, 422, 'validation_failed');
      expect(dto.body.errors).toEqual([
        { field: 'items[1].allow_downgrade', message: 'allow_downgrade is not a field of this request' },
        { field: 'items[1].amount', message: AMOUNT_RULE },
        { field: 'items[2]', message: 'items[2] must be an object' },
      ]);
      // The cross-field rules of an item.
      const rules = await batch([{ amount: 1 }, { amount: 1, product: 'video.generate', usage: { video_seconds: 1 } }]);
      expect(rules.body.errors).toEqual([expect.objectContaining({ field: 'items[1].amount' })]);
      const dimension = await batch([{ product: 'video.generate', usage: { video_seconds: 1 }, dimensions: { resolution: 5 } }]);
      expect(dimension.body.errors).toEqual([
        { field: 'items[0].dimensions.resolution', message: 'resolution must be a string of 1 to 128 characters' },
      ]);
      // The organization's maximum TTL, and pricing.
      const ttl = await batch([{ amount: 1 }, { amount: 1, ttl_seconds: 86_400 }]);
      expect(ttl.body.errors).toEqual([{ field: 'items[1].ttl_seconds', message: expect.stringContaining('must not exceed') }]);
      const priced = await batch([{ amount: 1 }, { product: 'video.generate', usage: { video_seconds: 'lots' } }]);
      expectProblem(priced, 422, 'validation_failed');
      expect(priced.body.errors).toEqual([{ field: 'items[1].usage.video_seconds', message: expect.any(String) }]);
      expect((await api.get(`/v1/orgs/${org}/usage`)).body.org).toMatchObject({ reserved: 0 });
    });

    it('other arrays use the same style (rate cards, provider records, NUL characters)', async () => {
      const card = await api.post('/v1/rate-cards', {
        name: 'bad',
        rates: [{ product: 'video.generate', dimension: 'video_seconds', model: 'flat', unit_price: '0.2', starting_at: 'soon' }],
      });
      expect(card.body.errors).toEqual([{ field: 'rates[0].starting_at', message: expect.any(String) }]);
      const records = await api.post('/v1/reconciliation/provider-usage', { records: [{ provider: 'runway', colour: 'red' }] });
      expect(records.body.items?.[0]?.errors ?? records.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'records[0].colour' })]),
      );
      const org = await fundedOrg();
      const nul = await api.request('POST', '/v1/reservations', {
        raw: `{"org_id":"${org}","project_id":"p","user_id":"u","amount":5,"metadata":{"notes":["ok","\\u0000"]}}`,
        idempotencyKey: uniqueId('k'),
      });
      expect(nul.body.errors).toEqual([expect.objectContaining({ field: 'metadata.notes[1]' })]);
    });
  });

  describe('request log lines', () => {
    const lineOf = (requestId: string) =>
      logLines.map((l) => JSON.parse(l)).find((l) => l.request_id === requestId && l.msg === 'request completed');

    it('carry the organization, the key id (never its secret) and the error code', async () => {
      const org = await fundedOrg();
      const orgKey = await api.createOrgKey(org, ['admission', 'read']);
      const ok = uniqueId('rq');
      await api.get(`/v1/orgs/${org}/usage`, { key: orgKey.secret, headers: { 'x-request-id': ok } });
      const refused = uniqueId('rq');
      await api.post(
        '/v1/reservations',
        { org_id: org, project_id: 'p', user_id: 'u', amount: 'lots' },
        { key: orgKey.secret, idempotencyKey: uniqueId('k'), headers: { 'x-request-id': refused } },
      );
      const platform = uniqueId('rq');
      await api.get(`/v1/orgs/${uniqueId('missing')}`, { headers: { 'x-request-id': platform } });
      const notJson = uniqueId('rq');
      await api.request('POST', `/v1/orgs/${org}/credits`, {
        raw: 'amount=5',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': notJson },
      });

      expect(lineOf(ok)).toMatchObject({ status: 200, org_id: org, key_id: orgKey.id });
      expect(lineOf(ok)).not.toHaveProperty('code');
      expect(lineOf(refused)).toMatchObject({ status: 422, org_id: org, key_id: orgKey.id, code: 'validation_failed' });
      expect(lineOf(platform)).toMatchObject({ status: 404, key_id: expect.any(String), code: 'unknown_org' });
      // Refused before authentication: the organization the path names, no key.
      expect(lineOf(notJson)).toMatchObject({ status: 415, org_id: org, code: 'unsupported_media_type' });
      expect(lineOf(notJson)).not.toHaveProperty('key_id');
      expect(logLines.join('\n')).not.toContain(orgKey.secret);
      expect(logLines.join('\n')).not.toContain(t.platformKey);
    });
  });
});
