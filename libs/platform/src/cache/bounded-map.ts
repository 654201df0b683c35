/**
 * The one in-process cache primitive: a Map that holds at most `maxEntries`, forgetting the
 * entry written longest ago when a write would pass the bound. Writing a key again makes it
 * the newest; reading does not (no reorder on the hot read path). Every operation is one or
 * two O(1) Map operations and allocates nothing.
 *
 * TtlCache (expiry) and RefreshingCache (stale-while-revalidate) are built on it; use it
 * directly for memory of the hot path that must stay bounded (running quantities, recent
 * pricing).
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly maxEntries: number) {
    if (!(maxEntries >= 1)) throw new RangeError(`maxEntries must be at least 1, got ${maxEntries}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores `value` as the newest entry; beyond `maxEntries`, the oldest is forgotten. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
  }

  /** The value, removed: for what is used once (a hold's pricing, read by its commit). */
  take(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) this.entries.delete(key);
    return value;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
