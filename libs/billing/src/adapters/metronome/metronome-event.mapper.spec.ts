import { BillableEvent } from '../../domain/billable-event';
import { metronomeTimestampProblem, toMetronomeEvent } from './metronome-event.mapper';

const AT = new Date('2026-12-10T10:00:00.000Z');
const DAY = 86_400_000;

const event: BillableEvent = {
  id: 'evt_3xP',
  kind: 'usage',
  orgId: 'acme',
  environment: 'live',
  projectId: 'p',
  userId: 'u',
  product: 'video.generate',
  dimension: 'video_seconds',
  dimensions: { resolution: '1080p', fps: '30' },
  quantity: '8',
  amount: 2_400_000,
  rateCardId: 'rc_1',
  rateId: 'rate_1',
  reservationId: 'res_1.acme',
  provider: null,
  providerRequestId: null,
  occurredAt: AT,
};

describe('toMetronomeEvent', () => {
  it('maps an event per docs/usage-events.md: transaction_id = Tollgate id, customer_id = ingest alias, string properties', () => {
    expect(toMetronomeEvent({ event, customer: 'acme@live' })).toEqual({
      transaction_id: 'evt_3xP',
      customer_id: 'acme@live',
      event_type: 'tollgate.usage',
      timestamp: '2026-12-10T10:00:00.000Z',
      properties: {
        product: 'video.generate',
        dimension: 'video_seconds',
        quantity: '8',
        amount_micros: '2400000',
        project_id: 'p',
        user_id: 'u',
        dim_fps: '30',
        dim_resolution: '1080p',
        rate_card_id: 'rc_1',
        rate_id: 'rate_1',
        reservation_id: 'res_1.acme',
      },
    });
  });

  it('maps a negative correction to tollgate.correction, signed, naming what it corrects', () => {
    const sut = toMetronomeEvent({
      event: { ...event, id: 'evt_c', kind: 'correction', quantity: '-2', amount: -600_000, corrects: 'evt_3xP' },
      customer: 'acme@live',
    });

    expect(sut).toMatchObject({ transaction_id: 'evt_c', event_type: 'tollgate.correction' });
    expect(sut.properties).toMatchObject({ quantity: '-2', amount_micros: '-600000', corrects: 'evt_3xP' });
  });
});

describe('metronomeTimestampProblem', () => {
  it('accepts 34 days back and 24 hours ahead, and refuses beyond either', () => {
    expect(metronomeTimestampProblem(new Date(AT.getTime() - 34 * DAY), AT)).toBeNull();
    expect(metronomeTimestampProblem(new Date(AT.getTime() + DAY), AT)).toBeNull();
    expect(metronomeTimestampProblem(new Date(AT.getTime() - 34 * DAY - 1), AT)).toMatch(/34 days/);
    expect(metronomeTimestampProblem(new Date(AT.getTime() + DAY + 1), AT)).toMatch(/24 hours/);
  });
});
