import { decide, parseRetryAfter, retryDelayMs, statusError } from './delivery-policy';

describe('retryDelayMs', () => {
  it('doubles the ceiling per attempt from the base up to the maximum (full jitter)', () => {
    const top = () => 0.999999;
    expect(retryDelayMs(1, 1000, 60_000, undefined, top)).toBe(999);
    expect(retryDelayMs(2, 1000, 60_000, undefined, top)).toBe(1999);
    expect(retryDelayMs(3, 1000, 60_000, undefined, top)).toBe(3999);
    expect(retryDelayMs(10, 1000, 60_000, undefined, top)).toBe(59_999);
    expect(retryDelayMs(80, 1000, 60_000, undefined, top)).toBe(59_999);
  });

  it('never goes under half the base, and spreads retries over the window', () => {
    expect(retryDelayMs(5, 1000, 60_000, undefined, () => 0)).toBe(500);
    const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(6, 1000, 60_000)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d).toBeLessThanOrEqual(32_000);
  });

  it('is never sooner than Retry-After', () => {
    expect(retryDelayMs(1, 1000, 60_000, 30_000, () => 0.5)).toBe(30_000);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 07 Dec 2026 12:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Mon, 07 Dec 2026 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read and caps at a day', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('9999999', now)).toBe(86_400_000);
  });
});

describe('statusError', () => {
  it('takes 2xx only; a redirect is a failure, not followed', () => {
    expect(statusError(200)).toBeNull();
    expect(statusError(204)).toBeNull();
    expect(statusError(301)).toContain('redirects are not followed');
    expect(statusError(500)).toBe('HTTP 500');
  });
});

describe('decide', () => {
  const policy = { maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 1000 };
  it('delivered on success, failed with a delay before the last attempt, dead after it', () => {
    expect(decide({ statusCode: 200, error: null, durationMs: 5 }, 1, policy)).toEqual({ status: 'delivered' });
    const failed = decide({ statusCode: 500, error: 'HTTP 500', durationMs: 5 }, 2, policy, () => 0.5);
    expect(failed).toEqual({ status: 'failed', nextAttemptInMs: 100, error: 'HTTP 500' });
    expect(decide({ statusCode: null, error: 'timeout', durationMs: 5 }, 3, policy)).toEqual({
      status: 'dead',
      error: 'timeout (after 3 attempts)',
    });
  });
  it('waits as long as the receiver asked', () => {
    const failed = decide({ statusCode: 429, error: 'HTTP 429', retryAfterMs: 5000, durationMs: 1 }, 1, policy);
    expect(failed).toMatchObject({ status: 'failed', nextAttemptInMs: 5000 });
  });
});
