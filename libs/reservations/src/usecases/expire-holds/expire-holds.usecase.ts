import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { Clock, MetricsService } from '@tollgate/platform';
import { QuotaScope, QuotaStore } from '@tollgate/quota';
import { Counter } from 'prom-client';
import { ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { expiredEvent } from '../reservation-signals';

const SWEEP_EVERY_MS = 1_000;
const SCOPES_PER_SWEEP = 200;
const HOLDS_PER_CALL = 500;

/**
 * A hold neither committed nor released is released at its expiry, by nobody's call: every
 * second the store's due holds are released atomically and recorded. If the record fails,
 * nothing is lost: a hold past its expiry reads as expired and is left out of any rebuild.
 */
@Injectable()
export class ExpireHoldsUseCase {
  private readonly logger = new Logger('ExpireHolds');
  private readonly expired: Counter;
  private running = false;

  constructor(
    private readonly store: QuotaStore,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
    metrics: MetricsService,
  ) {
    this.expired = new Counter({
      name: 'tollgate_holds_expired_total',
      help: 'Holds released at their expiry by the sweeper',
      registers: [metrics.registry],
    });
  }

  private async expireScope(scope: QuotaScope, now: Date): Promise<number> {
    let total = 0;
    for (let more = true; more;) {
      const outcome = await this.store.expireDue(scope, now.getTime(), HOLDS_PER_CALL);
      if (outcome.kind !== 'expired') break;
      more = outcome.more;
      this.expired.inc(outcome.holds.length);
      total += outcome.holds.length;
      // For the signals' metadata: one read per call, best effort (the signal must go out with
      // the outcome row even when this read fails; it then says metadata null).
      const metadata = await this.reservations.findMetadata(outcome.holds.map((h) => h.holdId)).catch(() => new Map());
      // Concurrent writes: the group-commit writer sends them in one round trip, each outcome
      // with its reservation.expired signal.
      await Promise.all(
        outcome.holds.map((hold) =>
          this.reservations.insertOutcome(
            scope,
            { id: hold.holdId, projectId: hold.projectId, userId: hold.userId, periods: hold.periods },
            {
              reservationId: hold.holdId,
              status: 'expired',
              amountCommitted: 0,
              amountReleased: hold.amount,
              overage: 0,
              reason: 'expired',
              requestHash: null,
              response: null,
              createdAt: now,
            },
            undefined,
            [expiredEvent(scope, hold, (metadata.get(hold.holdId) as Record<string, unknown> | null | undefined) ?? null)],
          ),
        ),
      );
    }
    return total;
  }

  @Interval(SWEEP_EVERY_MS)
  async sweep(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    let total = 0;
    try {
      const now = this.clock.now();
      for (const scope of await this.store.scopesWithDueHolds(now.getTime(), SCOPES_PER_SWEEP)) {
        try {
          total += await this.expireScope(scope, now);
        } catch (error) {
          // One organization's failure must not starve the others; its holds are already
          // released in the store, and a hold past its expiry reads as expired in Postgres.
          this.logger.warn(`expiring holds of ${scope.orgId}:${scope.environment} failed: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      this.logger.warn(`expiry sweep failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
    return total;
  }
}
