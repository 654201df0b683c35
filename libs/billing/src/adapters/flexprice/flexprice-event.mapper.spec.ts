import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// A spec may reach into another module's domain: it checks that a UsageEvent as the commit
// writes it is a BillableEvent as it stands (billing's production code never imports it).
import { usageEventsOf } from '../../../../reservations/src/domain/usage-event';
import { BillableEvent } from '../../domain/billable-event';
import { toFlexpriceEvent } from './flexprice-event.mapper';

const AT = new Date('2026-12-10T10:00:00.000Z');

function committed(): BillableEvent[] {
  return usageEventsOf({
    reservationId: 'res_abc.acme',
    orgId: 'acme',
    environment: 'live',
    projectId: 'p',
    userId: 'u',
    charged: 37_020,
    estimate: 40_000,
    provider: { name: 'openai', requestId: 'chatcmpl-1' },
    occurredAt: AT,
    priced: {
      product: 'llm.chat',
      dimensions: { model: 'large' },
      usage: { output_tokens: 1234, input_tokens: '10.5' },
      rateCardId: 'rc_1',
      lines: [
        { dimension: 'output_tokens', amount: 37_000 },
        { dimension: 'input_tokens', amount: 20 },
      ],
      estimateLines: [{ dimension: 'output_tokens', amount: 40_000 }],
      rateIds: { output_tokens: 'rate_out', input_tokens: 'rate_in' },
    },
  });
}

/** The SDK's camelCase → the wire's snake_case (what the SDK sends). */
function onTheWire(event: ReturnType<typeof toFlexpriceEvent>): Record<string, unknown> {
  return {
    event_name: event.eventName,
    external_customer_id: event.externalCustomerId,
    event_id: event.eventId,
    timestamp: event.timestamp,
    source: event.source,
    properties: event.properties,
  };
}

describe('toFlexpriceEvent', () => {
  it('maps a committed line per docs/usage-events.md: Tollgate id and occurred_at fixed, every property a string', () => {
    const [sut] = committed();

    expect(toFlexpriceEvent({ event: sut, customer: 'acme@live' })).toEqual({
      eventName: 'tollgate.usage',
      externalCustomerId: 'acme@live',
      eventId: sut.id,
      timestamp: '2026-12-10T10:00:00.000Z',
      source: 'tollgate',
      properties: {
        product: 'llm.chat',
        dimension: 'output_tokens',
        quantity: '1234',
        amount_micros: '37000',
        project_id: 'p',
        user_id: 'u',
        dim_model: 'large',
        rate_card_id: 'rc_1',
        rate_id: 'rate_out',
        reservation_id: 'res_abc.acme',
        provider: 'openai',
        provider_request_id: 'chatcmpl-1',
      },
    });
  });

  it('maps the same event to the same body every time (a retry is the same event to Flexprice)', () => {
    const [first] = committed();
    const [again] = committed();

    expect(toFlexpriceEvent({ event: again, customer: 'acme@live' })).toEqual(toFlexpriceEvent({ event: first, customer: 'acme@live' }));
  });

  it('maps a raw amount to product tollgate.raw, dimension amount, and leaves out what it has none of', () => {
    const [raw] = usageEventsOf({
      reservationId: 'res_raw.acme',
      orgId: 'acme',
      environment: 'test',
      projectId: 'p',
      userId: 'u',
      charged: 2_500_000,
      estimate: 2_500_000,
      provider: null,
      occurredAt: AT,
      priced: null,
    });

    expect(toFlexpriceEvent({ event: raw, customer: 'acme@test' }).properties).toEqual({
      product: 'tollgate.raw',
      dimension: 'amount',
      quantity: '1',
      amount_micros: '2500000',
      project_id: 'p',
      user_id: 'u',
      reservation_id: 'res_raw.acme',
    });
  });

  it('maps a negative correction to tollgate.correction with a signed amount and the event it corrects', () => {
    const [original] = committed();
    const correction: BillableEvent = {
      ...original,
      id: 'evt_corr',
      kind: 'correction',
      quantity: '-34',
      amount: -1_020,
      corrects: original.id,
    };

    const sut = toFlexpriceEvent({ event: correction, customer: 'acme@live' });

    expect(sut).toMatchObject({ eventName: 'tollgate.correction', eventId: 'evt_corr' });
    expect(sut.properties).toMatchObject({ quantity: '-34', amount_micros: '-1020', corrects: original.id });
  });

  it('produces bodies the Flexprice OpenAPI document accepts (BulkIngestEventRequest)', () => {
    const spec = JSON.parse(readFileSync(join(__dirname, '../../../../testing/src/fakes/specs/flexprice-openapi.json'), 'utf8')) as {
      components: unknown;
    };
    const ajv = new Ajv({ strict: false });
    ajv.addSchema({ $id: 'fp', components: spec.components });
    const validate = ajv.compile({ $ref: 'fp#/components/schemas/BulkIngestEventRequest' });

    const body = { events: committed().map((event) => onTheWire(toFlexpriceEvent({ event, customer: 'acme@live' }))) };

    expect(validate(body)).toBe(true);
    expect(validate({ events: [{ ...body.events[0], properties: { quantity: 1234 } }] })).toBe(false);
  });
});
