import { Period } from './period';
import { CalendarIds } from './period-counters';

/**
 * The admission hierarchy's vocabulary. Amounts are integers of micro-credits that are safe
 * JavaScript integers (≤ 2^53−1): both adapters do exact double arithmetic up to there and
 * refuse anything that would go beyond (`amount_overflow`) rather than round.
 */
export const QUOTA_ENVIRONMENTS = ['live', 'test'] as const;
export type QuotaEnvironment = (typeof QUOTA_ENVIRONMENTS)[number];

/** Balances, holds and counters never cross a scope: one organization in one environment. */
export interface QuotaScope {
  orgId: string;
  environment: QuotaEnvironment;
}

/** Top to bottom: a refusal names the first short level in this order. */
export const QUOTA_LEVELS = ['org', 'project', 'user'] as const;
export type QuotaLevel = (typeof QUOTA_LEVELS)[number];

export type NodeRef = { level: 'org' } | { level: 'project'; projectId: string } | { level: 'user'; projectId: string; userId: string };

/**
 * A node's limit and period. `limit: null` imposes none. For `period: 'none'` committed is
 * all-time, so the org node's limit is the whole pool (credits granted + overdraft), not the
 * remaining balance: the store subtracts what was committed.
 */
export interface NodeConfig {
  limit: number | null;
  period: Period;
}

/** A reservation to admit: `amount` at the org, the project and the project's user at once. */
export interface HoldSpec {
  holdId: string;
  projectId: string;
  userId: string;
  amount: number;
  expiresAtMs: number;
  /**
   * Reserve only (a downgrade ladder's prices): amounts to hold instead, in order, when `amount`
   * does not fit; the first that fits at every level is held, in the same atomic decision.
   * Given (even empty), the outcome says which was held (`choice`) or, refused, `fitsUpTo`.
   */
  alternatives?: number[];
}

export const MAX_ALTERNATIVES = 16;

/**
 * The scope's current period of every kind when the hold was admitted: its commit is charged
 * to each node's counters of those periods (whatever period each node is configured with, then
 * or later), so a change of a node's period kind keeps the spend.
 */
export type HoldPeriods = CalendarIds;

export interface ActiveHold extends HoldSpec {
  periods: HoldPeriods;
}

/** What is left at each level after an admission; null where the level has no limit. */
export type Remaining = Record<QuotaLevel, number | null>;

export interface NotLoaded {
  kind: 'not_loaded';
}

export interface Refusal {
  kind: 'refused';
  level: QuotaLevel;
  required: number;
  /** What the level could still admit, never below 0. */
  available: number;
}

/** Budget alert thresholds a store call is given at most (the org setting `budget_alert_thresholds`). */
export const MAX_ALERT_THRESHOLDS = 10;

/**
 * A budget alert threshold one store call took a node across: the node's usage — committed in
 * its current period plus reserved, exactly what admission counts against its limit — went
 * from below `threshold`% of its limit to at or above it. Decided inside the same atomic step
 * as the change, so however many calls race, one of them crosses; present only on outcomes of
 * calls given thresholds, and only when something was crossed.
 */
export interface ThresholdCrossing {
  node: NodeRef;
  /** Percent of the limit, 1–100. */
  threshold: number;
  limit: number;
  /** committed (current period) + reserved after the call. */
  used: number;
  period: Period;
  /** The node's current period id ('' for `none`). */
  periodId: string;
}

export type ReserveOutcome =
  /** `choice`, with alternatives: 0 for `amount`, i for alternatives[i − 1]. */
  | {
      kind: 'held';
      holdId: string;
      periods: HoldPeriods;
      remaining: Remaining;
      choice?: number;
      crossings?: ThresholdCrossing[];
    }
  /** `fitsUpTo`, with alternatives: the largest amount every level could admit now (null: no limit). */
  | (Refusal & { fitsUpTo?: number | null })
  /** The hold id is already active; nothing changed. `hold` is what was admitted under it. */
  | { kind: 'duplicate'; hold: ActiveHold }
  | NotLoaded;

export const BATCH_POLICIES = ['all_or_nothing', 'max_fundable'] as const;
export type BatchPolicy = (typeof BATCH_POLICIES)[number];
export const MAX_BATCH_ITEMS = 100;

export type BatchItemOutcome =
  | { kind: 'held'; holdId: string; periods: HoldPeriods; remaining: Remaining }
  | (Refusal & { holdId: string })
  | { kind: 'duplicate'; holdId: string; hold: ActiveHold };

export type BatchOutcome =
  /** One entry per item, in order. all_or_nothing: every item is held. `crossings`: of the batch as a whole. */
  | { kind: 'decided'; items: BatchItemOutcome[]; crossings?: ThresholdCrossing[] }
  /** all_or_nothing only: item `index` does not fit, so nothing was held. */
  | (Refusal & { index: number; holdId: string })
  /** all_or_nothing only: item `index` is already active, so nothing was held. */
  | { kind: 'duplicate'; index: number; hold: ActiveHold }
  | NotLoaded;

/**
 * A running quantity of the scope (an organization's usage of one product dimension in one
 * billing period, for rates whose tiers count the period), moved by a commit only if it still
 * is `expected` (null: none yet): compare and set, so two commits never price from the same
 * point. Values are decimal strings the store keeps as given; keys are opaque to the store.
 */
export interface QuantityUpdate {
  key: string;
  expected: string | null;
  next: string;
}

export const MAX_QUANTITY_UPDATES = 32;

export type CommitOutcome =
  | {
      kind: 'committed';
      /** What was added to committed: the usage, within the overage rule. */
      charged: number;
      /** The hold's full amount, removed from reserved. */
      held: number;
      /** held − charged when positive: returned unused. */
      released: number;
      /** charged − held when positive: the overdraw the overage rule allowed. */
      overage: number;
      /** The hold as it was admitted (project, user, amount, periods). */
      hold: ActiveHold;
      /** Thresholds the charge took a node across (an overage raises usage above the hold). */
      crossings?: ThresholdCrossing[];
    }
  | { kind: 'not_held' }
  /** A quantity was not what the commit expected: nothing changed; these are the current values. */
  | { kind: 'stale'; quantities: Record<string, string | null> }
  | NotLoaded;

/**
 * A correction of a commit (a provider's usage report said otherwise): signed micro-credits
 * charged to the nodes of the committed hold (org, its project, its user) in the periods the
 * hold was admitted in, as its commit was. Negative takes spend back.
 */
export interface Adjustment {
  projectId: string;
  userId: string;
  periods: HoldPeriods;
  /** Non-zero, |delta| ≤ 2^53−1. */
  delta: number;
}

export type AdjustOutcome = { kind: 'adjusted' } | NotLoaded;

export type ReleaseOutcome = { kind: 'released'; hold: ActiveHold } | { kind: 'not_held' } | NotLoaded;

export type ExtendOutcome = { kind: 'extended'; hold: ActiveHold } | { kind: 'not_held' } | NotLoaded;

export type ExpireOutcome =
  /** `more`: due holds remain beyond `max`; call again. */
  { kind: 'expired'; holds: ActiveHold[]; more: boolean } | NotLoaded;

export interface NodeUsage {
  node: NodeRef;
  /** `own`: the node's config; `default`: a user on its project's default; `none`: unconfigured (unlimited). */
  source: 'own' | 'default' | 'none';
  limit: number | null;
  period: Period;
  periodId: string;
  /** Committed in the current period (all-time for `none`). */
  committed: number;
  reserved: number;
  /** limit − committed − reserved, never below 0; null without a limit. */
  available: number | null;
}

export type UsageOutcome = { kind: 'usage'; nodes: NodeUsage[] } | NotLoaded;
export const MAX_USAGE_NODES = 1000;

/**
 * Due holds one reserve, batch or usage call takes out of reserved at most. More expiring at
 * the same moment are taken by the next calls (until then they count: conservative, never
 * an overspend), and every one by the sweeper.
 */
export const MAX_PRUNED_PER_CALL = 1000;

export type ConfigureOutcome = { kind: 'configured' } | NotLoaded;

/** Everything a scope's counters are rebuilt from; Postgres (the system of record) provides it. */
export interface QuotaSnapshot {
  nodes: { node: NodeRef; config: NodeConfig }[];
  defaultUserConfigs: { projectId: string; config: NodeConfig }[];
  /** Active holds with the periods they were admitted in; reserved is rebuilt as their sum. */
  holds: ActiveHold[];
  /**
   * Committed per node in the current period of each kind at the loader's clock ('' for the
   * all-time counter): at most one entry per node and kind. Older periods need no counter.
   */
  committed: { node: NodeRef; periodId: string; amount: number }[];
  /** Running quantities (see QuantityUpdate). */
  quantities?: { key: string; value: string }[];
}

/**
 * More node configs, streamed after a snapshot's other parts: an organization may configure
 * millions of users, more than one store call (or one process's memory) should carry at once.
 */
export type NodeConfigPages = AsyncIterable<{ node: NodeRef; config: NodeConfig }[]>;

/**
 * `busy`: another loader (another instance) holds the scope's load lease, or took it over;
 * wait for it and run the operation again.
 */
export type LoadOutcome = { kind: 'loaded' } | { kind: 'already_loaded' } | { kind: 'busy' };

export function emptySnapshot(): QuotaSnapshot {
  return { nodes: [], defaultUserConfigs: [], holds: [], committed: [] };
}
