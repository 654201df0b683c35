import { parseRetryAfter, verdictOfStatus } from './vendor-failure';

const NOW = new Date('2026-12-10T10:00:00.000Z');
const headers = (values: Record<string, string>) => (name: string) => values[name];

describe('parseRetryAfter', () => {
  it('reads delay-seconds, an HTTP-date, and retry-after-ms (which wins)', () => {
    expect(parseRetryAfter(headers({ 'retry-after': '7' }), NOW)).toBe(7_000);
    expect(parseRetryAfter(headers({ 'retry-after': 'Thu, 10 Dec 2026 10:00:30 GMT' }), NOW)).toBe(30_000);
    expect(parseRetryAfter(headers({ 'retry-after': '7', 'retry-after-ms': '1500' }), NOW)).toBe(1_500);
  });

  it('answers undefined when absent or unreadable, 0 for a date already past, and caps at a day', () => {
    expect(parseRetryAfter(headers({}), NOW)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after': 'Thu, 10 Dec 2026 09:00:00 GMT' }), NOW)).toBe(0);
    expect(parseRetryAfter(headers({ 'retry-after': '999999999' }), NOW)).toBe(86_400_000);
  });
});

describe('verdictOfStatus', () => {
  it.each([401, 403, 408, 409, 425, 429, 500, 502, 503, 504])('%i is retryable', (status) => {
    expect(verdictOfStatus(status, 'r', undefined)).toEqual({ kind: 'retryable', reason: 'r' });
  });

  it.each([400, 404, 413, 422])('%i refuses the content', (status) => {
    expect(verdictOfStatus(status, 'r', 5)).toEqual({ kind: 'rejected', reason: 'r' });
  });

  it('carries the Retry-After of a retryable answer', () => {
    expect(verdictOfStatus(429, 'r', 7_000)).toEqual({ kind: 'retryable', reason: 'r', retryAfterMs: 7_000 });
  });
});
