import { randomUUID } from 'node:crypto';
import { BillableEvent, BillingBackend, BillingError, DeliveryItem, DeliveryOutcome, ProvisionedCustomer } from '@tollgate/billing';
import { BillingConfig } from '@tollgate/config';
import { FakeVendorServer } from '../src/fakes/fake-vendor-server';
import { eventually } from '../src/wait';

export interface BillingBackendHarness {
  fake: FakeVendorServer;
  /** A backend against the fake, with live and test credentials and a 1 s vendor timeout, changed by `overrides`. */
  backend(overrides?: Partial<BillingConfig>): BillingBackend;
  /** The config field of the test environment's key, and what it is called in the environment. */
  testKey: { field: keyof BillingConfig; variable: string };
  /** The config field of the live key (to send a wrong one). */
  liveKeyField: keyof BillingConfig;
  stop(): Promise<void>;
}

const HOUR = 3_600_000;

/**
 * The BillingBackend contract: every adapter passes it against its vendor's fake. Each test
 * uses organizations of its own, so tests share one fake without seeing each other's events.
 */
export function billingBackendContract(name: string, makeHarness: () => Promise<BillingBackendHarness>): void {
  describe(`BillingBackend contract: ${name}`, () => {
    let harness: BillingBackendHarness;
    let sut: BillingBackend;
    /** One period that holds every event a test sends. */
    let from: Date;
    let to: Date;

    beforeAll(async () => {
      harness = await makeHarness();
      sut = harness.backend();
    });
    afterAll(async () => harness?.stop());
    afterEach(() => harness.fake.clearFaults());

    beforeEach(() => {
      const now = Date.now();
      from = new Date(now - 24 * HOUR);
      to = new Date(now + HOUR);
    });

    let sequence = 0;
    function event(orgId: string, over: Partial<BillableEvent> = {}): BillableEvent {
      sequence += 1;
      return {
        id: `evt_${randomUUID().replace(/-/g, '').slice(0, 28)}`,
        kind: 'usage',
        orgId,
        environment: 'live',
        projectId: 'p1',
        userId: 'u1',
        product: 'llm.chat',
        dimension: 'output_tokens',
        dimensions: { model: 'large' },
        quantity: String(100 * sequence),
        amount: 1_000 * sequence,
        rateCardId: 'rc_1',
        rateId: 'rate_1',
        reservationId: `res_${sequence}.${orgId}`,
        provider: 'openai',
        providerRequestId: `chatcmpl-${sequence}`,
        occurredAt: new Date(Date.now() - HOUR + sequence),
        ...over,
      };
    }

    async function provisioned(
      environment: BillableEvent['environment'] = 'live',
    ): Promise<{ orgId: string; customer: ProvisionedCustomer }> {
      const orgId = `org-${randomUUID()}`;
      return { orgId, customer: await sut.provisionCustomer({ orgId, environment }) };
    }

    const items = (customer: ProvisionedCustomer, events: BillableEvent[]): DeliveryItem[] =>
      events.map((e) => ({ event: e, customer: customer.alias }));
    const statuses = (outcomes: DeliveryOutcome[]) => outcomes.map((o) => o.status);
    const sum = (events: BillableEvent[]) => events.reduce((a, e) => a + e.amount, 0);
    const kept = (customer: ProvisionedCustomer, environment: BillableEvent['environment'] = 'live') =>
      harness.fake.totals({ environment, customer: customer.alias, from, to });

    describe('provisioning', () => {
      it('creates the customer once and finds it afterwards, under the external id org@environment', async () => {
        const orgId = `org-${randomUUID()}`;

        const first = await sut.provisionCustomer({ orgId, environment: 'live', name: 'Acme' });
        const second = await sut.provisionCustomer({ orgId, environment: 'live', name: 'Acme' });
        const fresh = await harness.backend().provisionCustomer({ orgId, environment: 'live' });

        expect(first).toMatchObject({ alias: `${orgId}@live`, created: true });
        expect(second).toEqual({ ...first, created: false });
        expect(fresh).toEqual({ ...first, created: false });
        expect(harness.fake.customersNamed('live', `${orgId}@live`)).toBe(1);
      });

      it('answers one customer to racing provisionings', async () => {
        const orgId = `org-${randomUUID()}`;

        const answers = await Promise.all([1, 2, 3].map(() => harness.backend().provisionCustomer({ orgId, environment: 'live' })));

        expect(new Set(answers.map((a) => a.customerId)).size).toBe(1);
        expect(harness.fake.customersNamed('live', `${orgId}@live`)).toBe(1);
      });

      it('keeps the test environment apart: another customer, in the test account', async () => {
        const orgId = `org-${randomUUID()}`;

        const live = await sut.provisionCustomer({ orgId, environment: 'live' });
        const test = await sut.provisionCustomer({ orgId, environment: 'test' });

        expect(test.alias).toBe(`${orgId}@test`);
        expect(test.customerId).not.toBe(live.customerId);
        expect(test.created).toBe(true);
      });
    });

    describe('delivery', () => {
      it('delivers a batch: every event delivered, and the vendor counts exactly what was sent', async () => {
        const { orgId, customer } = await provisioned();
        const events = [event(orgId), event(orgId, { product: null, dimension: null, dimensions: {}, quantity: '1' }), event(orgId)];

        const outcomes = await sut.deliver(items(customer, events));

        expect(outcomes).toEqual(events.map((e) => ({ eventId: e.id, status: 'delivered' })));
        expect(kept(customer)).toEqual([
          expect.objectContaining({
            metric: 'tollgate.usage',
            events: 3,
            amountMicros: sum(events),
            quantity: String(events.reduce((a, e) => a + Number(e.quantity), 0)),
          }),
        ]);
        expect(await sut.readUsage({ environment: 'live', customer, from, to })).toEqual([
          { metric: 'tollgate.usage', events: 3, quantity: kept(customer)[0].quantity, amountMicros: sum(events) },
        ]);
      });

      it('counts events delivered twice once: the vendor dedups on Tollgate ids and fixed timestamps', async () => {
        const { orgId, customer } = await provisioned();
        const events = [event(orgId), event(orgId)];

        await sut.deliver(items(customer, events));
        const again = await harness.backend().deliver(items(customer, events));

        expect(statuses(again)).toEqual(['delivered', 'delivered']);
        expect(kept(customer)).toEqual([expect.objectContaining({ events: 2, amountMicros: sum(events) })]);
        expect((await sut.readUsage({ environment: 'live', customer, from, to }))[0]).toMatchObject({ events: 2 });
      });

      it('splits a batch above the vendor limit into calls within it, answering every event', async () => {
        const { orgId, customer } = await provisioned();
        const events = Array.from({ length: sut.maxBatchSize + 3 }, () => event(orgId, { amount: 1 }));
        const callsBefore = harness.fake.callsTo('ingest').length;

        const outcomes = await sut.deliver(items(customer, events));

        const calls = harness.fake.callsTo('ingest').slice(callsBefore);
        expect(statuses(outcomes).every((s) => s === 'delivered')).toBe(true);
        expect(outcomes.map((o) => o.eventId)).toEqual(events.map((e) => e.id));
        expect(calls.map((c) => c.events)).toEqual([sut.maxBatchSize, 3]);
        expect(kept(customer)[0]).toMatchObject({ events: events.length, amountMicros: events.length });
      });

      it.each([500, 502, 503])('answers a %i as retryable for every event of the call, and nothing is kept', async (status) => {
        const { orgId, customer } = await provisioned();
        const events = [event(orgId), event(orgId)];
        harness.fake.fail({ kind: 'status', status });

        const outcomes = await sut.deliver(items(customer, events));

        expect(outcomes).toEqual(
          events.map((e) => ({ eventId: e.id, status: 'retryable', reason: expect.stringContaining(String(status)) })),
        );
        expect(kept(customer)).toEqual([]);
        expect(statuses(await sut.deliver(items(customer, events)))).toEqual(['delivered', 'delivered']);
        expect(kept(customer)[0]).toMatchObject({ events: 2 });
      });

      it('surfaces a 429 Retry-After on every event of the call', async () => {
        const { orgId, customer } = await provisioned();
        const events = [event(orgId), event(orgId)];
        harness.fake.fail({ kind: 'status', status: 429, retryAfter: '7' });

        const outcomes = await sut.deliver(items(customer, events));

        expect(outcomes).toEqual(
          events.map((e) => ({ eventId: e.id, status: 'retryable', reason: expect.stringContaining('429'), retryAfterMs: 7_000 })),
        );
      });

      it('answers a vendor that never answers as retryable, after the configured timeout', async () => {
        const { orgId, customer } = await provisioned();
        const events = [event(orgId)];
        harness.fake.fail({ kind: 'timeout' });
        const started = Date.now();

        const outcomes = await sut.deliver(items(customer, events));

        expect(outcomes).toEqual([{ eventId: events[0].id, status: 'retryable', reason: expect.any(String) }]);
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(kept(customer)).toEqual([]);
      });

      it('waits for a slow answer within the timeout, and delivers', async () => {
        const { orgId, customer } = await provisioned();
        const events = [event(orgId)];
        harness.fake.fail({ kind: 'slow', delayMs: 200 });

        expect(statuses(await sut.deliver(items(customer, events)))).toEqual(['delivered']);
        expect(kept(customer)[0]).toMatchObject({ events: 1 });
      });

      it('answers a 2xx slower than the timeout as retryable; the vendor kept them, and the resend counts once', async () => {
        const { orgId, customer } = await provisioned();
        const events = [event(orgId), event(orgId)];
        // The harness's timeout is 1 s: the vendor answers (and keeps the events) after we gave up.
        harness.fake.fail({ kind: 'slow', delayMs: 1_500 });

        const outcomes = await sut.deliver(items(customer, events));
        await eventually(async () => expect(kept(customer)).toEqual([expect.objectContaining({ events: 2 })]), 5_000);
        const resent = await sut.deliver(items(customer, events));

        expect(statuses(outcomes)).toEqual(['retryable', 'retryable']);
        expect(statuses(resent)).toEqual(['delivered', 'delivered']);
        expect(kept(customer)).toEqual([expect.objectContaining({ events: 2, amountMicros: sum(events) })]);
      });

      it('makes only the events the vendor refuses permanent: the call is bisected, the rest delivered', async () => {
        const { orgId, customer } = await provisioned();
        const events = Array.from({ length: 7 }, () => event(orgId));
        harness.fake.fail({ kind: 'reject', eventIds: [events[2].id, events[5].id] });

        const outcomes = await sut.deliver(items(customer, events));

        expect(statuses(outcomes)).toEqual(['delivered', 'delivered', 'permanent', 'delivered', 'delivered', 'permanent', 'delivered']);
        expect(outcomes[2]).toMatchObject({ eventId: events[2].id, reason: expect.stringContaining('400') });
        const good = events.filter((_, i) => i !== 2 && i !== 5);
        expect(kept(customer)[0]).toMatchObject({ events: 5, amountMicros: sum(good) });
      });

      it('reports an accepted-then-dropped batch as delivered, and the usage read-back shows the shortfall', async () => {
        const { orgId, customer } = await provisioned();
        const first = [event(orgId), event(orgId)];
        const dropped = [event(orgId), event(orgId)];
        await sut.deliver(items(customer, first));
        harness.fake.fail({ kind: 'drop' });

        const outcomes = await sut.deliver(items(customer, dropped));

        expect(statuses(outcomes)).toEqual(['delivered', 'delivered']);
        expect(await sut.readUsage({ environment: 'live', customer, from, to })).toEqual([
          expect.objectContaining({ metric: 'tollgate.usage', events: 2, amountMicros: sum(first) }),
        ]);
        // Resending the dropped events (same ids) is the repair: they count once now.
        await sut.deliver(items(customer, dropped));
        expect((await sut.readUsage({ environment: 'live', customer, from, to }))[0]).toMatchObject({
          events: 4,
          amountMicros: sum([...first, ...dropped]),
        });
      });

      it('sends a negative correction as its own tollgate.correction event, signed, next to the usage it corrects', async () => {
        const { orgId, customer } = await provisioned();
        const usage = event(orgId, { quantity: '10', amount: 5_000 });
        const correction = event(orgId, { kind: 'correction', quantity: '-4', amount: -2_000, corrects: usage.id });

        const outcomes = await sut.deliver(items(customer, [usage, correction]));

        expect(statuses(outcomes)).toEqual(['delivered', 'delivered']);
        expect(await sut.readUsage({ environment: 'live', customer, from, to })).toEqual([
          { metric: 'tollgate.usage', events: 1, quantity: '10', amountMicros: 5_000 },
          { metric: 'tollgate.correction', events: 1, quantity: '-4', amountMicros: -2_000 },
        ]);
        const correctionEvent = harness.fake.kept.find((k) => k.id === correction.id);
        expect(correctionEvent?.properties).toMatchObject({ amount_micros: '-2000', quantity: '-4', corrects: usage.id });
      });
    });

    describe('credentials per environment', () => {
      it('sends a test-environment event with the test key, to the test account only', async () => {
        const { orgId, customer } = await provisioned('test');
        const testEvent = event(orgId, { environment: 'test' });
        const callsBefore = harness.fake.callsTo('ingest').length;

        const outcomes = await sut.deliver(items(customer, [testEvent]));

        expect(statuses(outcomes)).toEqual(['delivered']);
        expect(
          harness.fake
            .callsTo('ingest')
            .slice(callsBefore)
            .map((c) => c.environment),
        ).toEqual(['test']);
        expect(kept(customer, 'test')[0]).toMatchObject({ events: 1 });
        expect(kept(customer, 'live')).toEqual([]);
      });

      it('splits a mixed batch by environment and answers in the order given', async () => {
        const live = await provisioned('live');
        const test = await provisioned('test');
        const events: DeliveryItem[] = [
          { event: event(live.orgId), customer: live.customer.alias },
          { event: event(test.orgId, { environment: 'test' }), customer: test.customer.alias },
          { event: event(live.orgId), customer: live.customer.alias },
        ];

        const outcomes = await sut.deliver(events);

        expect(outcomes.map((o) => o.eventId)).toEqual(events.map((i) => i.event.id));
        expect(kept(live.customer, 'live')[0]).toMatchObject({ events: 2 });
        expect(kept(test.customer, 'test')[0]).toMatchObject({ events: 1 });
      });

      it('is not configured for an environment without its key: it says which variable, sends nothing, provisions nothing', async () => {
        const backend = harness.backend({ [harness.testKey.field]: undefined });
        const orgId = `org-${randomUUID()}`;
        const callsBefore = harness.fake.calls.length;

        expect(backend.missingConfiguration('live')).toEqual([]);
        expect(backend.missingConfiguration('test')).toEqual([harness.testKey.variable]);
        await expect(backend.provisionCustomer({ orgId, environment: 'test' })).rejects.toMatchObject({
          code: 'billing_backend_not_configured',
          extensions: { missing: [harness.testKey.variable] },
        });
        const outcomes = await backend.deliver([{ event: event(orgId, { environment: 'test' }), customer: `${orgId}@test` }]);
        expect(outcomes).toEqual([
          expect.objectContaining({ status: 'permanent', reason: expect.stringContaining(harness.testKey.variable) }),
        ]);
        expect(harness.fake.calls.length).toBe(callsBefore);
      });

      it('answers a refused key as retryable (an operator fixes credentials; the events are fine) and fails provisioning', async () => {
        const { orgId, customer } = await provisioned();
        const backend = harness.backend({ [harness.liveKeyField]: 'wrong_key_123' });

        const outcomes = await backend.deliver(items(customer, [event(orgId)]));

        expect(outcomes).toEqual([expect.objectContaining({ status: 'retryable', reason: expect.stringContaining('401') })]);
        const failure = await backend.provisionCustomer({ orgId: `org-${randomUUID()}`, environment: 'live' }).catch((e: unknown) => e);
        expect(failure).toBeInstanceOf(BillingError);
        expect(failure).toMatchObject({ code: 'billing_vendor_error', extensions: { vendor_status: 401 } });
      });
    });
  });
}
