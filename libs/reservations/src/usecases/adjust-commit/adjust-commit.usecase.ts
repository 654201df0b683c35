import { Injectable } from '@nestjs/common';
import { Clock, PlatformError, TollgateError } from '@tollgate/platform';
import { chargeFor, EnsureScopeLoadedUseCase, HoldPeriods, QuotaScope, QuotaStore } from '@tollgate/quota';
import { GetOrganizationUseCase } from '@tollgate/tenancy';
import { PriceResult } from '@tollgate/rate-cards';
import { AdjustmentRepository } from '../../adapters/mikro-orm/adjustment.repository';
import { adjustmentEntryId, correctionEvents, corrections, TargetLine, targetLines } from '../../domain/adjustment';
import { Environment, ReservationPricing } from '../../domain/reservation';
import { ActualPricing, ActualUsage, overageRule, PricedUse } from '../actual-pricing';

/** A committed reservation as a provider usage record matched it. */
export interface CommitToAdjust {
  reservationId: string;
  orgId: string;
  environment: Environment;
  projectId: string;
  userId: string;
  /** The periods the hold was admitted in: an adjustment is charged there, like its commit. */
  periods: HoldPeriods;
  holdAmount: number;
  /** null: a raw amount, which no usage can be priced against. */
  pricing: ReservationPricing | null;
  provider: string;
  providerRequestId: string;
}

export type AdjustCommitResult =
  /** Already charged what the provider's usage charges: nothing written. */
  | { kind: 'equal'; charged: number }
  | {
      kind: 'adjusted';
      chargedBefore: number;
      chargedAfter: number;
      /** chargedAfter − chargedBefore (0 when only quantities moved, e.g. both above a capped hold). */
      delta: number;
      ledgerEntryId: string;
      eventIds: string[];
    }
  /** The record cannot be priced against this reservation; nothing written. */
  | { kind: 'unadjustable'; reason: string; field: string | null };

/**
 * Corrects a commit to what its provider reported (decision 023). The reservation's total
 * charge becomes what the organization's overage policy charges for the provider's usage priced
 * at the hold's recorded rates (ActualPricing, as the commit priced it; `cap_at_hold` never
 * bills above the hold); the adjustment is that total minus what the commit and earlier
 * adjustments charged. Under the reservation's row lock, in one transaction: the quota store's
 * counters move by the delta in the hold's periods (QuotaStore.adjust), then the signed ledger
 * row, the correction events and their outbox rows are written. If that transaction fails after
 * the store moved, the scope is dropped from the store and rebuilt from Postgres (fail closed).
 */
@Injectable()
export class AdjustCommitUseCase {
  constructor(
    private readonly actualPricing: ActualPricing,
    private readonly organizations: GetOrganizationUseCase,
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly adjustments: AdjustmentRepository,
    private readonly clock: Clock,
  ) {}

  async execute(commit: CommitToAdjust, reported: ActualUsage, reason: string): Promise<AdjustCommitResult> {
    if (!commit.pricing) return unadjustable('the reservation holds a raw amount: no usage can be priced against it', 'usage');
    let priced: PricedUse;
    let price: PriceResult;
    try {
      priced = await this.actualPricing.use(commit.orgId, commit.pricing, reported);
      // Its price depends on the organization's running quantity when the commit was priced,
      // which is not kept per commit: an adjustment could not be priced the same way.
      if (priced.periodTiered) return unadjustable('the hold is priced by a rate whose tiers count the period: adjust it by hand', 'usage');
      price = this.actualPricing.price(priced);
    } catch (error) {
      if (error instanceof TollgateError && error.code !== 'store_unavailable') {
        const field = typeof error.extensions.field === 'string' ? error.extensions.field : null;
        return unadjustable(error.message, field ?? 'usage');
      }
      throw error;
    }
    const org = await this.organizations.findById(commit.orgId);
    if (!org) return unadjustable('the organization no longer exists', null);
    const target = chargeFor(price.total, commit.holdAmount, overageRule(org));
    const lines = targetLines(price.lines, priced.usage, target);
    const scope: QuotaScope = { orgId: commit.orgId, environment: commit.environment };
    const attempt = () => this.write(commit, scope, priced, price, target, lines, reason);
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ScopeNotLoaded)) throw error;
    }
    // Loaded outside the transaction (a rebuild reads Postgres, which the open transaction would
    // hold up when embedded), then once more.
    await this.loader.run(scope, async () =>
      (await this.store.isLoaded(scope)) ? { kind: 'loaded' as const } : { kind: 'not_loaded' as const },
    );
    return attempt().catch((error: unknown) => {
      if (!(error instanceof ScopeNotLoaded)) throw error;
      throw new PlatformError('store_unavailable', 'The quota store keeps losing this organization; import the record again.', {
        retry_after_seconds: 1,
      });
    });
  }

  /** One transaction: lock, read what was charged, move the store, write. ScopeNotLoaded: nothing changed. */
  private async write(
    commit: CommitToAdjust,
    scope: QuotaScope,
    priced: PricedUse,
    price: PriceResult,
    target: number,
    lines: TargetLine[],
    reason: string,
  ): Promise<AdjustCommitResult> {
    let storeMoved = false;
    try {
      const result = await this.adjustments.underLock<AdjustCommitResult>(commit.reservationId, async (charged) => {
        const delta = target - charged.total;
        const moves = corrections(lines, charged.lines);
        if (delta === 0 && moves.length === 0) return { write: null, result: { kind: 'equal', charged: charged.total } };
        const n = charged.adjustments + 1;
        const now = this.clock.now();
        const id = adjustmentEntryId(commit.reservationId, n);
        const events = correctionEvents(
          {
            reservationId: commit.reservationId,
            n,
            orgId: commit.orgId,
            environment: commit.environment,
            projectId: commit.projectId,
            userId: commit.userId,
            product: priced.pricing.product,
            dimensions: priced.dimensions,
            rateCardId: priced.pricing.rateCardId,
            rateIds: Object.fromEntries(priced.rates.map((rate) => [rate.dimension, rate.rate_id])),
            provider: commit.provider,
            providerRequestId: commit.providerRequestId,
            occurredAt: now,
          },
          moves,
        );
        if (delta !== 0) {
          const outcome = await this.store.adjust(scope, {
            projectId: commit.projectId,
            userId: commit.userId,
            periods: commit.periods,
            delta,
          });
          if (outcome.kind === 'not_loaded') throw new ScopeNotLoaded();
          storeMoved = true;
        }
        return {
          write: {
            id,
            reservationId: commit.reservationId,
            orgId: commit.orgId,
            environment: commit.environment,
            projectId: commit.projectId,
            userId: commit.userId,
            amount: delta,
            periods: commit.periods,
            product: priced.pricing.product,
            usage: priced.usage,
            estimate: commit.holdAmount,
            actual: price.total,
            provider: commit.provider,
            providerRequestId: commit.providerRequestId,
            reason,
            events,
            recordedAt: now,
          },
          result: {
            kind: 'adjusted',
            chargedBefore: charged.total,
            chargedAfter: target,
            delta,
            ledgerEntryId: id,
            eventIds: events.map((e) => e.id),
          },
        };
      });
      return result ?? unadjustable('the reservation has no committed outcome', null);
    } catch (error) {
      // The store moved and Postgres did not record it: rebuild the scope from Postgres.
      if (storeMoved) await this.store.unload(scope).catch(() => undefined);
      throw error;
    }
  }
}

/** The store does not hold the scope: roll back, load it, try again. */
class ScopeNotLoaded extends Error {}

function unadjustable(reason: string, field: string | null): AdjustCommitResult {
  return { kind: 'unadjustable', reason, field };
}
