import { holdNodes, nodeKey } from '../../domain/node-key';
import { Period, periodIds, periodOfId } from '../../domain/period';
import {
  adjusted,
  CalendarIds,
  charged,
  committedIn,
  currentIds,
  idOfKind,
  PERIOD_KINDS,
  PeriodCounter,
} from '../../domain/period-counters';
import { ExpiryQueue } from './expiry-queue';
import { crossedThresholds } from '../../domain/alert-thresholds';
import {
  ActiveHold,
  AdjustOutcome,
  Adjustment,
  BatchItemOutcome,
  BatchOutcome,
  BatchPolicy,
  CommitOutcome,
  ConfigureOutcome,
  ExpireOutcome,
  ExtendOutcome,
  HoldSpec,
  LoadOutcome,
  MAX_PRUNED_PER_CALL,
  NodeConfig,
  NodeConfigPages,
  NodeRef,
  NodeUsage,
  NotLoaded,
  QuantityUpdate,
  QUOTA_LEVELS,
  QuotaScope,
  QuotaSnapshot,
  ReleaseOutcome,
  ReserveOutcome,
  ThresholdCrossing,
  UsageOutcome,
} from '../../domain/quota';
import { QuotaError } from '../../domain/quota.error';
import {
  addExact,
  checkAdjustment,
  checkBatch,
  checkEpochMs,
  checkExpiry,
  checkHoldSpec,
  checkId,
  checkMax,
  checkNodeConfig,
  checkNodeRef,
  checkNonNegativeAmount,
  checkNow,
  checkOverage,
  checkQuantityUpdates,
  checkScope,
  checkSnapshot,
  checkThresholds,
  checkUsageNodes,
} from '../../domain/quota-validation';
import { QuotaStore } from '../../ports/quota-store.port';
import { chargeFor, OverageRule } from '../../domain/overage';

interface MemoryNode {
  own: NodeConfig | undefined;
  reserved: number;
  /** One counter per period kind, whatever the config (see period-counters.ts). */
  counters: Partial<Record<Period, PeriodCounter>>;
}

interface MemoryScope {
  nodes: Map<string, MemoryNode>;
  defaults: Map<string, NodeConfig>;
  /** Live holds (counted in reserved). */
  holds: Map<string, ActiveHold>;
  /** Their expiries, earliest first. */
  expiries: ExpiryQueue;
  /** Holds past their expiry already out of reserved (pruned), until expireDue returns them. */
  pruned: Map<string, ActiveHold>;
  /** The newest period ids the scope has counted in. */
  mark: CalendarIds | undefined;
  /** Running quantities (see QuantityUpdate). */
  quantities: Map<string, string>;
}

/** A node as one decision sees it: its effective config and counters at `now`, plus what the decision adds. */
interface NodeView {
  key: string;
  node: NodeRef;
  source: NodeUsage['source'];
  limit: number | null;
  period: Period;
  effective: string;
  committed: number;
  reserved: number;
  add: number;
}

const NOT_LOADED: NotLoaded = { kind: 'not_loaded' };

function emptyNode(): MemoryNode {
  return { own: undefined, reserved: 0, counters: {} };
}

function copyHold(hold: ActiveHold): ActiveHold {
  return { ...hold, periods: { ...hold.periods } };
}

/** The thresholds usage going from `before` to `after` crosses at the view's node, appended to `out`. */
function collectCrossings(out: ThresholdCrossing[], view: NodeView, before: number, after: number, thresholds: readonly number[]): void {
  if (view.limit === null) return;
  for (const threshold of crossedThresholds(view.limit, before, after, thresholds)) {
    out.push({ node: { ...view.node }, threshold, limit: view.limit, used: after, period: view.period, periodId: view.effective });
  }
}

/** `crossings` on an outcome only when something was crossed (as the Redis store answers). */
function withCrossings<T extends object>(outcome: T, crossings: ThresholdCrossing[]): T {
  return crossings.length > 0 ? { ...outcome, crossings } : outcome;
}

function available(view: NodeView): number | null {
  return view.limit === null ? null : Math.max(0, view.limit - view.committed - view.reserved - view.add);
}

/**
 * The quota store of the embedded single-process mode and of unit tests: the same semantics
 * as the Redis scripts. Atomic within one process because every decision runs from its reads
 * to its last write without an await; validation and errors all happen before the first write.
 */
export class InMemoryQuotaStore extends QuotaStore {
  private readonly scopes = new Map<string, MemoryScope>();

  private scopeOf(scope: QuotaScope): MemoryScope | undefined {
    return this.scopes.get(`${scope.orgId}|${scope.environment}`);
  }

  /** Test hook: forgets a scope as a Redis FLUSHALL would. */
  async unload(scope: QuotaScope): Promise<void> {
    checkScope(scope);
    this.scopes.delete(`${scope.orgId}|${scope.environment}`);
  }

  async isLoaded(scope: QuotaScope): Promise<boolean> {
    checkScope(scope);
    return this.scopeOf(scope) !== undefined;
  }

  async load(scope: QuotaScope, snapshot: QuotaSnapshot, pages?: NodeConfigPages): Promise<LoadOutcome> {
    checkScope(scope);
    checkSnapshot(snapshot);
    if (this.scopeOf(scope)) return { kind: 'already_loaded' };
    const state: MemoryScope = {
      nodes: new Map(),
      defaults: new Map(),
      holds: new Map(),
      expiries: new ExpiryQueue(),
      pruned: new Map(),
      mark: undefined,
      quantities: new Map((snapshot.quantities ?? []).map((q) => [q.key, q.value])),
    };
    const ensure = (key: string) => state.nodes.get(key) ?? state.nodes.set(key, emptyNode()).get(key)!;
    if (pages) {
      // Staged aside: the scope stays not loaded until every part is in.
      for await (const page of pages) {
        checkSnapshot({ nodes: page, defaultUserConfigs: [], holds: [], committed: [] });
        for (const { node, config } of page) ensure(nodeKey(node)).own = { ...config };
      }
      if (this.scopeOf(scope)) return { kind: 'already_loaded' };
    }
    for (const { node, config } of snapshot.nodes) ensure(nodeKey(node)).own = { ...config };
    for (const { projectId, config } of snapshot.defaultUserConfigs) state.defaults.set(projectId, { ...config });
    for (const hold of snapshot.holds) {
      for (const node of holdNodes(hold.projectId, hold.userId)) {
        const target = ensure(nodeKey(node));
        target.reserved = addExact(target.reserved, hold.amount, `reserved of ${nodeKey(node)}`);
      }
      state.holds.set(hold.holdId, copyHold(hold));
      state.expiries.push(hold.expiresAtMs, hold.holdId);
    }
    // checkSnapshot allows one counter per node and kind.
    for (const { node, periodId, amount } of snapshot.committed)
      ensure(nodeKey(node)).counters[periodOfId(periodId)!] = { periodId, amount };
    this.scopes.set(`${scope.orgId}|${scope.environment}`, state);
    return { kind: 'loaded' };
  }

  async configure(scope: QuotaScope, node: NodeRef, config: NodeConfig | null): Promise<ConfigureOutcome> {
    checkScope(scope);
    checkNodeRef(node);
    if (config !== null) checkNodeConfig(config);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    const key = nodeKey(node);
    const target = state.nodes.get(key) ?? state.nodes.set(key, emptyNode()).get(key)!;
    target.own = config === null ? undefined : { ...config };
    return { kind: 'configured' };
  }

  async configureDefaultUser(scope: QuotaScope, projectId: string, config: NodeConfig | null): Promise<ConfigureOutcome> {
    checkScope(scope);
    checkId('projectId', projectId);
    if (config !== null) checkNodeConfig(config);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    if (config === null) state.defaults.delete(projectId);
    else state.defaults.set(projectId, { ...config });
    return { kind: 'configured' };
  }

  async reserve(scope: QuotaScope, hold: HoldSpec, now: Date, thresholds: readonly number[] = []): Promise<ReserveOutcome> {
    checkScope(scope);
    checkNow(now);
    checkHoldSpec(hold, now);
    checkThresholds(thresholds);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    const { alternatives, ...spec } = hold;
    this.prune(state, now.getTime());
    // Each refused attempt changes nothing, and nothing awaits in between: one atomic decision.
    const candidates = [spec.amount, ...(alternatives ?? [])];
    const outcome = this.admit(state, [spec], 'all_or_nothing', now, thresholds);
    for (let choice = 1; outcome.kind === 'refused' && choice < candidates.length; choice++) {
      const attempt = this.admit(state, [{ ...spec, amount: candidates[choice] }], 'all_or_nothing', now, thresholds);
      if (attempt.kind !== 'refused') {
        if (attempt.kind !== 'decided' || attempt.items[0].kind !== 'held')
          throw new Error('unreachable: an alternative decided otherwise');
        return withCrossings({ ...attempt.items[0], choice }, attempt.crossings ?? []);
      }
    }
    switch (outcome.kind) {
      case 'decided': {
        const item = outcome.items[0];
        if (item.kind !== 'held') throw new Error('unreachable: all_or_nothing decided with an item not held');
        return withCrossings(alternatives ? { ...item, choice: 0 } : item, outcome.crossings ?? []);
      }
      case 'refused': {
        const { level, required, available } = outcome;
        return alternatives
          ? { kind: 'refused', level, required, available, fitsUpTo: this.fitsUpTo(state, spec, now) }
          : { kind: 'refused', level, required, available };
      }
      case 'duplicate':
        return { kind: 'duplicate', hold: outcome.hold };
      default:
        return outcome;
    }
  }

  async reserveBatch(
    scope: QuotaScope,
    holds: HoldSpec[],
    policy: BatchPolicy,
    now: Date,
    thresholds: readonly number[] = [],
  ): Promise<BatchOutcome> {
    checkScope(scope);
    checkNow(now);
    checkBatch(holds, policy, now);
    checkThresholds(thresholds);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    this.prune(state, now.getTime());
    return this.admit(state, holds, policy, now, thresholds);
  }

  async commit(
    scope: QuotaScope,
    holdId: string,
    usage: number,
    now: Date,
    overage: OverageRule = { kind: 'allow' },
    quantities?: QuantityUpdate[],
    thresholds: readonly number[] = [],
  ): Promise<CommitOutcome> {
    checkScope(scope);
    checkId('holdId', holdId);
    checkNonNegativeAmount('amount', usage);
    checkOverage(overage);
    checkNow(now);
    checkThresholds(thresholds);
    if (quantities !== undefined) checkQuantityUpdates(quantities);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    const hold = state.holds.get(holdId);
    // An expired hold is the sweeper's to release and record, even before it has run.
    if (!hold || hold.expiresAtMs <= now.getTime()) return { kind: 'not_held' };
    if ((quantities ?? []).some((q) => (state.quantities.get(q.key) ?? null) !== q.expected)) {
      return { kind: 'stale', quantities: Object.fromEntries(quantities!.map((q) => [q.key, state.quantities.get(q.key) ?? null])) };
    }
    const amount = chargeFor(usage, hold.amount, overage);
    state.mark = currentIds(state.mark, periodIds(now));
    const ids = state.mark;
    // Usage rises only by an overage; the views before the charge, for the thresholds it crosses.
    const before =
      amount > hold.amount && thresholds.length > 0 ? holdNodes(hold.projectId, hold.userId).map((ref) => this.view(state, ref, ids)) : [];
    const plan = holdNodes(hold.projectId, hold.userId).map((ref) => {
      const key = nodeKey(ref);
      const node = state.nodes.get(key);
      if (!node || node.reserved < hold.amount) throw this.corrupt(`${key} reserves less than hold ${holdId}`);
      const counters = { ...node.counters };
      for (const kind of amount > 0 ? PERIOD_KINDS : []) {
        const next = charged(node.counters[kind], idOfKind(hold.periods, kind), amount);
        if (next === null) continue;
        addExact(next.amount - amount, amount, `committed of ${key}`); // throws past 2^53−1, before any write
        counters[kind] = next;
      }
      return { node, counters };
    });
    for (const { node, counters } of plan) {
      node.reserved -= hold.amount;
      node.counters = counters;
    }
    for (const q of quantities ?? []) state.quantities.set(q.key, q.next);
    state.holds.delete(holdId);
    const crossings: ThresholdCrossing[] = [];
    for (const view of before) {
      const after = this.view(state, view.node, ids);
      collectCrossings(crossings, view, view.committed + view.reserved, after.committed + after.reserved, thresholds);
    }
    return withCrossings(
      {
        kind: 'committed' as const,
        charged: amount,
        held: hold.amount,
        released: Math.max(0, hold.amount - amount),
        overage: Math.max(0, amount - hold.amount),
        hold: { ...hold, periods: { ...hold.periods } },
      },
      crossings,
    );
  }

  async adjust(scope: QuotaScope, adjustment: Adjustment): Promise<AdjustOutcome> {
    checkScope(scope);
    checkAdjustment(adjustment);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    const { projectId, userId, periods, delta } = adjustment;
    // Every node's new counters are computed (and checked) before any is written.
    const plan = holdNodes(projectId, userId).map((ref) => {
      const key = nodeKey(ref);
      const node = state.nodes.get(key) ?? emptyNode();
      const counters = { ...node.counters };
      for (const kind of PERIOD_KINDS) {
        const next = adjusted(node.counters[kind], idOfKind(periods, kind), delta);
        if (next === null) continue;
        if (delta > 0) addExact(next.amount - delta, delta, `committed of ${key}`);
        counters[kind] = next;
      }
      return { key, node, counters };
    });
    for (const { key, node, counters } of plan) {
      node.counters = counters;
      if (!state.nodes.has(key)) state.nodes.set(key, node);
    }
    return { kind: 'adjusted' };
  }

  async release(scope: QuotaScope, holdId: string): Promise<ReleaseOutcome> {
    checkScope(scope);
    checkId('holdId', holdId);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    const hold = state.holds.get(holdId);
    if (!hold) return { kind: 'not_held' };
    this.releaseHolds(state, [hold]);
    return { kind: 'released', hold: copyHold(hold) };
  }

  async extend(scope: QuotaScope, holdId: string, expiresAtMs: number, now: Date): Promise<ExtendOutcome> {
    checkScope(scope);
    checkId('holdId', holdId);
    checkNow(now);
    checkExpiry('expiresAtMs', expiresAtMs, now);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    const hold = state.holds.get(holdId);
    if (!hold || hold.expiresAtMs <= now.getTime()) return { kind: 'not_held' };
    hold.expiresAtMs = expiresAtMs;
    state.expiries.push(expiresAtMs, holdId);
    return { kind: 'extended', hold: copyHold(hold) };
  }

  async expireDue(scope: QuotaScope, nowMs: number, max: number): Promise<ExpireOutcome> {
    checkScope(scope);
    checkEpochMs('nowMs', nowMs);
    checkMax('max', max, 10_000);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    this.prune(state, nowMs, max);
    const expired = [...state.pruned.values()].slice(0, max);
    for (const hold of expired) state.pruned.delete(hold.holdId);
    return { kind: 'expired', holds: expired.map(copyHold), more: state.pruned.size > 0 || this.dueAt(state) <= nowMs };
  }

  async scopesWithDueHolds(nowMs: number, max: number): Promise<QuotaScope[]> {
    checkEpochMs('nowMs', nowMs);
    checkMax('max', max, 10_000);
    const found: QuotaScope[] = [];
    for (const [key, state] of this.scopes) {
      if (found.length >= max) break;
      if (state.pruned.size === 0 && this.dueAt(state) > nowMs) continue;
      const cut = key.lastIndexOf('|');
      found.push({ orgId: key.slice(0, cut), environment: key.slice(cut + 1) as QuotaScope['environment'] });
    }
    return found;
  }

  async usage(scope: QuotaScope, nodes: NodeRef[], now: Date): Promise<UsageOutcome> {
    checkScope(scope);
    checkUsageNodes(nodes);
    checkNow(now);
    const state = this.scopeOf(scope);
    if (!state) return NOT_LOADED;
    this.prune(state, now.getTime());
    const ids = currentIds(state.mark, periodIds(now));
    return {
      kind: 'usage',
      nodes: nodes.map((node) => {
        const view = this.view(state, node, ids);
        return {
          node: { ...node },
          source: view.source,
          limit: view.limit,
          period: view.period,
          periodId: view.effective,
          committed: view.committed,
          reserved: view.reserved,
          available: available(view),
        };
      }),
    };
  }

  /** The admission decision for reserve and batches; writes nothing unless it admits something. */
  private admit(state: MemoryScope, holds: HoldSpec[], policy: BatchPolicy, now: Date, thresholds: readonly number[]): BatchOutcome {
    state.mark = currentIds(state.mark, periodIds(now));
    const ids = state.mark;
    const views = new Map<string, NodeView>();
    const viewOf = (ref: NodeRef) => {
      const key = nodeKey(ref);
      return views.get(key) ?? views.set(key, this.view(state, ref, ids)).get(key)!;
    };
    const items: BatchItemOutcome[] = [];
    const admitted: ActiveHold[] = [];
    for (const [index, hold] of holds.entries()) {
      const existing = state.holds.get(hold.holdId) ?? state.pruned.get(hold.holdId);
      if (existing) {
        if (policy === 'all_or_nothing') return { kind: 'duplicate', index, hold: copyHold(existing) };
        items.push({ kind: 'duplicate', holdId: hold.holdId, hold: copyHold(existing) });
        continue;
      }
      const levels = holdNodes(hold.projectId, hold.userId).map(viewOf);
      const short = levels.findIndex((v) => v.limit !== null && v.committed + v.reserved + v.add + hold.amount > v.limit);
      if (short >= 0) {
        const refusal = {
          kind: 'refused' as const,
          level: QUOTA_LEVELS[short],
          required: hold.amount,
          available: available(levels[short])!,
        };
        if (policy === 'all_or_nothing') return { ...refusal, index, holdId: hold.holdId };
        items.push({ ...refusal, holdId: hold.holdId });
        continue;
      }
      // Unlimited levels have no cap to stop them, but reserved must stay exact: throws before any write.
      for (const v of levels) addExact(v.reserved + v.add, hold.amount, `reserved of ${v.key}`);
      for (const v of levels) v.add += hold.amount;
      const [org, project, user] = levels;
      const periods = { ...ids };
      admitted.push({ ...hold, periods });
      items.push({
        kind: 'held',
        holdId: hold.holdId,
        periods: { ...periods },
        remaining: { org: available(org), project: available(project), user: available(user) },
      });
    }
    const crossings: ThresholdCrossing[] = [];
    for (const view of views.values()) {
      if (view.add === 0) continue;
      const node = state.nodes.get(view.key) ?? state.nodes.set(view.key, emptyNode()).get(view.key)!;
      node.reserved += view.add;
      const before = view.committed + view.reserved;
      collectCrossings(crossings, view, before, before + view.add, thresholds);
    }
    for (const hold of admitted) {
      state.holds.set(hold.holdId, hold);
      state.expiries.push(hold.expiresAtMs, hold.holdId);
    }
    return withCrossings({ kind: 'decided' as const, items }, crossings);
  }

  /** The most every level of the hold's path could admit now (null: none has a limit). */
  private fitsUpTo(state: MemoryScope, hold: HoldSpec, now: Date): number | null {
    const ids = currentIds(state.mark, periodIds(now));
    const left = holdNodes(hold.projectId, hold.userId)
      .map((ref) => this.view(state, ref, ids))
      .filter((v) => v.limit !== null)
      .map((v) => Math.max(0, v.limit! - v.committed - v.reserved));
    return left.length === 0 ? null : Math.min(...left);
  }

  private view(state: MemoryScope, ref: NodeRef, ids: CalendarIds): NodeView {
    const key = nodeKey(ref);
    const node = state.nodes.get(key) ?? emptyNode();
    const fallback = ref.level === 'user' ? state.defaults.get(ref.projectId) : undefined;
    const config = node.own ?? fallback;
    const period = config?.period ?? 'none';
    const effective = idOfKind(ids, period);
    return {
      key,
      node: ref,
      source: node.own ? 'own' : fallback ? 'default' : 'none',
      limit: config?.limit ?? null,
      period,
      effective,
      committed: committedIn(node.counters[period], effective),
      reserved: node.reserved,
      add: 0,
    };
  }

  /** The earliest expiry of a live hold (Infinity: none). */
  private dueAt(state: MemoryScope): number {
    for (;;) {
      const next = state.expiries.peek();
      if (!next) return Infinity;
      // Entries of holds since ended or extended are skipped (the queue is lazy).
      if (state.holds.get(next.holdId)?.expiresAtMs === next.expiresAtMs) return next.expiresAtMs;
      state.expiries.pop();
    }
  }

  /** Takes live holds past their expiry at nowMs out of reserved, at most `max` (see lib.lua's prune). */
  private prune(state: MemoryScope, nowMs: number, max = MAX_PRUNED_PER_CALL): void {
    const due = new Map<string, ActiveHold>();
    while (due.size < max && this.dueAt(state) <= nowMs) {
      const { holdId } = state.expiries.pop()!;
      due.set(holdId, state.holds.get(holdId)!);
    }
    if (due.size === 0) return;
    this.releaseHolds(state, [...due.values()]);
    for (const hold of due.values()) state.pruned.set(hold.holdId, hold);
  }

  /** Returns holds' amounts to their nodes; checks every node before changing any. */
  private releaseHolds(state: MemoryScope, holds: ActiveHold[]): void {
    const totals = new Map<string, number>();
    for (const hold of holds) {
      for (const ref of holdNodes(hold.projectId, hold.userId)) totals.set(nodeKey(ref), (totals.get(nodeKey(ref)) ?? 0) + hold.amount);
    }
    for (const [key, total] of totals) {
      if ((state.nodes.get(key)?.reserved ?? 0) < total) throw this.corrupt(`${key} reserves less than its holds`);
    }
    for (const [key, total] of totals) state.nodes.get(key)!.reserved -= total;
    for (const hold of holds) state.holds.delete(hold.holdId);
  }

  private corrupt(detail: string): QuotaError {
    return new QuotaError('quota_state_corrupt', `Quota state is inconsistent (${detail}); rebuild the scope from the ledger.`);
  }
}
