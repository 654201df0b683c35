import { createHmac, randomBytes } from 'node:crypto';
import { EntityManager } from '@mikro-orm/postgresql';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestApp,
  FAKE_FLEXPRICE_KEYS,
  FAKE_METRONOME_TOKENS,
  FakeFlexprice,
  FakeMetronome,
  TestApp,
  TestClient,
  uniqueId,
} from '@tollgate/testing';
import { importEsm } from '../libs/billing/src/adapters/shared/import-esm';

/**
 * Inbound vendor webhooks on the real path: the app with per-vendor, per-environment secrets,
 * organizations routed to Flexprice and Metronome through the billing switch (so their vendor
 * customers are the ones the switch recorded), deliveries signed by the real `svix` library
 * (Flexprice Cloud) or with Metronome's scheme (its SDK's published test vector is the unit spec's),
 * posted as raw bytes. Asserted: status, the recorded receipt, and what changed (organization
 * status, credit grants, audit), never more than once.
 */
type SvixWebhook = { sign(msgId: string, timestamp: Date, payload: string): string };
type SvixModule = { Webhook: new (secret: string) => SvixWebhook };

const secret = () => `whsec_${randomBytes(24).toString('base64')}`;
const FP_OLD = secret();
const FP_NEW = secret();
const FP_TEST = secret();
const NATIVE = `native-${randomBytes(12).toString('hex')}`;
const NATIVE_TEST = `native-test-${randomBytes(12).toString('hex')}`;
const MN_OLD = `mn-old-${randomBytes(12).toString('hex')}`;
const MN_NEW = `mn-new-${randomBytes(12).toString('hex')}`;

describe('inbound vendor webhooks (Postgres + Redis)', () => {
  const flexprice = new FakeFlexprice();
  const metronome = new FakeMetronome();
  let svix: SvixModule;
  /** Configured mid-rotation: old and new secrets both listed. */
  let t: TestApp;
  /** The same deployment after the rotation: only the new secrets. */
  let rotated: TestApp;
  let api: TestClient;
  let env: Record<string, string>;

  beforeAll(async () => {
    svix = await importEsm<SvixModule>('svix');
    const [fpUrl, mnUrl] = await Promise.all([flexprice.start(), metronome.start()]);
    env = {
      FLEXPRICE_BASE_URL: `${fpUrl}/v1`,
      FLEXPRICE_API_KEY: FAKE_FLEXPRICE_KEYS.live,
      METRONOME_BASE_URL: mnUrl,
      METRONOME_BEARER_TOKEN: FAKE_METRONOME_TOKENS.live,
      BILLING_DISPATCH_ENABLED: 'false',
      WEBHOOK_DISPATCH_ENABLED: 'false',
      FLEXPRICE_WEBHOOK_SECRET: `${FP_OLD} ${FP_NEW}`,
      FLEXPRICE_WEBHOOK_SECRET_TEST: FP_TEST,
      FLEXPRICE_WEBHOOK_HEADER_SECRET: NATIVE,
      FLEXPRICE_WEBHOOK_HEADER_SECRET_TEST: NATIVE_TEST,
      METRONOME_WEBHOOK_SECRET: `${MN_OLD} ${MN_NEW}`,
    };
    [t, rotated] = await Promise.all([
      createTestApp({ env }),
      createTestApp({ env: { ...env, FLEXPRICE_WEBHOOK_SECRET: FP_NEW, METRONOME_WEBHOOK_SECRET: MN_NEW } }),
    ]);
    api = t.client;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([t?.close(), rotated?.close()]);
    await Promise.all([flexprice.stop(), metronome.stop()]);
  });

  const sql = <T = Record<string, any>>(query: string, params: unknown[] = []) =>
    t.app.get(EntityManager).getConnection().execute<T[]>(query, params);

  /** POSTs exact bytes, as a vendor does: no API key, the body untouched. */
  async function deliver(
    source: 'flexprice' | 'metronome',
    body: string | Buffer,
    headers: Record<string, string>,
    { app = t, remoteAddress = '198.51.100.7' }: { app?: TestApp; remoteAddress?: string } = {},
  ) {
    const fastify = (app.app as NestFastifyApplication).getHttpAdapter().getInstance();
    const response = await fastify.inject({
      method: 'POST',
      url: `/v1/webhooks/${source}`,
      headers: { 'content-type': 'application/json', ...headers },
      payload: body,
      remoteAddress,
    });
    return { status: response.statusCode, headers: response.headers, body: response.json() };
  }

  function svixHeaders(key: string, body: string, { id = `msg_${uniqueId()}`, at = new Date() }: { id?: string; at?: Date } = {}) {
    return {
      'svix-id': id,
      'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
      'svix-signature': new svix.Webhook(key).sign(id, at, body),
    };
  }

  /** Metronome's scheme (VENDORS.md M3): hex HMAC-SHA256 over `${date}\n${body}`, the secret as-is. */
  function metronomeHeaders(key: string, body: string, { at = new Date(), header = 'X-Metronome-Date' } = {}) {
    const date = at.toUTCString();
    return { [header]: date, 'Metronome-Webhook-Signature': createHmac('sha256', key).update(`${date}\n${body}`).digest('hex') };
  }

  /** An organization routed to Flexprice with a Metronome shadow: both vendors know a customer for it. */
  async function routedOrg(extra: Record<string, unknown> = {}) {
    const org = await api.createOrg(uniqueId('wh'), extra);
    const routed = await api.put(`/v1/orgs/${org}/billing`, { backend: 'flexprice', shadow: 'metronome' });
    expect(routed.status).toBe(200);
    return {
      org,
      flexpriceCustomer: routed.body.customer_ids.flexprice as string,
      metronomeCustomer: routed.body.customer_ids.metronome as string,
    };
  }

  const status = async (org: string) => (await api.get(`/v1/orgs/${org}`)).body.status;
  const receipts = async (where: string, params: unknown[]) =>
    sql(
      `select outcome, reason, action, org_id, environment, delivery_id, event_type, kind, payload from webhook_receipts where ${where} order by id`,
      params,
    );

  const paymentFailed = (customerId: string) =>
    JSON.stringify({ event_type: 'payment.failed', payment: { id: uniqueId('pay'), customer_id: customerId, payment_status: 'FAILED' } });

  it('marks the organization past_due on a Svix-signed payment.failed, refuses its admissions, and makes it active again on payment.success', async () => {
    const { org, flexpriceCustomer } = await routedOrg();
    await api.post(`/v1/orgs/${org}/credits`, { amount: 10_000_000, reason: 'top-up' });
    const key = (await api.createOrgKey(org, ['admission'])).secret;
    const body = paymentFailed(flexpriceCustomer);
    const headers = svixHeaders(FP_NEW, body);

    const res = await deliver('flexprice', body, headers);

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ received: true, delivery_id: headers['svix-id'], outcome: 'applied', action: 'past_due' });
    expect(await status(org)).toBe('past_due');
    const reserve = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: 'p', user_id: 'u', amount: 1 },
      { key, idempotencyKey: uniqueId('k') },
    );
    expect(reserve.body.code).toBe('org_past_due');
    const audit = (await api.get(`/v1/audit-log?org_id=${org}`)).body.data.find((e: any) => e.action === 'organization.updated');
    expect(audit).toMatchObject({ actor: 'webhook:flexprice', before: { status: 'active' }, after: { status: 'past_due' } });
    expect(await receipts('delivery_id = ?', [headers['svix-id']])).toEqual([
      expect.objectContaining({
        outcome: 'applied',
        action: 'past_due',
        org_id: org,
        environment: 'live',
        event_type: 'payment.failed',
        kind: 'payment_failed',
      }),
    ]);

    const paid = JSON.stringify({ event_type: 'payment.success', payment: { id: uniqueId('pay'), customer_id: flexpriceCustomer } });
    expect((await deliver('flexprice', paid, svixHeaders(FP_NEW, paid))).body).toMatchObject({ outcome: 'applied', action: 'active' });
    expect(await status(org)).toBe('active');
    const again = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: 'p', user_id: 'u', amount: 1 },
      { key, idempotencyKey: uniqueId('k') },
    );
    expect(again.status).toBe(201);
  });

  it('answers a replayed svix-id with 200 duplicate and no second effect', async () => {
    const { org, flexpriceCustomer } = await routedOrg();
    const body = paymentFailed(flexpriceCustomer);
    const headers = svixHeaders(FP_NEW, body);
    expect((await deliver('flexprice', body, headers)).body.outcome).toBe('applied');
    // The organization pays and is active again; the old delivery arrives once more (Svix retries keep their id).
    await api.patch(`/v1/orgs/${org}`, { status: 'active' });

    const replay = await deliver('flexprice', body, svixHeaders(FP_NEW, body, { id: headers['svix-id'] }));

    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ outcome: 'duplicate', action: null });
    expect(await status(org)).toBe('active');
    expect((await receipts('delivery_id = ?', [headers['svix-id']])).map((r) => r.outcome)).toEqual(['applied', 'duplicate']);

    // A payment of an active organization changes nothing (recorded, claimed by its receipt); its
    // replay is a duplicate, and a replay of the failure after it still does not act.
    const paid = JSON.stringify({ event_type: 'payment.success', payment: { id: uniqueId('pay'), customer_id: flexpriceCustomer } });
    const paidHeaders = svixHeaders(FP_NEW, paid);
    expect((await deliver('flexprice', paid, paidHeaders)).body).toMatchObject({
      outcome: 'recorded',
      action: 'none',
      reason: 'organization is active: left as is',
    });
    expect((await deliver('flexprice', paid, paidHeaders)).body.outcome).toBe('duplicate');
    expect((await deliver('flexprice', body, svixHeaders(FP_NEW, body, { id: headers['svix-id'] }))).body.outcome).toBe('duplicate');
    expect(await status(org)).toBe('active');
  });

  it('grants a Flexprice top-up once, however many deliveries carry its transaction', async () => {
    const { org, flexpriceCustomer } = await routedOrg();
    const txn = {
      id: uniqueId('txn'),
      type: 'credit',
      transaction_status: 'completed',
      transaction_reason: 'PURCHASED_CREDIT_DIRECT',
      credit_amount: '12.5',
      amount: '12.5',
      customer_id: flexpriceCustomer,
      wallet_id: 'w1',
    };
    const created = JSON.stringify({ event_type: 'wallet.transaction.created', transaction: txn });
    const updated = JSON.stringify({ event_type: 'wallet.transaction.updated', updated_transaction: txn });

    const answers = await Promise.all([
      deliver('flexprice', created, svixHeaders(FP_NEW, created)),
      deliver('flexprice', created, svixHeaders(FP_NEW, created)),
      deliver('flexprice', updated, svixHeaders(FP_NEW, updated)),
    ]);

    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.filter((a) => a.body.action === 'credit_grant')).toHaveLength(1);
    const grants = (await api.get(`/v1/orgs/${org}/credits`)).body;
    const vendorGrants = (grants.data ?? grants.grants ?? []).filter((g: any) => g.source === `flexprice:${txn.id}`);
    expect(vendorGrants).toEqual([expect.objectContaining({ amount: 12_500_000 })]);
    const usage = (await api.get(`/v1/orgs/${org}/usage`)).body;
    expect(usage.org.limit).toBe(12_500_000);
  });

  it('refuses a forged signature, a body changed by one byte, stale and future timestamps, and records each', async () => {
    const { org, flexpriceCustomer } = await routedOrg();
    const body = paymentFailed(flexpriceCustomer);
    const cases: [string, string | Buffer, Record<string, string>][] = [
      ['signature_mismatch', body, svixHeaders(secret(), body)],
      ['signature_mismatch', body.replace('payment.failed', 'payment.failez'), svixHeaders(FP_NEW, body)],
      ['signature_mismatch', Buffer.concat([Buffer.from(body), Buffer.from(' ')]), svixHeaders(FP_NEW, body)],
      ['timestamp_too_old', body, svixHeaders(FP_NEW, body, { at: new Date(Date.now() - 301_000) })],
      ['timestamp_too_new', body, svixHeaders(FP_NEW, body, { at: new Date(Date.now() + 301_000) })],
      ['missing_signature', body, {}],
    ];
    for (const [reason, sent, headers] of cases) {
      const res = await deliver('flexprice', sent, headers);
      expect({ reason, status: res.status, code: res.body.code, got: res.body.reason }).toEqual({
        reason,
        status: 401,
        code: 'webhook_signature_invalid',
        got: reason,
      });
      if (headers['svix-id']) {
        expect(await receipts('delivery_id = ?', [headers['svix-id']])).toEqual([
          expect.objectContaining({ outcome: 'refused', reason, org_id: null, payload: null }),
        ]);
      }
    }
    expect(await status(org)).toBe('active');
    // A refusal claims nothing: the genuine delivery with an id a forger used first still applies.
    const id = `msg_${uniqueId()}`;
    expect((await deliver('flexprice', body, svixHeaders(secret(), body, { id }))).status).toBe(401);
    expect((await deliver('flexprice', body, svixHeaders(FP_NEW, body, { id }))).body.outcome).toBe('applied');
    expect(await status(org)).toBe('past_due');
  });

  it('accepts the old and the new secret during a rotation, and only the new once the old is removed', async () => {
    const { flexpriceCustomer } = await routedOrg();
    const body = JSON.stringify({ event_type: 'customer.updated', customer: { id: flexpriceCustomer } });
    expect((await deliver('flexprice', body, svixHeaders(FP_OLD, body))).status).toBe(200);
    expect((await deliver('flexprice', body, svixHeaders(FP_NEW, body))).status).toBe(200);

    const old = await deliver('flexprice', body, svixHeaders(FP_OLD, body), { app: rotated });
    expect(old.status).toBe(401);
    expect(old.body.reason).toBe('signature_mismatch');
    expect((await deliver('flexprice', body, svixHeaders(FP_NEW, body), { app: rotated })).status).toBe(200);

    const mnBody = JSON.stringify({ id: uniqueId('n'), type: 'widget.created', properties: {} });
    expect((await deliver('metronome', mnBody, metronomeHeaders(MN_OLD, mnBody))).status).toBe(200);
    expect((await deliver('metronome', mnBody, metronomeHeaders(MN_OLD, mnBody), { app: rotated })).status).toBe(401);
  });

  it('names the environment by the secret that verifies: a test-environment delivery never touches live', async () => {
    const { org, flexpriceCustomer } = await routedOrg();
    const body = paymentFailed(flexpriceCustomer);

    const res = await deliver('flexprice', body, svixHeaders(FP_TEST, body));

    // The organization's customers were switched in live only: in test that customer is nobody's.
    expect(res.body).toMatchObject({ outcome: 'unknown_customer', action: null });
    expect(await status(org)).toBe('active');
    const [receipt] = await receipts('id = ?', [res.body.receipt_id]);
    expect(receipt).toMatchObject({ environment: 'test', outcome: 'unknown_customer' });
  });

  it('takes native Flexprice deliveries by their shared-secret header, telling alerts with no event_type apart by shape', async () => {
    const { org, flexpriceCustomer } = await routedOrg({ settings: { on_spend_threshold: 'past_due' } });
    // buildSpendAlertPayload: no event_type in native mode.
    const alert = JSON.stringify({
      subscription: { id: uniqueId('sub'), customer_id: flexpriceCustomer },
      alert_type: 'subscription_spend',
      alert_status: 'in_alarm',
      current_spend: '1000',
      triggered_at: new Date().toISOString(),
    });

    const wrong = await deliver('flexprice', alert, { 'x-tollgate-webhook-secret': `${NATIVE}x` });
    expect(wrong.status).toBe(401);
    const res = await deliver('flexprice', alert, { 'x-tollgate-webhook-secret': NATIVE });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'applied', action: 'past_due', delivery_id: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(await status(org)).toBe('past_due');
    // Native deliveries have no id: the same bytes again are the same delivery.
    expect((await deliver('flexprice', alert, { 'x-tollgate-webhook-secret': NATIVE })).body.outcome).toBe('duplicate');
  });

  it('raises an alert on wallet low, records invoice finalized and unknown types, and acknowledges an unknown customer changing nothing', async () => {
    const { org, flexpriceCustomer } = await routedOrg();
    const low = JSON.stringify({
      event_type: 'wallet.credit_balance.dropped',
      wallet: { id: 'w', customer_id: flexpriceCustomer },
      alert: { state: 'in_alarm' },
    });
    const invoice = JSON.stringify({
      event_type: 'invoice.update.finalized',
      invoice: { id: uniqueId('inv'), customer_id: flexpriceCustomer },
    });
    const unknownType = JSON.stringify({ event_type: 'checkout.session.completed', checkout_session: { customer_id: flexpriceCustomer } });
    const stranger = paymentFailed(`cust_${uniqueId()}`);

    expect((await deliver('flexprice', low, svixHeaders(FP_NEW, low))).body).toMatchObject({ outcome: 'applied', action: 'alert' });
    expect((await deliver('flexprice', invoice, svixHeaders(FP_NEW, invoice))).body).toMatchObject({ outcome: 'recorded', action: 'none' });
    expect((await deliver('flexprice', unknownType, svixHeaders(FP_NEW, unknownType))).body).toMatchObject({ outcome: 'recorded' });
    const unknown = await deliver('flexprice', stranger, svixHeaders(FP_NEW, stranger));
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ outcome: 'unknown_customer', action: null });
    expect(await status(org)).toBe('active');
    const metrics = (await api.get('/metrics', { key: null })).text;
    expect(metrics).toMatch(/tollgate_vendor_alerts_total\{source="flexprice",kind="balance_low"\} [1-9]/);
  });

  it('writes a burst of deliveries together: copies racing each other claim once, an alert is raised once per delivery, a body jsonb refuses fails no other', async () => {
    const { flexpriceCustomer } = await routedOrg();
    const low = (n: number) =>
      JSON.stringify({
        event_type: 'wallet.credit_balance.dropped',
        wallet: { id: `w${n}`, customer_id: flexpriceCustomer },
        alert: { n },
      });
    const alertsRaised = async () =>
      Number(
        /tollgate_vendor_alerts_total\{source="flexprice",kind="balance_low"\} (\d+)/.exec(
          (await api.get('/metrics', { key: null })).text,
        )?.[1] ?? 0,
      );
    // Warm: the customer and the settings are cached, so the burst below reaches the receipt write together.
    expect((await deliver('flexprice', low(0), svixHeaders(FP_NEW, low(0)))).body.outcome).toBe('applied');
    const before = await alertsRaised();

    const ids = Array.from({ length: 10 }, () => `msg_${uniqueId()}`);
    const sends = ids.flatMap((id, n) => {
      const body = low(n + 1);
      const headers = svixHeaders(FP_NEW, body, { id });
      return [deliver('flexprice', body, headers), deliver('flexprice', body, headers), deliver('flexprice', body, headers)];
    });
    const answers = await Promise.all(sends);

    expect(answers.every((a) => a.status === 200)).toBe(true);
    for (const [n, id] of ids.entries()) {
      const copies = answers.slice(n * 3, n * 3 + 3).map((a) => a.body.outcome);
      expect(copies.sort()).toEqual(['applied', 'duplicate', 'duplicate']);
      const rows = await receipts('delivery_id = ?', [id]);
      expect(rows.map((r) => r.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    }
    expect(await alertsRaised()).toBe(before + ids.length);
    // One statement wrote many of them: they share its transaction's instant.
    const [{ receipts: written, instants }] = await sql(
      `select count(*)::int as receipts, count(distinct received_at)::int as instants from webhook_receipts where delivery_id in (${ids.map(() => '?').join(', ')})`,
      ids,
    );
    expect(written).toBe(30);
    expect(instants).toBeLessThan(written);

    // A body jsonb refuses is kept without its payload and fails no other receipt written with it.
    const refused = '{"event_type":"customer.updated","note":"\\ud800"}';
    const mixed = await Promise.all([
      deliver('flexprice', refused, svixHeaders(FP_NEW, refused)),
      ...[11, 12, 13].map((n) => deliver('flexprice', low(n), svixHeaders(FP_NEW, low(n)))),
    ]);
    expect(mixed.map((a) => [a.status, a.body.outcome])).toEqual([
      [200, 'recorded'],
      [200, 'applied'],
      [200, 'applied'],
      [200, 'applied'],
    ]);
    expect(await alertsRaised()).toBe(before + ids.length + 3);
  });

  it('follows the organization policy: on_payment_failed none records the delivery and leaves the status', async () => {
    const { org, flexpriceCustomer } = await routedOrg({ settings: { on_payment_failed: 'none' } });
    const body = paymentFailed(flexpriceCustomer);
    expect((await deliver('flexprice', body, svixHeaders(FP_NEW, body))).body).toMatchObject({ outcome: 'recorded', action: 'none' });
    expect(await status(org)).toBe('active');
    // Only a platform key sets what a vendor signal does (it decides what the organization may spend).
    const adminKey = (await api.createOrgKey(org, ['quota:admin'])).secret;
    const put = await api.put(`/v1/orgs/${org}/settings`, { on_payment_failed: 'past_due' }, { key: adminKey });
    expect(put.status).toBe(403);
    expect((await api.put(`/v1/orgs/${org}/settings`, { on_payment_failed: 'later' })).status).toBe(422);
  });

  describe('Metronome', () => {
    const gate = (customerId: string, paymentStatus: 'paid' | 'failed', id = uniqueId('ntf')) =>
      JSON.stringify({ id, type: 'payment_gate.payment_status', properties: { customer_id: customerId, payment_status: paymentStatus } });

    it('marks past_due on payment_status failed and active on paid, with X-Metronome-Date or the Date fallback', async () => {
      const { org, metronomeCustomer } = await routedOrg();
      const failed = gate(metronomeCustomer, 'failed');
      expect((await deliver('metronome', failed, metronomeHeaders(MN_NEW, failed))).body).toMatchObject({
        outcome: 'applied',
        action: 'past_due',
      });
      expect(await status(org)).toBe('past_due');
      const paid = gate(metronomeCustomer, 'paid');
      const res = await deliver('metronome', paid, metronomeHeaders(MN_NEW, paid, { header: 'Date' }));
      expect(res.body).toMatchObject({ outcome: 'applied', action: 'active' });
      expect(await status(org)).toBe('active');
      const audit = (await api.get(`/v1/audit-log?org_id=${org}`)).body.data.filter((e: any) => e.actor === 'webhook:metronome');
      expect(audit).toHaveLength(2);
    });

    it('refuses stale and future dates, a forged signature and a changed body; dedupes on the notification id', async () => {
      const { org, metronomeCustomer } = await routedOrg();
      const body = gate(metronomeCustomer, 'failed');
      for (const [reason, sent, headers] of [
        ['timestamp_too_old', body, metronomeHeaders(MN_NEW, body, { at: new Date(Date.now() - 301_000) })],
        ['timestamp_too_new', body, metronomeHeaders(MN_NEW, body, { at: new Date(Date.now() + 301_000) })],
        ['signature_mismatch', body, metronomeHeaders('not-the-secret-at-all', body)],
        ['signature_mismatch', body.replace('failed', 'faile '), metronomeHeaders(MN_NEW, body)],
        ['missing_signature', body, {}],
      ] as const) {
        const res = await deliver('metronome', sent, headers);
        expect({ status: res.status, reason: res.body.reason }).toEqual({ status: 401, reason });
      }
      expect(await status(org)).toBe('active');
      expect((await deliver('metronome', body, metronomeHeaders(MN_NEW, body))).body.outcome).toBe('applied');
      await api.patch(`/v1/orgs/${org}`, { status: 'active' });
      expect((await deliver('metronome', body, metronomeHeaders(MN_NEW, body))).body.outcome).toBe('duplicate');
      expect(await status(org)).toBe('active');
    });

    it('records system notifications with no properties, and a credit grant it cannot size, without granting', async () => {
      await routedOrg();
      const system = JSON.stringify({ id: uniqueId('ntf'), type: 'credit.create' });
      const res = await deliver('metronome', system, metronomeHeaders(MN_NEW, system));
      expect(res.status).toBe(200);
      expect(res.body.outcome).toBe('unknown_customer');
      const noId = JSON.stringify({ type: 'invoice.finalized', properties: {} });
      expect((await deliver('metronome', noId, metronomeHeaders(MN_NEW, noId))).body).toMatchObject({ outcome: 'ignored' });
    });
  });

  it('records a signed body Postgres cannot store as jsonb (a lone surrogate escape, U+0000) without its payload', async () => {
    for (const body of ['{"event_type":"customer.updated","note":"\\ud800"}', '{"event_type":"customer.updated","note":"\\u0000"}']) {
      const res = await deliver('flexprice', body, svixHeaders(FP_NEW, body));
      expect(res.status).toBe(200);
      expect(res.body.outcome).toBe('recorded');
      const [receipt] = await receipts('id = ?', [res.body.receipt_id]);
      expect(receipt).toMatchObject({ outcome: 'recorded', payload: null, event_type: 'customer.updated' });
    }
  });

  it('rate limits deliveries per source address with 429 and Retry-After, before any verification', async () => {
    const limited = await createTestApp({ env: { ...env, WEBHOOK_INBOUND_RATE: '3' } });
    try {
      const body = JSON.stringify({ event_type: 'customer.updated' });
      const answers = [];
      for (let i = 0; i < 5; i++)
        answers.push(await deliver('flexprice', body, svixHeaders(FP_NEW, body), { app: limited, remoteAddress: '203.0.113.9' }));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429, 429]);
      expect(answers[3].body.code).toBe('rate_limited');
      expect(Number(answers[3].headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // Another address has its own bucket.
      expect((await deliver('flexprice', body, svixHeaders(FP_NEW, body), { app: limited, remoteAddress: '203.0.113.10' })).status).toBe(
        200,
      );
    } finally {
      await limited.close();
    }
  });

  it('serves only vendor deliveries, health and metrics on an instance started with TOLLGATE_ROUTES=webhooks', async () => {
    const ingest = await createTestApp({ env: { ...env, TOLLGATE_ROUTES: 'webhooks' } });
    try {
      const { org, flexpriceCustomer } = await routedOrg();
      const body = paymentFailed(flexpriceCustomer);
      expect((await deliver('flexprice', body, svixHeaders(FP_NEW, body), { app: ingest })).body).toMatchObject({
        outcome: 'applied',
        action: 'past_due',
      });
      // The change is the same one the API instances see (same database, same bus).
      expect(await status(org)).toBe('past_due');
      expect((await ingest.client.get('/health/ready', { key: null })).status).toBe(200);
      expect((await ingest.client.get('/metrics', { key: null })).text).toMatch(/tollgate_webhooks_inbound_total/);
      for (const [method, path] of [
        ['get', `/v1/orgs/${org}`],
        ['post', '/v1/reservations'],
        ['get', '/v1/webhooks/receipts'],
      ] as const) {
        const res = await ingest.client[method](path, method === 'post' ? {} : undefined);
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('route_not_found');
      }
    } finally {
      await ingest.close();
    }
  });

  it('answers 401 webhook_not_configured (recorded) when no secret is configured for the vendor', async () => {
    const bare = await createTestApp({ env: { WEBHOOK_DISPATCH_ENABLED: 'false', BILLING_DISPATCH_ENABLED: 'false' } });
    try {
      const body = JSON.stringify({ id: uniqueId('ntf'), type: 'invoice.finalized' });
      const res = await deliver('metronome', body, metronomeHeaders(MN_NEW, body), { app: bare });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('webhook_not_configured');
    } finally {
      await bare.close();
    }
  });

  it('lists receipts: a platform key sees refused deliveries, an organization key only its own organization', async () => {
    const { org, flexpriceCustomer } = await routedOrg();
    const other = await routedOrg();
    for (const customer of [flexpriceCustomer, other.flexpriceCustomer]) {
      const body = JSON.stringify({ event_type: 'invoice.update.finalized', invoice: { id: uniqueId('inv'), customer_id: customer } });
      await deliver('flexprice', body, svixHeaders(FP_NEW, body));
    }
    await deliver('flexprice', '{}', svixHeaders(secret(), '{}'));

    const key = (await api.createOrgKey(org, ['read'])).secret;
    const own = await api.get('/v1/webhooks/receipts', { key });
    expect(own.status).toBe(200);
    expect(own.body.data.length).toBeGreaterThan(0);
    expect(own.body.data.every((r: any) => r.org_id === org && r.environment === 'live')).toBe(true);
    const sneaky = await api.get(`/v1/webhooks/receipts?org_id=${other.org}`, { key });
    expect(sneaky.body.data.every((r: any) => r.org_id === org)).toBe(true);
    const refused = await api.get('/v1/webhooks/receipts?outcome=refused&limit=5');
    expect(refused.body.data[0]).toMatchObject({ outcome: 'refused', org_id: null, payload: null });
    expect((await api.get('/v1/webhooks/receipts?outcome=maybe')).status).toBe(422);
  });
});
