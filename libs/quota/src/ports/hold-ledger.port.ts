import { ActiveHold, NodeRef, QuotaScope } from '../domain/quota';

/**
 * What the reservations module recorded in Postgres, read when a scope is rebuilt: the holds
 * still active and the committed spend per node and period. Reservations implement it; the
 * quota module reads it without depending on that module.
 */
export abstract class HoldLedger {
  /** Holds admitted and not ended (committed, released or expired) at `now`, at their latest expiry. */
  abstract activeHolds(scope: QuotaScope, now: Date): Promise<ActiveHold[]>;

  /**
   * Users that have held money, configured or not (auto-created on first sight), in
   * (project, user) order after `after`, at most `max`.
   */
  abstract knownNodes(scope: QuotaScope, max: number, after?: { projectId: string; userId: string }): Promise<{ projectId: string; userId: string }[]>;

  /** Projects that have held money, configured or not. */
  abstract knownProjects(scope: QuotaScope): Promise<string[]>;

  /** The organization's all-time committed spend at each instant, in order. */
  abstract consumedAt(scope: QuotaScope, instants: Date[]): Promise<number[]>;

  /** Committed per node and period id, for all-time periods and those that ended at most `sinceMs` ago. */
  abstract committed(scope: QuotaScope, since: Date): Promise<{ node: NodeRef; periodId: string; amount: number }[]>;

  /** The running quantities of the billing period in force at `now` (see QuantityUpdate). */
  abstract quantities(scope: QuotaScope, now: Date): Promise<{ key: string; value: string }[]>;
}
