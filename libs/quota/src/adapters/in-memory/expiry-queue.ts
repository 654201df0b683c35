/**
 * A binary min-heap of (expiresAtMs, holdId): the in-memory store's counterpart of the Redis
 * expiry zset, so a decision finds the holds past their expiry in O(log n) instead of a scan.
 * Entries are never updated in place: an extension pushes a new entry and the store skips the
 * stale one when it surfaces. Ties pop in hold id order, as ZRANGEBYSCORE returns them.
 */
export class ExpiryQueue {
  private readonly heap: { expiresAtMs: number; holdId: string }[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(expiresAtMs: number, holdId: string): void {
    const heap = this.heap;
    heap.push({ expiresAtMs, holdId });
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  peek(): { expiresAtMs: number; holdId: string } | undefined {
    return this.heap[0];
  }

  pop(): { expiresAtMs: number; holdId: string } | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      for (let i = 0; ;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < heap.length && this.less(left, least)) least = left;
        if (right < heap.length && this.less(right, least)) least = right;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least], heap[i]];
        i = least;
      }
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    return x.expiresAtMs < y.expiresAtMs || (x.expiresAtMs === y.expiresAtMs && x.holdId < y.holdId);
  }
}
