/**
 * How a failed vendor call maps onto delivery outcomes. Vendors differ in SDKs, not in HTTP:
 * both adapters reduce a failure to a status (or none: timeout, connection) and headers.
 */
export type CallVerdict =
  | { kind: 'accepted' }
  | { kind: 'retryable'; reason: string; retryAfterMs?: number }
  /** The vendor refused the request's content: the whole call, so perhaps one bad event in it. */
  | { kind: 'rejected'; reason: string };

/** Longest wait honored from a Retry-After (a vendor asking for a day is treated as a day, not more). */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** `Retry-After` (delay-seconds or HTTP-date) or `retry-after-ms`, in milliseconds; undefined if absent or unreadable. */
export function parseRetryAfter(header: (name: string) => string | null | undefined, now: Date): number | undefined {
  const ms = header('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.min(Math.ceil(Number(ms)), MAX_RETRY_AFTER_MS);
  const value = header('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now.getTime()), MAX_RETRY_AFTER_MS);
}

/**
 * The verdict on an HTTP failure status. Retryable: 408, 409 (a concurrent-request conflict,
 * the events are fine), 425, 429, every 5xx, and 401/403: bad credentials are an operator's
 * fix, never the events' fault, so they must not dead-letter valid usage (the dispatcher's
 * circuit breaker and attempt limit bound them). Any other 4xx refuses the content.
 */
export function verdictOfStatus(status: number, reason: string, retryAfterMs: number | undefined): CallVerdict {
  const retryable =
    status === 401 || status === 403 || status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
  if (retryable) return retryAfterMs === undefined ? { kind: 'retryable', reason } : { kind: 'retryable', reason, retryAfterMs };
  return { kind: 'rejected', reason };
}
