import { BillableEvent } from './billable-event';
import { deliverInCalls, perEnvironment } from './batching';
import { DeliveryItem } from './delivery';
import { CallVerdict } from './vendor-failure';

function items(n: number, environment: BillableEvent['environment'] = 'live'): DeliveryItem[] {
  return Array.from({ length: n }, (_, i) => ({
    customer: 'acme@live',
    event: { id: `e${i}`, environment } as BillableEvent,
  }));
}

describe('deliverInCalls', () => {
  it('sends calls of at most the limit, in order, one outcome per item', async () => {
    const calls: number[] = [];

    const sut = await deliverInCalls(items(7), 3, async (chunk) => {
      calls.push(chunk.length);
      return { kind: 'accepted' };
    });

    expect(calls).toEqual([3, 3, 1]);
    expect(sut.map((o) => o.eventId)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    expect(sut.every((o) => o.status === 'delivered')).toBe(true);
  });

  it('bisects a refused call down to the bad events, and costs few extra calls', async () => {
    let calls = 0;
    const bad = new Set(['e5']);

    const sut = await deliverInCalls(items(16), 16, async (chunk): Promise<CallVerdict> => {
      calls += 1;
      return chunk.some((i) => bad.has(i.event.id)) ? { kind: 'rejected', reason: '400 bad' } : { kind: 'accepted' };
    });

    expect(sut.filter((o) => o.status === 'permanent')).toEqual([{ eventId: 'e5', status: 'permanent', reason: '400 bad' }]);
    expect(sut.filter((o) => o.status === 'delivered')).toHaveLength(15);
    // 1 + 2 per level of a 16-event halving (4 levels).
    expect(calls).toBe(9);
  });

  it('answers a retryable call for each of its events, with the Retry-After, and goes on with the next call', async () => {
    let call = 0;

    const sut = await deliverInCalls(items(4), 2, async (): Promise<CallVerdict> => {
      call += 1;
      return call === 1 ? { kind: 'retryable', reason: '429', retryAfterMs: 1_000 } : { kind: 'accepted' };
    });

    expect(sut).toEqual([
      { eventId: 'e0', status: 'retryable', reason: '429', retryAfterMs: 1_000 },
      { eventId: 'e1', status: 'retryable', reason: '429', retryAfterMs: 1_000 },
      { eventId: 'e2', status: 'delivered' },
      { eventId: 'e3', status: 'delivered' },
    ]);
  });
});

describe('perEnvironment', () => {
  it('delivers each environment apart and answers in the order given', async () => {
    const mixed = [
      ...items(1, 'live'),
      ...items(1, 'test').map((i) => ({ ...i, event: { ...i.event, id: 't0' } })),
      ...items(2, 'live').slice(1),
    ];
    const seen: string[] = [];

    const sut = await perEnvironment(mixed, async (environment, group) => {
      seen.push(`${environment}:${group.map((i) => i.event.id).join(',')}`);
      return group.map((i) => ({ eventId: i.event.id, status: 'delivered' as const }));
    });

    expect(seen).toEqual(['live:e0,e1', 'test:t0']);
    expect(sut.map((o) => o.eventId)).toEqual(['e0', 't0', 'e1']);
  });
});
