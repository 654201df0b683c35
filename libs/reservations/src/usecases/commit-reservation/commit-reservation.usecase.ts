import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock, PlatformError, TollgateError } from '@tollgate/platform';
import { CommitOutcome, EnsureScopeLoadedUseCase, NotLoaded, OverageRule, periodIds, QuantityUpdate, QuotaScope, QuotaStore } from '@tollgate/quota';
import { CallContext, OveragePolicy } from '@tollgate/tenancy';
import { PriceOperationUseCase, ResolvedRate } from '@tollgate/rate-cards';
import { orgOfReservationId, quantityKey, requestHash, ReservationPricing, ReservationView, sameKey, statusOf } from '../../domain/reservation';
import { addQuantity, RunningQuantities } from './running-quantities';

/** Commits priced again after a concurrent commit moved the period's quantity first. */
const MAX_PRICING_ATTEMPTS = 10;
import { ReservationError } from '../../domain/reservation.error';
import { ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { ReservationContext } from '../reservation-context';

/** What a commit reports: a raw cost, or the actual usage to price. */
export type ActualUse = { amount: number } | { usage: Record<string, number | string>; dimensions?: Record<string, string> };

export interface EndResult {
  body: Record<string, unknown>;
  replayed: boolean;
}

/**
 * Reconcile: charge the actual usage (within the organization's overage policy), release the
 * rest, and record it once: the store removes the hold atomically, and the outcome row can
 * exist once per reservation, so the same commit never bills twice.
 */
@Injectable()
export class CommitReservationUseCase {
  constructor(
    private readonly context: ReservationContext,
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
    private readonly pricing: PriceOperationUseCase,
    private readonly quantities: RunningQuantities,
  ) {}

  /**
   * One store call (the hold, the overage rule applied, the counters moved) and one batched
   * insert. Postgres is read only off the happy path: a hold the store no longer has (retry,
   * ended, or another org's). A platform key's organization is the one the id names.
   */
  async execute(ctx: CallContext, id: string, idempotencyKey: string, actual: ActualUse, canonicalBody: string): Promise<EndResult> {
    const hash = requestHash(idempotencyKey, canonicalBody);
    // Usage is priced at the rates the hold recorded; a raw amount needs no look-up at all.
    const pricing = 'usage' in actual ? await this.context.pricingOf(ctx, id) : null;
    if ('usage' in actual && !pricing) throw PlatformError.validation([{ field: 'usage', message: 'this reservation holds a raw amount: commit it with amount' }]);
    const priced = pricing && 'usage' in actual ? await this.ratesFor(pricing, ctx.principal.orgId ?? orgOfReservationId(id), actual.usage, actual.dimensions) : null;
    const orgId = ctx.principal.orgId ?? orgOfReservationId(id) ?? (await this.context.reservation(ctx, id)).orgId;
    // An id naming an organization that does not exist names no reservation either.
    const { org, scope } = await this.context.forOrg(ctx, orgId).catch((error: unknown) => {
      throw error instanceof TollgateError && error.code === 'unknown_org' ? ReservationError.unknown(id) : error;
    });
    const rule = overageRule(org.overagePolicy, org.overagePercent);
    const now = this.clock.now();
    // The month period tiers count in (only a priced commit needs it).
    const month = pricing ? periodIds(now).month : '';

    // Rates whose tiers count the period price from the organization's running quantity, moved
    // by the same store call (compare and set): a commit that priced from a stale quantity
    // changes nothing, learns the current one, and prices again.
    const attempt = async () => {
      let charge: { amount: number; lines: readonly object[] | null; updates: QuantityUpdate[] } | undefined;
      let outcome: Exclude<CommitOutcome, NotLoaded> | undefined;
      for (let attempt = 0; attempt < MAX_PRICING_ATTEMPTS; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 5));
        charge = priced && 'usage' in actual ? this.price(scope, pricing!.product, priced.rates, actual.usage, month) : { amount: (actual as { amount: number }).amount, lines: null, updates: [] };
        const { amount, updates } = charge;
        const commit = () => this.store.commit(scope, id, amount, now, rule, updates.length > 0 ? updates : undefined);
        outcome = await this.loader.run(scope, commit);
        if (outcome.kind === 'not_held') {
          const view = await this.context.reservation(ctx, id);
          if (view.outcome) return { replay: replayOrRefuse(view, hash, 'committed') };
          if (statusOf(view, now) !== 'held') throw notHeld(view, 'expired');
          // Postgres says held, the store does not: the store is behind. Rebuild it and try once more.
          await this.store.unload(scope).catch(() => undefined);
          outcome = await this.loader.run(scope, commit);
          if (outcome.kind === 'not_held') throw notHeld(view, 'ended');
        }
        if (outcome.kind !== 'stale') break;
        for (const [key, value] of Object.entries(outcome.quantities)) this.quantities.set(scope, key, value);
      }
      if (charge && outcome?.kind === 'committed') for (const update of charge.updates) this.quantities.set(scope, update.key, update.next);
      return { charge, outcome };
    };
    const periodTiered = pricing !== null && (pricing.rates as ResolvedRate[]).some((r) => r.tier_scope === 'period');
    const result = periodTiered ? await this.quantities.exclusive(`${scope.orgId}:${scope.environment}|${pricing!.product}`, attempt) : await attempt();
    if ('replay' in result) return result.replay!;
    const { charge, outcome } = result;
    if (!charge || !outcome || outcome.kind !== 'committed') {
      throw new PlatformError('store_unavailable', 'Concurrent commits kept moving this organization\'s period usage; try again.', { retry_after_seconds: 1 });
    }
    const amount = charge.amount;

    const { hold } = outcome;
    const eventId = 'use_' + randomBytes(12).toString('base64url');
    const body = {
      id,
      status: 'committed',
      org_id: scope.orgId,
      project_id: hold.projectId,
      user_id: hold.userId,
      amount_requested: amount,
      amount_committed: outcome.charged,
      amount_released: outcome.released,
      variance: amount - hold.amount,
      ...(pricing && priced && charge.lines
        ? { usage: 'usage' in actual ? actual.usage : null, dimensions: priced.dimensions, price: { rate_card_id: pricing.rateCardId, lines: charge.lines } }
        : {}),
      overage: outcome.overage > 0,
      overage_amount: outcome.overage,
      event_ids: [eventId],
      committed_at: now.toISOString(),
    };
    try {
      const written = await this.reservations.insertOutcome(
        scope,
        { id, projectId: hold.projectId, userId: hold.userId, periods: hold.periods },
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
        eventId,
        pricing && 'usage' in actual ? { product: pricing.product, usage: actual.usage, quantityPeriod: month } : null,
      );
      if (written === 'conflict') throw new PlatformError('store_unavailable', 'The reservation ended concurrently; try again.');
    } catch (error) {
      // The store charged what Postgres did not record: rebuild it from Postgres. Fail closed.
      return this.context.undoStore(scope, error);
    }
    return { body, replayed: false };
  }

  /** The actual usage at the hold's rates, from the running quantities known here. */
  /**
   * The rates a commit is priced at: the hold's, or, when the commit reports other dimensions
   * (the provider ran 720p, say), those the hold's card had for them at the hold's instant.
   * Rates are append-only and start no earlier than they are written, so that answer never
   * changes; an override or a card assigned after the hold plays no part.
   */
  private async ratesFor(pricing: ReservationPricing, orgId: string | null, usage: Record<string, number | string>, dimensions?: Record<string, string>) {
    const changed = dimensions !== undefined && Object.entries(dimensions).some(([name, value]) => pricing.dimensions[name] !== value);
    if (!changed || !pricing.pricedAt || orgId === null) return { rates: pricing.rates as ResolvedRate[], dimensions: pricing.dimensions };
    const merged = { ...pricing.dimensions, ...dimensions };
    const price = await this.pricing.execute({
      orgId,
      environment: 'live', // unused: cards and overrides are per organization
      product: pricing.product,
      usage,
      dimensions: merged,
      at: new Date(pricing.pricedAt),
      mode: 'actual',
      rateCardId: pricing.rateCardId,
    });
    return { rates: price.rates, dimensions: merged };
  }

  private price(scope: QuotaScope, product: string, rates: ResolvedRate[], usage: Record<string, number | string>, month: string) {
    const alreadyUsed: Record<string, string> = {};
    const updates: QuantityUpdate[] = [];
    for (const rate of rates) {
      if (rate.tier_scope !== 'period') continue;
      const key = quantityKey(product, rate.dimension, month);
      const expected = this.quantities.get(scope, key) ?? null;
      alreadyUsed[rate.dimension] = expected ?? '0';
      updates.push({ key, expected, next: addQuantity(expected, usage[rate.dimension]) });
    }
    const price = this.pricing.priceWithRecordedRates(rates, usage, 'actual', alreadyUsed);
    return { amount: price.total, lines: price.lines, updates };
  }
}

function overageRule(policy: OveragePolicy, percent: number | null): OverageRule {
  switch (policy) {
    case 'allow':
      return { kind: 'allow' };
    case 'cap_at_hold':
      return { kind: 'cap_at_hold' };
    case 'allow_up_to_percent':
      return { kind: 'up_to_percent', percent: percent ?? 0 };
  }
}

/** The same key and body as the request that ended it: its answer. Anything else: 409. */
export function replayOrRefuse(view: ReservationView, hash: string, wanted: 'committed' | 'released'): EndResult {
  const outcome = view.outcome!;
  if (outcome.status === wanted && outcome.requestHash && outcome.response) {
    if (outcome.requestHash === hash) return { body: outcome.response, replayed: true };
    if (sameKey(outcome.requestHash, hash)) {
      throw new PlatformError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.');
    }
  }
  throw notHeld(view, outcome.status);
}

export function notHeld(view: ReservationView, status: string): ReservationError {
  return new ReservationError('reservation_not_held', `Reservation '${view.id}' is ${status}, not held.`, { reservation_status: status });
}
