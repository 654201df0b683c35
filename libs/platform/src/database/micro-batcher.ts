/**
 * Group commit, the queue half: items submitted by concurrent requests while a flush is running
 * go out together in the next one, so a burst of N writes costs about one round trip instead of
 * N. A caller's promise settles with its own item's result, only once the flush that carried it
 * is done (durable before answered, when the flush writes to Postgres).
 * Written here rather than taken from a library: it is on the hot paths (holds, webhook receipts),
 * and one bad item must never fail the others, so a failed batch is retried item by item.
 */
export class MicroBatcher<T, R> {
  private queue: { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  private flushing = false;

  /**
   * `flush` gets the items of one batch and answers one result per item, in order. `lingerMs`:
   * how long the first item of a batch waits for others (0: to the end of this turn of the event
   * loop); worth it where answers may wait a few milliseconds and every statement costs a commit.
   */
  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    private readonly maxPerFlush = 500,
    private readonly lingerMs = 0,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.flushing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.flushing = true;
    try {
      // Flush at the end of this turn of the event loop, once every callback already due
      // (the replies of one pipelined Redis read, say) has queued its item: bigger groups
      // (measured: +9% reserve+commit throughput at 64 connections). With a linger, every
      // batch that is not already full waits that long for more.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) {
        if (this.lingerMs > 0 && this.queue.length < this.maxPerFlush) await new Promise((resolve) => setTimeout(resolve, this.lingerMs));
        const batch = this.queue.splice(0, this.maxPerFlush);
        try {
          const results = await this.flush(batch.map((unit) => unit.item));
          batch.forEach((unit, i) => unit.resolve(results[i]));
        } catch (error) {
          if (batch.length === 1) {
            batch[0].reject(error);
            continue;
          }
          // One bad item must not fail the others: retry each alone.
          for (const unit of batch) {
            try {
              unit.resolve((await this.flush([unit.item]))[0]);
            } catch (unitError) {
              unit.reject(unitError);
            }
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
