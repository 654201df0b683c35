import {
  AdjustOutcome,
  Adjustment,
  BatchOutcome,
  BatchPolicy,
  CommitOutcome,
  ConfigureOutcome,
  ExpireOutcome,
  ExtendOutcome,
  HoldSpec,
  LoadOutcome,
  NodeConfig,
  NodeConfigPages,
  NodeRef,
  QuantityUpdate,
  QuotaScope,
  QuotaSnapshot,
  ReleaseOutcome,
  ReserveOutcome,
  UsageOutcome,
} from '../domain/quota';
import { OverageRule } from '../domain/overage';

/**
 * The hot counters of the hierarchy and the admission decision. Every decision is atomic per
 * scope (one Lua script in Redis, one synchronous section in memory), and for every node and
 * every period `committed + reserved ≤ limit` holds for what this store admits.
 *
 * The store is a cache that Postgres can rebuild: a scope that is not loaded answers
 * `not_loaded` to every operation, so an empty Redis (restart, FLUSHALL, eviction) never admits.
 * Arguments are validated first; a bad one throws QuotaError and changes nothing.
 */
export abstract class QuotaStore {
  abstract isLoaded(scope: QuotaScope): Promise<boolean>;

  /**
   * Drops a scope's state: every operation answers `not_loaded` until it is rebuilt from
   * Postgres. For when the store did something Postgres failed to record.
   */
  abstract unload(scope: QuotaScope): Promise<void>;

  /**
   * Atomically installs a scope's state; refuses (`already_loaded`) to overwrite a loaded scope.
   * `pages` adds node configs in parts; the scope stays not loaded to every other operation
   * until the last part is in, and one loader at a time holds it (`busy` for the others).
   */
  abstract load(scope: QuotaScope, snapshot: QuotaSnapshot, pages?: NodeConfigPages): Promise<LoadOutcome>;

  /**
   * Sets a node's limit and period. null clears it: unlimited for the org or a project; a user
   * then falls back to its project's default. Spend is kept: every node counts what was
   * committed in the current period of every kind, so a new period kind starts from what was
   * already committed in it. Holds already admitted are kept even if the new limit is below
   * them (only new admissions see it).
   */
  abstract configure(scope: QuotaScope, node: NodeRef, config: NodeConfig | null): Promise<ConfigureOutcome>;

  /** The config of every user of the project that has none of its own (null: no default). */
  abstract configureDefaultUser(scope: QuotaScope, projectId: string, config: NodeConfig | null): Promise<ConfigureOutcome>;

  /**
   * Holds `amount` at org, project and user if every limited level fits it, else nothing.
   * Reserve, batch and usage never count a hold past its expiry: due holds leave reserved
   * first, in the same atomic step (up to MAX_PRUNED_PER_CALL per call), and wait for
   * expireDue to be recorded.
   *
   * `thresholds` (budget alert percents, ascending, 1–100): the outcome's `crossings` lists each
   * (node, threshold) whose usage — committed in the node's current period + reserved — this
   * call took from below threshold% of the node's limit to at or above it. Decided in the same
   * atomic step, so N racing reserves report a crossing once; absent when nothing was crossed.
   */
  abstract reserve(scope: QuotaScope, hold: HoldSpec, now: Date, thresholds?: readonly number[]): Promise<ReserveOutcome>;

  /**
   * 1 to 100 holds, one atomic decision. all_or_nothing: all held or none. max_fundable: items
   * are held in order while they fit; from the first that does not, it and every later item
   * are refused with that item's level and the level's availability after the held items.
   * `thresholds` as for reserve, the batch's held items taken together.
   */
  abstract reserveBatch(
    scope: QuotaScope,
    holds: HoldSpec[],
    policy: BatchPolicy,
    now: Date,
    thresholds?: readonly number[],
  ): Promise<BatchOutcome>;

  /**
   * Charges the actual `usage` (above the hold: what `overage` allows, see chargeFor) to
   * committed in the periods the hold was admitted in, and removes the whole hold from
   * reserved; answers with the hold. not_held when the hold is unknown, finished, or expired at `now`.
   * `quantities` move in the same step, or, if one is not as expected, the commit is `stale`.
   * `thresholds` as for reserve: only a charge above the hold (an overage) raises usage.
   */
  abstract commit(
    scope: QuotaScope,
    holdId: string,
    usage: number,
    now: Date,
    overage?: OverageRule,
    quantities?: QuantityUpdate[],
    thresholds?: readonly number[],
  ): Promise<CommitOutcome>;

  /**
   * Corrects a commit after the fact (a provider usage adjustment): adds the signed `delta` to
   * the committed counters of the hold's org, project and user in the periods the hold was
   * admitted in (every kind, as commit does; a negative delta never takes a counter below 0,
   * nor from a period the counter no longer counts). No limit is checked: like an overage, the
   * usage has happened. Reserved is untouched.
   */
  abstract adjust(scope: QuotaScope, adjustment: Adjustment): Promise<AdjustOutcome>;

  /** Returns the whole hold to every level. */
  abstract release(scope: QuotaScope, holdId: string): Promise<ReleaseOutcome>;

  /** Moves a live hold's expiry (not_held once it has expired at `now`). */
  abstract extend(scope: QuotaScope, holdId: string, expiresAtMs: number, now: Date): Promise<ExtendOutcome>;

  /**
   * Releases up to `max` holds with expiresAtMs ≤ nowMs, atomically, and returns them to be
   * recorded, with those that a decision already took out of reserved (see reserve).
   */
  abstract expireDue(scope: QuotaScope, nowMs: number, max: number): Promise<ExpireOutcome>;

  /**
   * Scopes that may have due holds, for a sweeper (a hint: expireDue may find none).
   * A scope whose holds are all expired stops being listed once expireDue has run on it.
   */
  abstract scopesWithDueHolds(nowMs: number, max: number): Promise<QuotaScope[]>;

  /** Figures per node, in the order asked, at `now` (committed of the current period). */
  abstract usage(scope: QuotaScope, nodes: NodeRef[], now: Date): Promise<UsageOutcome>;
}
