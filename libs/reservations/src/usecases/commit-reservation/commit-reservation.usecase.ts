import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock, PlatformError } from '@tollgate/platform';
import { EnsureScopeLoadedUseCase, QuotaStore } from '@tollgate/quota';
import { CallContext } from '@tollgate/tenancy';
import { chargeFor, requestHash, ReservationView, sameKey, statusOf } from '../../domain/reservation';
import { ReservationError } from '../../domain/reservation.error';
import { ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { ReservationContext } from '../reservation-context';

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
  ) {}

  async execute(ctx: CallContext, id: string, idempotencyKey: string, amount: number, canonicalBody: string): Promise<EndResult> {
    const view = await this.context.reservation(ctx, id);
    const hash = requestHash(idempotencyKey, canonicalBody);
    if (view.outcome) return replayOrRefuse(view, hash, 'committed');
    const now = this.clock.now();
    if (statusOf(view, now) !== 'held') throw notHeld(view, 'expired');

    const { org, scope } = await this.context.forOrg(ctx, view.orgId);
    const charge = chargeFor(amount, view.amount, org.overagePolicy, org.overagePercent);
    const outcome = await this.loader.run(scope, () => this.store.commit(scope, id, charge, now));
    if (outcome.kind === 'not_held') {
      // Ended meanwhile (a concurrent commit, a release, the sweeper): answer from its record.
      const latest = await this.reservations.findView(id);
      if (latest?.outcome) return replayOrRefuse(latest, hash, 'committed');
      throw notHeld(view, 'expired');
    }

    const eventId = 'use_' + randomBytes(12).toString('base64url');
    const body = {
      id,
      status: 'committed',
      org_id: view.orgId,
      project_id: view.projectId,
      user_id: view.userId,
      amount_requested: amount,
      amount_committed: outcome.charged,
      amount_released: outcome.released,
      variance: amount - view.amount,
      overage: outcome.overage > 0,
      overage_amount: outcome.overage,
      event_ids: [eventId],
      committed_at: now.toISOString(),
    };
    try {
      const written = await this.reservations.insertOutcome(
        scope,
        view,
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
      );
      if (written === 'conflict') throw new PlatformError('store_unavailable', 'The reservation ended concurrently; try again.');
    } catch (error) {
      // The store charged what Postgres did not record: rebuild it from Postgres. Fail closed.
      return this.context.undoStore(scope, error);
    }
    return { body, replayed: false };
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
