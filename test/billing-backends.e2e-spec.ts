import { BillableEvent, BillingBackends, DeliveryItem } from '@tollgate/billing';
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

/**
 * The billing backends inside the real application: wired from typed configuration, live
 * configured and test not, and a real commit's usage events delivered to both fakes, whose
 * totals equal what the commit charged. (The adapters' behaviour is the contract suite's:
 * libs/testing/contracts/billing-backend.contract.ts.)
 */
const CARD = {
  name: 'Billing backends',
  rates: [
    { product: 'llm.chat', dimension: 'input_tokens', model: 'flat', unit_price: '0.00001' },
    { product: 'llm.chat', dimension: 'output_tokens', model: 'flat', unit_price: '0.00003' },
  ],
};

/** The API's usage event (snake_case) as billing's BillableEvent: what the dispatcher will read. */
function billable(e: Record<string, any>): BillableEvent {
  return {
    id: e.id,
    kind: e.kind,
    orgId: e.org_id,
    environment: e.environment,
    projectId: e.project_id,
    userId: e.user_id,
    product: e.product,
    dimension: e.dimension,
    dimensions: e.dimensions,
    quantity: e.quantity,
    amount: e.amount,
    rateCardId: e.rate_card_id,
    rateId: e.rate_id,
    reservationId: e.reservation_id,
    provider: e.provider,
    providerRequestId: e.provider_request_id,
    occurredAt: new Date(e.occurred_at),
  };
}

describe.each([
  { name: 'Postgres + Redis', embedded: false },
  { name: 'embedded', embedded: true },
])('billing backends in the application ($name)', ({ embedded }) => {
  const flexprice = new FakeFlexprice();
  const metronome = new FakeMetronome();
  const logLines: string[] = [];
  let t: TestApp;
  let api: TestClient;
  let backends: BillingBackends;

  beforeAll(async () => {
    const [fpUrl, mnUrl] = await Promise.all([flexprice.start(), metronome.start()]);
    t = await createTestApp({
      embedded,
      logLines,
      env: {
        LOG_LEVEL: 'debug',
        FLEXPRICE_BASE_URL: `${fpUrl}/v1`,
        FLEXPRICE_API_KEY: FAKE_FLEXPRICE_KEYS.live,
        METRONOME_BASE_URL: mnUrl,
        METRONOME_BEARER_TOKEN: FAKE_METRONOME_TOKENS.live,
      },
    });
    api = t.client;
    backends = t.app.get(BillingBackends);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await Promise.all([flexprice.stop(), metronome.stop()]);
  });

  it('loads both backends from configuration: live configured, test missing its own keys', () => {
    expect(backends.configuration('live')).toEqual([
      { name: 'flexprice', configured: true, missing: [] },
      { name: 'metronome', configured: true, missing: [] },
    ]);
    expect(backends.configuration('test')).toEqual([
      { name: 'flexprice', configured: false, missing: ['FLEXPRICE_API_KEY_TEST'] },
      { name: 'metronome', configured: false, missing: ['METRONOME_BEARER_TOKEN_TEST'] },
    ]);
    expect(() => backends.requireConfigured('metronome', 'test')).toThrow(
      expect.objectContaining({ code: 'billing_backend_not_configured' }),
    );
  });

  it("delivers a real commit's usage events to both vendors, whose totals equal what the commit charged", async () => {
    const card = await api.post('/v1/rate-cards', CARD);
    const org = await api.createOrg(uniqueId('bb'), { rate_card_id: card.body.id, overage_policy: 'allow' });
    await api.post(`/v1/orgs/${org}/credits`, { amount: 100_000_000, reason: 'top-up' });
    const held = await api.post(
      '/v1/reservations',
      { org_id: org, project_id: 'p', user_id: 'u', product: 'llm.chat', usage: { input_tokens: 2_000, output_tokens: 1_000 } },
      { idempotencyKey: uniqueId('k') },
    );
    const committed = await api.post(
      `/v1/reservations/${held.body.id}/commit`,
      { usage: { input_tokens: 1_500, output_tokens: 1_234 } },
      { idempotencyKey: uniqueId('c') },
    );
    expect(committed.status).toBe(200);
    const listed = await api.get(`/v1/orgs/${org}/usage-events`);
    const events = (listed.body.data as Record<string, any>[]).map(billable);
    expect(events).toHaveLength(2);
    const from = new Date(Date.now() - 3_600_000);
    const to = new Date(Date.now() + 3_600_000);

    for (const [name, fake] of [
      ['flexprice', flexprice],
      ['metronome', metronome],
    ] as const) {
      const backend = backends.requireConfigured(name, 'live');
      const customer = await backend.provisionCustomer({ orgId: org, environment: 'live' });
      const items: DeliveryItem[] = events.map((event) => ({ event, customer: customer.alias }));

      const outcomes = await backend.deliver(items);

      expect(outcomes.map((o) => o.status)).toEqual(['delivered', 'delivered']);
      expect(fake.totals({ customer: customer.alias, from, to })).toEqual([
        expect.objectContaining({ metric: 'tollgate.usage', events: 2, amountMicros: committed.body.amount_committed, quantity: '2734' }),
      ]);
      expect(await backend.readUsage({ environment: 'live', customer, from, to })).toEqual([
        { metric: 'tollgate.usage', events: 2, quantity: '2734', amountMicros: committed.body.amount_committed },
      ]);
    }
  });

  it('never writes a vendor key to the log', () => {
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of [FAKE_FLEXPRICE_KEYS.live, FAKE_METRONOME_TOKENS.live]) {
      expect(logLines.filter((line) => line.includes(secret))).toEqual([]);
    }
  });
});
