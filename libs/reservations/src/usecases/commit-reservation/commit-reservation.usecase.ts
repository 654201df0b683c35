import { Injectable } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { Clock, MetricsService, PlatformError, TollgateError } from '@tollgate/platform';
import {
  CommitOutcome,
  EnsureScopeLoadedUseCase,
  NotLoaded,
  OverageRule,
  periodIds,
  QuantityUpdate,
  QuotaScope,
  QuotaStore,
} from '@tollgate/quota';
import { CallContext, Organization } from '@tollgate/tenancy';
import { PriceLine } from '@tollgate/rate-cards';
import { orgOfReservationId, quantityKey, requestHash, statusOf } from '../../domain/reservation';
import { ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { ReservationError } from '../../domain/reservation.error';
import { ChargedLine, ledgerEntryId, usageEventsOf } from '../../domain/usage-event';
import { ReservationContext } from '../reservation-context';
import { ActualPricing, overageRule, PricedUse } from '../actual-pricing';
import { EndResult, notHeld, presentCommitted, replayOrRefuse } from '../reservation-answers';
import { addQuantity, RunningQuantities } from '../running-quantities';
import { thresholdEvents } from '../reservation-signals';

/** Commits priced again after a concurrent commit moved the period's quantity first. */
const MAX_PRICING_ATTEMPTS = 10;

/** What a commit reports: a raw cost, or the actual usage to price at the hold's rates. */
export type ActualUse =
  { kind: 'amount'; amount: number } | { kind: 'usage'; usage: Record<string, number | string>; dimensions?: Record<string, string> };

/** What one attempt charges: the amount, its priced lines, and the running quantities it moves. */
interface Charge {
  amount: number;
  lines: PriceLine[] | null;
  updates: QuantityUpdate[];
}

/** One commit as the store is asked to charge it. */
interface ChargeRequest {
  ctx: CallContext;
  scope: QuotaScope;
  id: string;
  /** The request's hash, to tell a replay from another request once the hold has ended. */
  hash: string;
  actual: ActualUse;
  priced: PricedUse | null;
  rule: OverageRule;
  /** Budget alert thresholds: an overage may cross one (decided by the store call). */
  thresholds: readonly number[];
  now: Date;
}

type Charged =
  { kind: 'charged'; charge: Charge; outcome: Extract<CommitOutcome, { kind: 'committed' }> } | { kind: 'replay'; answer: EndResult };

/**
 * Reconcile: charge the actual usage (within the organization's overage policy), release the
 * rest, and record it once: the store removes the hold atomically, and the outcome row can
 * exist once per reservation, so the same commit never bills twice.
 * One store call (the hold, the overage rule applied, the counters moved) and one batched
 * insert. Postgres is read only off the happy path: a hold the store no longer has (retry,
 * ended, or another org's). A platform key's organization is the one the id names.
 */
@Injectable()
export class CommitReservationUseCase {
  constructor(
    private readonly context: ReservationContext,
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
    private readonly actualPricing: ActualPricing,
    private readonly quantities: RunningQuantities,
    metrics: MetricsService,
  ) {
    this.variance = new Histogram({
      name: 'tollgate_commit_relative_variance',
      help: 'Relative variance of each commit, (actual - estimate) / estimate, by product (raw for raw amounts): how well estimates fit',
      labelNames: ['product'] as const,
      buckets: [-1, -0.5, -0.25, -0.1, -0.05, 0, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [metrics.registry],
    });
  }

  private readonly variance: Histogram<'product'>;

  async execute(
    ctx: CallContext,
    id: string,
    idempotencyKey: string,
    actual: ActualUse,
    canonicalBody: string,
    provider: { name: string; requestId: string | null } | null = null,
  ): Promise<EndResult> {
    const hash = requestHash(idempotencyKey, canonicalBody);
    const priced = actual.kind === 'usage' ? await this.pricedUse(ctx, id, actual) : null;
    const { org, scope, thresholds } = await this.scopeOf(ctx, id);
    const now = this.clock.now();
    const charged = await this.charge({ ctx, scope, id, hash, actual, priced, rule: overageRule(org), thresholds, now });
    if (charged.kind === 'replay') return charged.answer;
    const { charge, outcome } = charged;

    // One event per charged line, ids derived from the reservation and the line: a retry, a
    // replay or another instance can only make the same ones (decision 020).
    const events = usageEventsOf({
      reservationId: id,
      orgId: scope.orgId,
      environment: scope.environment,
      projectId: outcome.hold.projectId,
      userId: outcome.hold.userId,
      charged: outcome.charged,
      estimate: outcome.hold.amount,
      provider,
      occurredAt: now,
      priced:
        priced && charge.lines
          ? {
              product: priced.pricing.product,
              dimensions: priced.dimensions,
              usage: priced.usage,
              rateCardId: priced.pricing.rateCardId,
              lines: charge.lines,
              estimateLines: priced.pricing.lines as readonly ChargedLine[],
              rateIds: Object.fromEntries(priced.rates.map((rate) => [rate.dimension, rate.rate_id])),
            }
          : null,
    });
    const body = presentCommitted(
      id,
      scope.orgId,
      outcome.hold,
      { requested: charge.amount, committed: outcome.charged, released: outcome.released, overage: outcome.overage },
      priced && charge.lines
        ? { usage: priced.usage, dimensions: priced.dimensions, rateCardId: priced.pricing.rateCardId, lines: charge.lines }
        : null,
      events.map((event) => event.id),
      now,
    );
    try {
      const written = await this.reservations.insertOutcome(
        scope,
        { id, projectId: outcome.hold.projectId, userId: outcome.hold.userId, periods: outcome.hold.periods },
        {
          reservationId: id,
          status: 'committed',
          amountCommitted: outcome.charged,
          amountReleased: outcome.released,
          overage: outcome.overage,
          reason: null,
          requestHash: hash,
          response: body,
          createdAt: now,
        },
        {
          id: ledgerEntryId(id),
          usage: priced ? { product: priced.pricing.product, usage: priced.usage, quantityPeriod: periodIds(now).month } : null,
          estimate: outcome.hold.amount,
          actual: charge.amount,
          provider,
          events,
        },
        thresholdEvents(scope, outcome.crossings, now),
      );
      if (written === 'conflict') throw new PlatformError('store_unavailable', 'The reservation ended concurrently; try again.');
    } catch (error) {
      // The store charged what Postgres did not record: rebuild it from Postgres. Fail closed.
      return this.context.undoStore(scope, error);
    }
    // A ratio for tuning estimates, not money: the amounts stay integers everywhere else.
    this.variance.observe(
      { product: priced ? priced.pricing.product : 'raw' },
      (charge.amount - outcome.hold.amount) / outcome.hold.amount,
    );
    return { body, replayed: false };
  }

  /** The organization and scope of the reservation; an id naming an organization that does not exist names no reservation either. */
  private async scopeOf(ctx: CallContext, id: string): Promise<{ org: Organization; scope: QuotaScope; thresholds: readonly number[] }> {
    const orgId = ctx.principal.orgId ?? orgOfReservationId(id) ?? (await this.context.reservation(ctx, id)).orgId;
    const { org, scope, settings } = await this.context.forOrg(ctx, orgId).catch((error: unknown) => {
      throw error instanceof TollgateError && error.code === 'unknown_org' ? ReservationError.unknown(id) : error;
    });
    return { org, scope, thresholds: settings.budget_alert_thresholds };
  }

  /** The actual usage of a priced hold at the hold's recorded rates (ActualPricing). */
  private async pricedUse(ctx: CallContext, id: string, actual: Extract<ActualUse, { kind: 'usage' }>): Promise<PricedUse> {
    const pricing = await this.context.pricingOf(ctx, id);
    if (!pricing)
      throw PlatformError.validation([{ field: 'usage', message: 'this reservation holds a raw amount: commit it with amount' }]);
    return this.actualPricing.use(ctx.principal.orgId ?? orgOfReservationId(id), pricing, actual);
  }

  /**
   * Charges the hold in the store. Rates whose tiers count the period price from the
   * organization's running quantity, moved by the same store call (compare and set): a commit
   * that priced from a stale quantity changes nothing, learns the current one, and prices
   * again. Within this instance such commits of one product take turns, so only another
   * instance can make one stale.
   */
  private charge(request: ChargeRequest): Promise<Charged> {
    const { scope, priced } = request;
    const attempts = () => this.chargeAttempts(request);
    if (!priced?.periodTiered) return attempts();
    return this.quantities.exclusive(`${scope.orgId}:${scope.environment}|${priced.pricing.product}`, attempts);
  }

  private async chargeAttempts({ ctx, scope, id, hash, actual, priced, rule, thresholds, now }: ChargeRequest): Promise<Charged> {
    const month = periodIds(now).month;
    for (let attempt = 0; attempt < MAX_PRICING_ATTEMPTS; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5));
      const charge: Charge = priced
        ? this.price(scope, priced, month)
        : { amount: actual.kind === 'amount' ? actual.amount : 0, lines: null, updates: [] };
      const commit = () =>
        this.store.commit(scope, id, charge.amount, now, rule, charge.updates.length > 0 ? charge.updates : undefined, thresholds);
      let outcome: Exclude<CommitOutcome, NotLoaded> = await this.loader.run(scope, commit);
      if (outcome.kind === 'not_held') {
        const view = await this.context.reservation(ctx, id);
        if (view.outcome) return { kind: 'replay', answer: replayOrRefuse(view, hash, 'committed') };
        if (statusOf(view, now) !== 'held') throw notHeld(view, 'expired');
        // Postgres says held, the store does not: the store is behind. Rebuild it and try once more.
        await this.store.unload(scope).catch(() => undefined);
        outcome = await this.loader.run(scope, commit);
        if (outcome.kind === 'not_held') throw notHeld(view, 'ended');
      }
      if (outcome.kind === 'committed') {
        for (const update of charge.updates) this.quantities.set(scope, update.key, update.next);
        return { kind: 'charged', charge, outcome };
      }
      if (outcome.kind === 'stale') for (const [key, value] of Object.entries(outcome.quantities)) this.quantities.set(scope, key, value);
    }
    throw new PlatformError('store_unavailable', "Concurrent commits kept moving this organization's period usage; try again.", {
      retry_after_seconds: 1,
    });
  }

  /** The actual usage at the rates, from the running quantities known here. */
  private price(scope: QuotaScope, priced: PricedUse, month: string): Charge {
    const alreadyUsed: Record<string, string> = {};
    const updates: QuantityUpdate[] = [];
    for (const rate of priced.rates) {
      if (rate.tier_scope !== 'period') continue;
      const key = quantityKey(priced.pricing.product, rate.dimension, month);
      const expected = this.quantities.get(scope, key) ?? null;
      alreadyUsed[rate.dimension] = expected ?? '0';
      updates.push({ key, expected, next: addQuantity(expected, priced.usage[rate.dimension]) });
    }
    const price = this.actualPricing.price(priced, alreadyUsed);
    return { amount: price.total, lines: price.lines, updates };
  }
}
