import { ActiveHold, NodeRef, QuotaScope } from '../domain/quota';

/**
 * What the reservations module recorded in Postgres, read when a scope is rebuilt: the holds
 * still active and the committed spend per node and period. Reservations implement it; the
 * quota module reads it without depending on that module.
 */
export abstract class HoldLedger {
  /** Holds admitted and not ended (committed, released or expired) at `now`, at their latest expiry. */
  abstract activeHolds(scope: QuotaScope, now: Date): Promise<ActiveHold[]>;

  /** The organization's all-time committed spend at each instant, in order. */
  abstract consumedAt(scope: QuotaScope, instants: Date[]): Promise<number[]>;

  /**
   * Committed per node in the period of every kind current at `now` ('' for all time), from
   * the periods each hold was admitted in: what the store's counters must say.
   */
  abstract committed(scope: QuotaScope, now: Date): Promise<{ node: NodeRef; periodId: string; amount: number }[]>;

  /**
   * What commits charged above their holds (the overage policy's overdraw), per node and period
   * like `committed`, listing only nodes that have some: the usage tree shows it.
   */
  abstract overage(scope: QuotaScope, now: Date): Promise<{ node: NodeRef; periodId: string; amount: number }[]>;

  /** The running quantities of the billing period in force at `now` (see QuantityUpdate). */
  abstract quantities(scope: QuotaScope, now: Date): Promise<{ key: string; value: string }[]>;
}
