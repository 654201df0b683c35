import { nextPeriodStart, retryDelayMs, routeProblems } from './routing';
import { compareBackend, monthlyPeriods } from './shadow-report';

describe('billing routing rules', () => {
  const known = ['flexprice', 'metronome'];

  it('accepts the four migration phases and none', () => {
    for (const [backend, shadow] of [
      ['flexprice', null],
      ['flexprice', 'metronome'],
      ['metronome', 'flexprice'],
      ['metronome', null],
      ['none', null],
    ] as const) {
      expect(routeProblems(backend, shadow, known)).toEqual([]);
    }
  });

  it('refuses an unknown backend, a shadow equal to the backend, and a shadow of none', () => {
    expect(routeProblems('stripe', null, known)).toEqual([{ field: 'backend', message: 'must be one of none, flexprice, metronome' }]);
    expect(routeProblems('flexprice', 'flexprice', known)).toEqual([{ field: 'shadow', message: 'must differ from backend' }]);
    expect(routeProblems('none', 'metronome', known)).toEqual([{ field: 'shadow', message: 'backend none has no shadow' }]);
    expect(routeProblems('flexprice', 'none', known)).toEqual([
      { field: 'shadow', message: 'must be one of flexprice, metronome or null' },
    ]);
  });

  it('starts the next billing period on the first of the next UTC month (December rolls over the year)', () => {
    expect(nextPeriodStart(new Date('2026-12-05T19:00:00Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(nextPeriodStart(new Date('2026-02-28T23:59:59Z')).toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });

  it('backs off exponentially with jitter, capped, and never retries before Retry-After', () => {
    expect(retryDelayMs(1, 1_000, 300_000, undefined, () => 0.999)).toBe(999);
    expect(retryDelayMs(4, 1_000, 300_000, undefined, () => 0.999)).toBe(7_992);
    expect(retryDelayMs(40, 1_000, 300_000, undefined, () => 0.999)).toBe(299_700);
    // Full jitter, with a floor of half the base so a retry storm never spins.
    expect(retryDelayMs(3, 1_000, 300_000, undefined, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1_000, 300_000, 30_000, () => 0.5)).toBe(30_000);
  });
});

describe('shadow report comparison', () => {
  const sent = { events: 10, quantity: '100.5', amount: 2_000 };

  it('agrees when the backend holds what it was sent (quantities compared as decimals)', () => {
    expect(
      compareBackend('2026-12', 'tollgate.usage', {
        backend: 'metronome',
        roles: ['shadow'],
        sent,
        undelivered: 0,
        reported: { ...sent, quantity: '100.50' },
      }),
    ).toEqual([]);
  });

  it('names duplicated, missing, different quantity and amount, undelivered and unreadable', () => {
    const f = { backend: 'flexprice', roles: ['primary'], sent, undelivered: 0 };
    expect(compareBackend('2026-12', 'm', { ...f, reported: { events: 11, quantity: '100.5', amount: 2_000 } }).map((d) => d.kind)).toEqual(
      ['duplicated'],
    );
    expect(compareBackend('2026-12', 'm', { ...f, reported: { events: 9, quantity: '90', amount: 1_800 } }).map((d) => d.kind)).toEqual([
      'missing',
      'different_quantity',
      'different_amount',
    ]);
    expect(compareBackend('2026-12', 'm', { ...f, undelivered: 2, reported: null, error: 'down' }).map((d) => d.kind)).toEqual([
      'not_delivered',
      'unreadable',
    ]);
  });

  it('splits a window into UTC months clipped to it', () => {
    expect(
      monthlyPeriods(new Date('2026-11-20T00:00:00Z'), new Date('2027-01-02T00:00:00Z')).map((p) => [
        p.period,
        p.from.toISOString(),
        p.to.toISOString(),
      ]),
    ).toEqual([
      ['2026-11', '2026-11-20T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
      ['2026-12', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
      ['2027-01', '2027-01-01T00:00:00.000Z', '2027-01-02T00:00:00.000Z'],
    ]);
  });
});
