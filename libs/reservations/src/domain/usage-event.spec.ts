import { allocate, ledgerEntryId, usageEventId, usageEventsOf } from './usage-event';

describe('usage events', () => {
  const commit = {
    reservationId: 'res_abc.acme',
    orgId: 'acme',
    environment: 'live' as const,
    projectId: 'p',
    userId: 'u',
    charged: 52_020,
    estimate: 50_000,
    provider: { name: 'openai', requestId: 'r-1' },
    occurredAt: new Date('2026-12-10T10:00:00Z'),
    priced: {
      product: 'llm.chat',
      dimensions: { model: 'large' },
      usage: { input_tokens: 1500, output_tokens: '1234.50' },
      rateCardId: 'rc_1',
      lines: [
        { dimension: 'input_tokens', amount: 15_000 },
        { dimension: 'output_tokens', amount: 30_000 },
        { dimension: 'output_tokens', amount: 7_020 }, // a second tier of the same dimension
      ],
      estimateLines: [
        { dimension: 'input_tokens', amount: 20_000 },
        { dimension: 'output_tokens', amount: 30_000 },
      ],
      rateIds: { input_tokens: 'rate_in', output_tokens: 'rate_out' },
    },
  };

  it('derives ids from the reservation and the line only', () => {
    expect(usageEventId('res_a', 'x')).toBe(usageEventId('res_a', 'x'));
    expect(usageEventId('res_a', 'x')).not.toBe(usageEventId('res_a', 'y'));
    expect(usageEventId('res_a', null)).not.toBe(usageEventId('res_b', null));
    expect(usageEventId('res_a', 'x')).toMatch(/^evt_[A-Za-z0-9_-]{32}$/);
    expect(ledgerEntryId('res_a')).toMatch(/^use_/);
    expect(usageEventsOf(commit).map((e) => e.id)).toEqual(usageEventsOf({ ...commit, occurredAt: new Date() }).map((e) => e.id));
  });

  it('makes one event per dimension, tiers summed, with variance per line', () => {
    const sut = usageEventsOf(commit);
    expect(sut.map((e) => [e.line, e.dimension, e.quantity, e.amount, e.estimate, e.actual, e.variance, e.rateId])).toEqual([
      [0, 'input_tokens', '1500', 15_000, 20_000, 15_000, -5_000, 'rate_in'],
      [1, 'output_tokens', '1234.5', 37_020, 30_000, 37_020, 7_020, 'rate_out'],
    ]);
    expect(sut[0]).toMatchObject({ provider: 'openai', providerRequestId: 'r-1', product: 'llm.chat', dimensions: { model: 'large' } });
  });

  it('makes one event for a raw amount', () => {
    expect(usageEventsOf({ ...commit, charged: 400, estimate: 900, priced: null })).toEqual([
      expect.objectContaining({ line: 0, product: null, dimension: null, quantity: '1', amount: 400, variance: -500 }),
    ]);
  });

  it('allocates a capped charge over the lines in integers that sum exactly', () => {
    expect(allocate([33_330, 33_330], 40_000)).toEqual([20_000, 20_000]);
    expect(allocate([1, 1, 1], 2)).toEqual([1, 1, 0]);
    expect(allocate([5, 0], 3)).toEqual([3, 0]);
    expect(allocate([0, 0], 0)).toEqual([0, 0]);
    for (const [lines, total] of [
      [[7, 13, 29], 31],
      [[Number.MAX_SAFE_INTEGER - 10, 10], 1_000_001],
    ] as [number[], number][]) {
      const shares = allocate(lines, total);
      expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
      shares.forEach((s, i) => expect(s).toBeLessThanOrEqual(lines[i]));
    }
  });
});
