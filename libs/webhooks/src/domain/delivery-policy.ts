/** What one HTTP attempt answered, as the dispatcher records it. */
export interface AttemptOutcome {
  /** The HTTP status, null when there was no answer (refused address, connection error, timeout). */
  statusCode: number | null;
  /** Why it failed; null when delivered. */
  error: string | null;
  /** The receiver's Retry-After (429, 503), in milliseconds. */
  retryAfterMs?: number;
  durationMs: number;
}

export type DeliveryDecision =
  { status: 'delivered' } | { status: 'failed'; nextAttemptInMs: number; error: string } | { status: 'dead'; error: string };

/**
 * Delay before the next attempt after `attempts` failed ones: full jitter over a ceiling that
 * doubles from `baseMs` per attempt up to `maxMs` (never under half the base, so a retry is
 * not immediate), and never sooner than the receiver's Retry-After.
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, retryAfterMs?: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  const backoff = Math.max(Math.floor(baseMs / 2), Math.floor(random() * ceiling));
  return Math.max(backoff, retryAfterMs ?? 0);
}

/** A day at most: a receiver cannot park its deliveries for longer by one header. */
const MAX_RETRY_AFTER_MS = 86_400_000;

/** `Retry-After` as delta-seconds or an HTTP date, in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(MAX_RETRY_AFTER_MS, Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}

/** Why a status is not a delivery: anything but 2xx fails, a redirect included (never followed). */
export function statusError(statusCode: number): string | null {
  if (statusCode >= 200 && statusCode < 300) return null;
  if (statusCode >= 300 && statusCode < 400) return `HTTP ${statusCode}: redirects are not followed`;
  return `HTTP ${statusCode}`;
}

export interface RetryPolicy {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/** What becomes of a delivery after its `attempts`-th attempt (counted, this one included). */
export function decide(outcome: AttemptOutcome, attempts: number, policy: RetryPolicy, random = Math.random): DeliveryDecision {
  if (outcome.error === null) return { status: 'delivered' };
  if (attempts >= policy.maxAttempts) return { status: 'dead', error: `${outcome.error} (after ${attempts} attempts)` };
  const delay = retryDelayMs(attempts, policy.retryBaseMs, policy.retryMaxMs, outcome.retryAfterMs, random);
  return { status: 'failed', nextAttemptInMs: delay, error: outcome.error };
}
