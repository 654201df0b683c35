import { Injectable } from '@nestjs/common';
import Decimal from 'decimal.js';
import { BoundedMap } from '@tollgate/platform';
import { QuotaScope } from '@tollgate/quota';

const MAX_ENTRIES = 100_000;

/**
 * This instance's last known running quantities (see QuantityUpdate in the quota store), for
 * rates whose tiers count the period. The store is the truth: a commit sends what it expects
 * and learns the current value when it was wrong. A reserve estimates from what is known here
 * (from 0 when nothing is), which for the usual falling tiers only over-estimates.
 */
@Injectable()
export class RunningQuantities {
  /** Written longest ago forgotten first (a write makes a key the newest). */
  private readonly known = new BoundedMap<string, string | null>(MAX_ENTRIES);
  private readonly queues = new Map<string, Promise<unknown>>();

  /**
   * Runs `work` after every earlier work of `lane` here has finished: commits of one
   * organization's product take turns in this instance, so each prices from the quantity
   * the one before left and none has to retry; only another instance can make one stale.
   */
  exclusive<T>(lane: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(lane) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => undefined);
    this.queues.set(lane, tail);
    void tail.then(() => {
      if (this.queues.get(lane) === tail) this.queues.delete(lane);
    });
    return run;
  }

  /** undefined: not known here; null: none yet. Keys are the store's, which are per scope. */
  get(scope: QuotaScope, key: string): string | null | undefined {
    return this.known.get(`${scope.orgId}:${scope.environment}|${key}`);
  }

  set(scope: QuotaScope, key: string, value: string | null): void {
    this.known.set(`${scope.orgId}:${scope.environment}|${key}`, value);
  }
}

/** a + b, exact, in plain notation (what the store keeps). */
export function addQuantity(a: string | null, b: number | string | undefined): string {
  return new Decimal(a ?? 0).plus(new Decimal(b === undefined ? 0 : String(b))).toFixed();
}
