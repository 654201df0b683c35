import { EntityManager } from '@mikro-orm/postgresql';
import { recordWebhookEvents, WebhookEvent, WebhookEventType } from '@tollgate/platform';
import { createTestApp, eventually, TestApp, TestClient, uniqueId } from '@tollgate/testing';
import { Webhook } from 'standardwebhooks';
import { FakeWebhookReceiver } from '../libs/testing/src/fakes/webhook-receiver';

/**
 * Outbound webhooks on the real path: endpoints through the API, events recorded in
 * webhook_events as the rest of the code records them, the dispatcher (its own loop, short
 * intervals) fanning them out and sending them to a fake receiver that verifies every
 * delivery with standardwebhooks.
 */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 400;
const MAX_ATTEMPTS = 4;
const BREAKER_FAILURES = 3;
const BREAKER_OPEN_MS = 800;
const TIMEOUT_MS = 500;

describe('outbound webhooks (Postgres + Redis)', () => {
  const receiver = new FakeWebhookReceiver();
  let t: TestApp;
  /** allowPrivateUrls false, no dispatcher: the SSRF guard as production runs it. */
  let guarded: TestApp;
  let api: TestClient;

  beforeAll(async () => {
    await receiver.start();
    [t, guarded] = await Promise.all([
      createTestApp({
        env: {
          WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
          WEBHOOK_DISPATCH_INTERVAL_MS: '20',
          WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS),
          WEBHOOK_RETRY_MAX_MS: String(RETRY_MAX_MS),
          WEBHOOK_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
          WEBHOOK_BREAKER_FAILURES: String(BREAKER_FAILURES),
          WEBHOOK_BREAKER_OPEN_MS: String(BREAKER_OPEN_MS),
          WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
        },
      }),
      createTestApp({ env: { WEBHOOK_DISPATCH_ENABLED: 'false' } }),
    ]);
    api = t.client;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([t?.close(), guarded?.close()]);
    await receiver.stop();
  });

  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []) =>
    t.app.get(EntityManager).getConnection().execute<T[]>(query, params);

  let seq = 0;
  async function record(orgId: string, type: WebhookEventType = 'credits.granted', data: Record<string, unknown> = {}) {
    const event: WebhookEvent = {
      id: `${type}:${uniqueId('ev')}`,
      orgId,
      environment: 'live',
      type,
      data: { seq: ++seq, ...data },
      occurredAt: new Date(Date.now() - 1000),
    };
    await recordWebhookEvents(t.app.get(EntityManager).fork(), [event]);
    return event;
  }

  /** An endpoint at a fresh receiver path, trusted with its secret. */
  async function endpoint(orgId: string, eventTypes: string[] = ['credits.granted'], client = api) {
    const path = `/hooks/${uniqueId('p')}`;
    const res = await client.post(`/v1/orgs/${orgId}/webhook-endpoints`, { url: receiver.url(path), event_types: eventTypes });
    expect(res.status).toBe(201);
    receiver.trust(path, res.body.secret);
    return { id: res.body.id as string, secret: res.body.secret as string, path };
  }

  async function deliveries(orgId: string, endpointId: string, query = '') {
    const res = await api.get(`/v1/orgs/${orgId}/webhook-endpoints/${endpointId}/deliveries${query}`);
    expect(res.status).toBe(200);
    return res.body.data as any[];
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  describe('endpoints', () => {
    it('creates an endpoint: 201 with the whsec_ secret once, never in the list, the endpoint or the audit log', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const url = receiver.url('/hooks/created');
      const idempotencyKey = uniqueId('idem');
      const body = { url, event_types: ['credits.granted', 'org.status_changed'], description: 'ops' };
      const res = await api.post(`/v1/orgs/${org}/webhook-endpoints`, body, { idempotencyKey });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        url,
        event_types: ['credits.granted', 'org.status_changed'],
        description: 'ops',
        status: 'enabled',
      });
      expect(res.body.id).toMatch(/^we_/);
      expect(Date.parse(res.body.created_at)).not.toBeNaN();
      expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
      expect(Buffer.from(res.body.secret.slice(6), 'base64')).toHaveLength(24);

      const list = await api.get(`/v1/orgs/${org}/webhook-endpoints`);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ data: [expect.objectContaining({ id: res.body.id, url })], next_cursor: null });
      expect(list.text).not.toContain(res.body.secret.slice(6));
      expect(list.body.data[0]).not.toHaveProperty('secret');
      const one = await api.get(`/v1/orgs/${org}/webhook-endpoints/${res.body.id}`);
      expect(one.status).toBe(200);
      expect(one.body).not.toHaveProperty('secret');
      expect(one.text).not.toContain(res.body.secret.slice(6));

      const audit = await sql(`select action, before, after from audit_log where resource_id = ?`, [res.body.id]);
      expect(audit).toEqual([expect.objectContaining({ action: 'webhook_endpoint.created' })]);
      expect(JSON.stringify(audit)).not.toContain(res.body.secret.slice(6));
      // The stored answer (replayed for the same Idempotency-Key) leaves the secret out.
      const [stored] = await sql(`select response_body from idempotency_keys where key = ?`, [idempotencyKey]);
      expect(stored.response_body).toMatchObject({ id: res.body.id });
      expect(JSON.stringify(stored)).not.toContain(res.body.secret.slice(6));
      const replay = await api.post(`/v1/orgs/${org}/webhook-endpoints`, body, { idempotencyKey });
      expect(replay.body.id).toBe(res.body.id);
      expect(replay.body).not.toHaveProperty('secret');
    });

    it('validates the body: event types a non-empty subset of the five, an absolute http(s) URL without credentials, at most 20', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const bad = [
        { url: receiver.url('/x'), event_types: [] },
        { url: receiver.url('/x'), event_types: ['usage.recorded'] },
        { url: receiver.url('/x') },
        { url: receiver.url('/x'), event_types: ['credits.granted'], extra: 1 },
        { url: 42, event_types: ['credits.granted'] },
        { url: `https://example.com/${'a'.repeat(2048)}`, event_types: ['credits.granted'] },
      ];
      for (const body of bad) {
        const res = await api.post(`/v1/orgs/${org}/webhook-endpoints`, body);
        expect(res.status).toBe(422);
        expect(res.body.code).toBe('validation_failed');
      }
      for (const url of ['ftp://example.com/x', 'https://user:pw@example.com/x', 'not a url']) {
        const res = await api.post(`/v1/orgs/${org}/webhook-endpoints`, { url, event_types: ['credits.granted'] });
        expect(res.status).toBe(422);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.body.code).toBe('webhook_url_refused');
      }
      for (let i = 0; i < 20; i++) await endpoint(org);
      const over = await api.post(`/v1/orgs/${org}/webhook-endpoints`, { url: receiver.url('/x'), event_types: ['credits.granted'] });
      expect(over.status).toBe(422);
      expect(over.body.detail).toContain('at most 20');
      // Per environment: the test environment has room.
      const testEnv = await api.post(
        `/v1/orgs/${org}/webhook-endpoints`,
        { url: receiver.url('/x'), event_types: ['credits.granted'] },
        { environment: 'test' },
      );
      expect(testEnv.status).toBe(201);
    });

    it.each([
      'http://127.0.0.1:9/hook',
      'http://10.1.2.3/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://localhost:3000/hook',
      'http://api.localhost/hook',
      'http://0177.0.0.1/hook',
    ])('refuses %s with 422 webhook_url_refused when private URLs are not allowed', async (url) => {
      const org = await guarded.client.createOrg(uniqueId('wh'));
      const res = await guarded.client.post(`/v1/orgs/${org}/webhook-endpoints`, { url, event_types: ['credits.granted'] });
      expect(res.status).toBe(422);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body.code).toBe('webhook_url_refused');
      const list = await guarded.client.get(`/v1/orgs/${org}/webhook-endpoints`);
      expect(list.body.data).toEqual([]);
    });

    it('deletes an endpoint: 204, gone from the list and 404 after, nothing more delivered to it; audited', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const e = await endpoint(org);
      expect((await api.delete(`/v1/orgs/${org}/webhook-endpoints/${e.id}`)).status).toBe(204);
      expect((await api.get(`/v1/orgs/${org}/webhook-endpoints`)).body.data).toEqual([]);
      const gone = await api.get(`/v1/orgs/${org}/webhook-endpoints/${e.id}`);
      expect(gone.status).toBe(404);
      expect(gone.body.code).toBe('webhook_endpoint_not_found');
      expect((await api.delete(`/v1/orgs/${org}/webhook-endpoints/${e.id}`)).status).toBe(404);
      const [row] = await sql(`select secret, previous_secret from webhook_endpoints where id = ?`, [e.id]);
      expect(row).toEqual({ secret: null, previous_secret: null });
      await record(org);
      await sleep(400);
      expect(receiver.requestsTo(e.path)).toEqual([]);
      const audit = await sql(`select action from audit_log where resource_id = ? order by seq`, [e.id]);
      expect(audit.map((a) => a.action)).toEqual(['webhook_endpoint.created', 'webhook_endpoint.deleted']);
    });

    it('stops the queued deliveries of a deleted endpoint', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const e = await endpoint(org);
      receiver.fail(e.path, { kind: 'status', status: 500, times: 100 });
      const event = await record(org);
      await eventually(async () => expect(receiver.requestsTo(e.path).length).toBeGreaterThanOrEqual(1), 5_000);
      expect((await api.delete(`/v1/orgs/${org}/webhook-endpoints/${e.id}`)).status).toBe(204);
      const seen = receiver.requestsTo(e.path).length;
      await sleep(RETRY_MAX_MS * 2);
      expect(receiver.requestsTo(e.path).length).toBeLessThanOrEqual(seen + 1); // one may have been in flight
      const [row] = await sql(`select status, last_error from webhook_deliveries where id = ?`, [`${event.id}:${e.id}`]);
      expect(row).toEqual({ status: 'dead', last_error: 'endpoint deleted' });
      receiver.clearFaults(e.path);
    });
  });

  describe('delivery', () => {
    it('delivers an event once, verified, with the Standard Webhooks body and headers, to subscribed endpoints of its organization only', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const other = await api.createOrg(uniqueId('wh'));
      const subscribed = await endpoint(org, ['credits.granted', 'org.status_changed']);
      const unsubscribed = await endpoint(org, ['org.status_changed']);
      const otherOrgs = await endpoint(other, ['credits.granted']);
      const testEnv = await endpoint(org, ['credits.granted']);
      // The same org's endpoint in the test environment: a live event is not for it.
      await sql(`update webhook_endpoints set environment = 'test' where id = ?`, [testEnv.id]);

      const event = await record(org, 'credits.granted', { grant_id: 'g1', amount: 5_000_000 });
      await eventually(async () => expect(receiver.accepted(subscribed.path)).toHaveLength(1), 5_000);
      await sleep(300);
      // Fanning the same event out again (another instance, a reset) finds its delivery row: nothing is sent twice.
      await sql(`update webhook_events set fanned_out_at = null where id = ?`, [event.id]);
      await sleep(300);
      const got = receiver.requestsTo(subscribed.path);
      expect(got).toHaveLength(1);
      expect(receiver.requestsTo(unsubscribed.path)).toEqual([]);
      expect(receiver.requestsTo(otherOrgs.path)).toEqual([]);
      expect(receiver.requestsTo(testEnv.path)).toEqual([]);

      const [req] = got;
      expect(req.verifiedWith).toEqual([subscribed.secret]);
      expect(req.method).toBe('POST');
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['user-agent']).toBe('Tollgate-Webhooks/1');
      expect(req.headers['webhook-id']).toBe(event.id);
      expect(Math.abs(Number(req.headers['webhook-timestamp']) - req.at / 1000)).toBeLessThan(5);
      expect(JSON.parse(req.body)).toEqual({
        id: event.id,
        type: 'credits.granted',
        timestamp: event.occurredAt.toISOString(),
        org_id: org,
        environment: 'live',
        data: event.data,
      });

      const log = await deliveries(org, subscribed.id);
      expect(log).toEqual([
        expect.objectContaining({
          id: `${event.id}:${subscribed.id}`,
          event_id: event.id,
          event_type: 'credits.granted',
          status: 'delivered',
          attempts: 1,
          last_status_code: 200,
          last_error: null,
          next_attempt_at: null,
          attempt_log: [expect.objectContaining({ attempt: 1, status_code: 200, outcome: 'delivered' })],
        }),
      ]);
      expect(await deliveries(org, unsubscribed.id)).toEqual([]);
      const [{ n }] = await sql(`select count(*)::int as n from webhook_deliveries where event_id = ?`, [event.id]);
      expect(n).toBe(1);
    });

    it('retries a receiver that is down with backoff, then delivers once; every attempt in the log', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const e = await endpoint(org);
      receiver.fail(e.path, { kind: 'status', status: 500, times: 2 });
      const event = await record(org);
      await eventually(async () => expect(receiver.accepted(e.path)).toHaveLength(1), 10_000);
      await sleep(300);
      const got = receiver.requestsTo(e.path);
      expect(got.map((r) => r.answered)).toEqual([500, 500, 200]);
      // The same webhook-id on every attempt (receivers dedupe on it), each attempt signed afresh.
      expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.id]));
      expect(got.every((r) => r.verifiedWith.length === 1)).toBe(true);
      for (let i = 1; i < got.length; i++) expect(got[i].at - got[i - 1].at).toBeGreaterThanOrEqual(RETRY_BASE_MS / 2 - 10);

      const [delivery] = await deliveries(org, e.id);
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 200 });
      expect(delivery.attempt_log.map((a: any) => [a.attempt, a.status_code, a.outcome])).toEqual([
        [3, 200, 'delivered'],
        [2, 500, 'failed'],
        [1, 500, 'failed'],
      ]);
      expect(delivery.attempt_log[1].error).toBe('HTTP 500');
    });

    it('honours Retry-After on 503 and 429, and counts a timeout as a failed attempt', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const e = await endpoint(org);
      receiver.fail(e.path, { kind: 'status', status: 503, retryAfter: '1' });
      receiver.fail(e.path, { kind: 'timeout', holdMs: TIMEOUT_MS * 3 });
      receiver.fail(e.path, { kind: 'status', status: 429, retryAfter: '1' });
      await record(org);
      await eventually(async () => expect(receiver.accepted(e.path)).toHaveLength(1), 15_000);
      const got = receiver.requestsTo(e.path);
      expect(got).toHaveLength(4);
      expect(got[1].at - got[0].at).toBeGreaterThanOrEqual(950);
      expect(got[3].at - got[2].at).toBeGreaterThanOrEqual(950);
      const [delivery] = await deliveries(org, e.id);
      expect(delivery.attempts).toBe(4);
      const oldestFirst = [...delivery.attempt_log].reverse();
      expect(oldestFirst.map((a: any) => a.status_code)).toEqual([503, null, 429, 200]);
      expect(oldestFirst[1].error).toContain('timed out');
    });

    it('a redirect is a failed attempt, never followed', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const e = await endpoint(org);
      const target = `/hooks/${uniqueId('target')}`;
      receiver.fail(e.path, { kind: 'redirect', location: receiver.url(target) });
      await record(org);
      await eventually(async () => expect(receiver.accepted(e.path)).toHaveLength(1), 10_000);
      expect(receiver.requestsTo(target)).toEqual([]);
      const [delivery] = await deliveries(org, e.id);
      expect(delivery.attempt_log[1]).toMatchObject({ status_code: 307, outcome: 'failed' });
      expect(delivery.attempt_log[1].error).toContain('redirects are not followed');
    });

    it('gives up after the maximum attempts (dead, in the log; no billing.delivery_dead event), the circuit pausing calls; redeliver sends it again', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const e = await endpoint(org);
      receiver.fail(e.path, { kind: 'status', status: 500, times: 1_000 });
      const event = await record(org);
      const id = `${event.id}:${e.id}`;
      await eventually(async () => expect((await deliveries(org, e.id, '?status=dead')).map((d) => d.id)).toEqual([id]), 20_000);
      await sleep(RETRY_MAX_MS + BREAKER_OPEN_MS);
      const calls = receiver.requestsTo(e.path);
      expect(calls).toHaveLength(MAX_ATTEMPTS);
      // After BREAKER_FAILURES consecutive failures the endpoint's circuit opened: no call for BREAKER_OPEN_MS (> any backoff).
      expect(calls[BREAKER_FAILURES].at - calls[BREAKER_FAILURES - 1].at).toBeGreaterThanOrEqual(BREAKER_OPEN_MS - 50);
      const [dead] = await deliveries(org, e.id);
      expect(dead).toMatchObject({ status: 'dead', attempts: MAX_ATTEMPTS, last_status_code: 500, next_attempt_at: null });
      expect(dead.last_error).toContain(`after ${MAX_ATTEMPTS} attempts`);
      expect(dead.attempt_log).toHaveLength(MAX_ATTEMPTS);
      expect(dead.attempt_log[0]).toMatchObject({ attempt: MAX_ATTEMPTS, outcome: 'dead' });
      const events = await sql(`select id from webhook_events where org_id = ? and type = 'billing.delivery_dead'`, [org]);
      expect(events).toEqual([]);

      receiver.clearFaults(e.path);
      const again = await api.post(`/v1/orgs/${org}/webhook-deliveries/${id}/redeliver`);
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ id, status: 'pending', attempts: 0 });
      await eventually(async () => expect(receiver.accepted(e.path)).toHaveLength(1), 5_000);
      const [delivered] = await deliveries(org, e.id);
      expect(delivered).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200 });

      // Any status: a delivered one is sent again (same webhook-id).
      expect((await api.post(`/v1/orgs/${org}/webhook-deliveries/${id}/redeliver`)).status).toBe(202);
      await eventually(async () => expect(receiver.accepted(e.path)).toHaveLength(2), 5_000);
      expect(receiver.accepted(e.path).map((r) => r.headers['webhook-id'])).toEqual([event.id, event.id]);
    });

    it('rotates the secret: both the old and the new verify during the overlap', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const e = await endpoint(org);
      const rotated = await api.post(`/v1/orgs/${org}/webhook-endpoints/${e.id}/rotate-secret`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.secret).toMatch(/^whsec_/);
      expect(rotated.body.secret).not.toBe(e.secret);
      expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23 * 3_600_000);
      receiver.trust(e.path, rotated.body.secret);
      await record(org);
      await eventually(async () => expect(receiver.accepted(e.path)).toHaveLength(1), 5_000);
      const [req] = receiver.accepted(e.path);
      expect(req.verifiedWith.sort()).toEqual([e.secret, rotated.body.secret].sort());
      expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
      // Each secret alone verifies the request as sent.
      const headers = req.headers as Record<string, string>;
      for (const secret of [e.secret, rotated.body.secret]) expect(() => new Webhook(secret).verify(req.body, headers)).not.toThrow();
      const audit = await sql(`select action, after from audit_log where resource_id = ? order by seq`, [e.id]);
      expect(audit.map((a) => a.action)).toEqual(['webhook_endpoint.created', 'webhook_endpoint.secret_rotated']);
      expect(JSON.stringify(audit)).not.toContain(rotated.body.secret.slice(6));

      // Once the overlap is over only the new secret signs.
      await sql(`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = ?`, [e.id]);
      await record(org);
      await eventually(async () => expect(receiver.accepted(e.path)).toHaveLength(2), 5_000);
      expect(receiver.accepted(e.path)[1].verifiedWith).toEqual([rotated.body.secret]);
    });
  });

  describe('isolation', () => {
    it('an organization key cannot see, list or redeliver another organization’s endpoints and deliveries', async () => {
      const org = await api.createOrg(uniqueId('wh'));
      const intruder = await api.createOrg(uniqueId('wh'));
      const e = await endpoint(org);
      const event = await record(org);
      await eventually(async () => expect(receiver.accepted(e.path)).toHaveLength(1), 5_000);
      const id = `${event.id}:${e.id}`;
      const key = (await api.createOrgKey(intruder, ['quota:admin'])).secret;
      for (const res of [
        await api.get(`/v1/orgs/${org}/webhook-endpoints`, { key }),
        await api.get(`/v1/orgs/${org}/webhook-endpoints/${e.id}`, { key }),
        await api.get(`/v1/orgs/${org}/webhook-endpoints/${e.id}/deliveries`, { key }),
        await api.post(`/v1/orgs/${org}/webhook-deliveries/${id}/redeliver`, undefined, { key }),
        await api.post(`/v1/orgs/${org}/webhook-endpoints/${e.id}/rotate-secret`, undefined, { key }),
        await api.delete(`/v1/orgs/${org}/webhook-endpoints/${e.id}`, { key }),
      ]) {
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toContain('application/problem+json');
      }
      // Through its own organization's path: the delivery and the endpoint are unknown.
      const own = await api.post(`/v1/orgs/${intruder}/webhook-deliveries/${id}/redeliver`, undefined, { key });
      expect(own.status).toBe(404);
      expect(own.body.code).toBe('webhook_delivery_not_found');
      const ownEndpoint = await api.get(`/v1/orgs/${intruder}/webhook-endpoints/${e.id}`, { key });
      expect(ownEndpoint.body.code).toBe('webhook_endpoint_not_found');
      expect((await api.get(`/v1/orgs/${intruder}/webhook-endpoints`, { key })).body.data).toEqual([]);
      // The other environment of the same organization sees nothing either.
      expect((await api.get(`/v1/orgs/${org}/webhook-endpoints`, { environment: 'test' })).body.data).toEqual([]);
      expect((await api.post(`/v1/orgs/${org}/webhook-deliveries/${id}/redeliver`, undefined, { environment: 'test' })).status).toBe(404);
      // A key without quota:admin is refused.
      const reader = (await api.createOrgKey(org, ['read'])).secret;
      expect((await api.get(`/v1/orgs/${org}/webhook-endpoints`, { key: reader })).status).toBe(403);
      await sleep(200);
      expect(receiver.accepted(e.path)).toHaveLength(1);
    });
  });

  it('keeps a hanging endpoint from holding up another: its calls take a few slots, the rest keep flowing', async () => {
    const org = await api.createOrg(uniqueId('wh'));
    const slow = await endpoint(org, ['reservation.expired']);
    const fast = await endpoint(org, ['credits.granted']);
    receiver.fail(slow.path, { kind: 'timeout', holdMs: TIMEOUT_MS * 3, times: 8 });
    for (let i = 0; i < 8; i++) await record(org, 'reservation.expired');
    await eventually(async () => expect(receiver.requests.filter((r) => r.path === slow.path).length).toBeGreaterThanOrEqual(1), 5_000);

    await record(org, 'credits.granted');

    await eventually(async () => expect(receiver.accepted(fast.path)).toHaveLength(1), 5_000);
    const fastAt = receiver.accepted(fast.path)[0].at;
    const firstSlow = Math.min(...receiver.requests.filter((r) => r.path === slow.path).map((r) => r.at));
    // Sent while the slow endpoint's first calls still hang (they end at the timeout): not after them.
    expect(fastAt - firstSlow).toBeLessThan(TIMEOUT_MS);
    // And the slow endpoint never had more than its share of calls in flight at once.
    const concurrentSlow = receiver.requests.filter((r) => r.path === slow.path && r.at < firstSlow + TIMEOUT_MS / 2).length;
    expect(concurrentSlow).toBeLessThanOrEqual(4);
    receiver.clearFaults(slow.path);
  });

  it('exposes delivery outcomes and the backlog as Prometheus metrics', async () => {
    const res = await api.get('/metrics', { key: null });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/tollgate_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
    expect(res.text).toMatch(/tollgate_webhook_deliveries_due \d+/);
    expect(res.text).toMatch(/tollgate_webhook_lag_seconds [\d.]+/);
  });
});

describe('outbound webhooks (embedded: PGlite, in-process stores)', () => {
  const receiver = new FakeWebhookReceiver();
  let t: TestApp;

  beforeAll(async () => {
    await receiver.start();
    t = await createTestApp({ embedded: true, env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_DISPATCH_INTERVAL_MS: '20' } });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  it('fans out, signs and delivers an event once', async () => {
    const org = await t.client.createOrg(uniqueId('wh'));
    const path = '/hooks/embedded';
    const created = await t.client.post(`/v1/orgs/${org}/webhook-endpoints`, {
      url: receiver.url(path),
      event_types: ['org.status_changed'],
    });
    expect(created.status).toBe(201);
    receiver.trust(path, created.body.secret);
    const event: WebhookEvent = {
      id: `org.status_changed:${uniqueId('ev')}`,
      orgId: org,
      environment: 'live',
      type: 'org.status_changed',
      data: { from: 'active', to: 'past_due' },
      occurredAt: new Date(),
    };
    await recordWebhookEvents(t.app.get(EntityManager).fork(), [event]);
    await eventually(async () => expect(receiver.accepted(path)).toHaveLength(1), 10_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requestsTo(path)).toHaveLength(1);
    expect(JSON.parse(receiver.accepted(path)[0].body)).toMatchObject({ id: event.id, type: 'org.status_changed', data: event.data });
  });
});
