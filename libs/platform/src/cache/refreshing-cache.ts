import { BoundedMap } from './bounded-map';

/**
 * A read-through cache that never makes a warm reader wait for its loader ("stale while
 * revalidate"): an entry older than `refreshMs` is still served, while one background load
 * replaces it. Only a missing entry (first use, or invalidated) is loaded in line, once for all
 * the callers that ask meanwhile. Invalidation drops the entry and discards every load that
 * started before it, so a value read before a write is never cached after it.
 *
 * Why not TtlCache: pricing must not read the database on the hot path, and an expired
 * TtlCache entry makes the next request load in line. Here the bus keeps entries right; the
 * refresh only bounds how long a lost invalidation message goes unnoticed. A failed background
 * refresh keeps the old value (pricing keeps working through a database blip) and is retried
 * after another `refreshMs`. At most `maxEntries` values are kept (BoundedMap: the one written
 * longest ago goes first).
 */
export class RefreshingCache<V> {
  private readonly entries: BoundedMap<string, { value: V; loadedAt: number }>;
  private readonly loading = new Map<string, { generation: number; promise: Promise<V> }>();
  /** Bumped by every invalidation: a load that started before one does not store its value. */
  private generation = 0;

  constructor(
    private readonly refreshMs: number,
    private readonly onRefreshError: (key: string, error: unknown) => void = () => undefined,
    maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.entries = new BoundedMap(maxEntries);
  }

  /** The cached value if there is one (refreshed in the background when old), else loads it. */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const entry = this.refreshMs > 0 ? this.entries.get(key) : undefined;
    if (entry === undefined) return this.load(key, load);
    if (this.now() - entry.loadedAt >= this.refreshMs && !this.loading.has(key)) {
      this.load(key, load).catch((error) => {
        // Keep serving the old value; try again after another refreshMs.
        const current = this.entries.get(key);
        if (current) current.loadedAt = this.now();
        this.onRefreshError(key, error);
      });
    }
    return Promise.resolve(entry.value);
  }

  /** Synchronous look-up, for callers that can do without a value. */
  peek(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  invalidate(key: string): void {
    this.generation++;
    this.entries.delete(key);
    this.loading.delete(key);
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.loading.clear();
  }

  private load(key: string, load: () => Promise<V>): Promise<V> {
    const generation = this.generation;
    const inFlight = this.loading.get(key);
    if (inFlight && inFlight.generation === generation) return inFlight.promise;
    const promise = load().then(
      (value) => {
        if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
        if (generation === this.generation) this.store(key, value);
        return value;
      },
      (error: unknown) => {
        if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
        throw error;
      },
    );
    this.loading.set(key, { generation, promise });
    return promise;
  }

  private store(key: string, value: V): void {
    if (this.refreshMs <= 0) return;
    this.entries.set(key, { value, loadedAt: this.now() });
  }
}
