import { Injectable } from '@nestjs/common';
import { Clock, PlatformError } from '@tollgate/platform';
import { EnsureScopeLoadedUseCase, QuotaStore } from '@tollgate/quota';
import { CallContext } from '@tollgate/tenancy';
import { requestHash, statusOf } from '../../domain/reservation';
import { ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { EndResult, notHeld, replayOrRefuse } from '../reservation-answers';
import { ReservationContext } from '../reservation-context';

/** Returns the whole hold to every level (the generation failed, or was cancelled). */
@Injectable()
export class ReleaseReservationUseCase {
  constructor(
    private readonly context: ReservationContext,
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, id: string, idempotencyKey: string, reason: string | null, canonicalBody: string): Promise<EndResult> {
    const view = await this.context.reservation(ctx, id);
    const hash = requestHash(idempotencyKey, canonicalBody);
    if (view.outcome) return replayOrRefuse(view, hash, 'released');
    const now = this.clock.now();
    if (statusOf(view, now) !== 'held') throw notHeld(view, 'expired');
    const scope = { orgId: view.orgId, environment: view.environment };
    const outcome = await this.loader.run(scope, () => this.store.release(scope, id));
    if (outcome.kind === 'not_held') {
      const latest = await this.reservations.findView(id);
      if (latest?.outcome) return replayOrRefuse(latest, hash, 'released');
      throw notHeld(view, 'expired');
    }
    const body = { id, status: 'released', amount_released: view.amount, reason, released_at: now.toISOString() };
    try {
      const written = await this.reservations.insertOutcome(scope, view, {
        reservationId: id,
        status: 'released',
        amountCommitted: 0,
        amountReleased: view.amount,
        overage: 0,
        reason,
        requestHash: hash,
        response: body,
        createdAt: now,
      });
      if (written === 'conflict') throw new PlatformError('store_unavailable', 'The reservation ended concurrently; try again.');
    } catch (error) {
      return this.context.undoStore(scope, error);
    }
    return { body, replayed: false };
  }
}
