/**
 * Token buckets per API key (API.md: "Rate limited: 429 with Retry-After"). Each key may send
 * `perSecond` requests a second on average and bursts of `burst`. In-process, per instance:
 * with N instances a key gets up to N times the rate. Written here rather than taken from a
 * library: it sits in front of every request and is a map look-up and a few additions.
 */
export class KeyRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** 0 when the request may go; else how many seconds until it may (at least 1). */
  take(keyId: string, nowMs: number): number {
    let bucket = this.buckets.get(keyId);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.burst, at: nowMs };
      this.buckets.set(keyId, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * this.perSecond);
    bucket.at = nowMs;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }
}
