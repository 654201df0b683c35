import { Injectable } from '@nestjs/common';
import { Clock, PlatformError } from '@tollgate/platform';
import { EnsureScopeLoadedUseCase, QuotaStore } from '@tollgate/quota';
import { CallContext } from '@tollgate/tenancy';
import { ReservationView, statusOf } from '../../domain/reservation';
import { ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { notHeld } from '../reservation-answers';
import { ReservationContext } from '../reservation-context';

/** A long job keeps its hold: the new expiry is now + ttl_seconds, ttl within the organization's maximum. */
@Injectable()
export class ExtendReservationUseCase {
  constructor(
    private readonly context: ReservationContext,
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, id: string, ttlSeconds: number): Promise<ReservationView> {
    const view = await this.context.reservation(ctx, id);
    const { settings, scope } = await this.context.forOrg(ctx, view.orgId);
    if (ttlSeconds > settings.max_ttl_seconds) {
      throw PlatformError.validation([{ field: 'ttl_seconds', message: `ttl_seconds must not exceed ${settings.max_ttl_seconds}` }]);
    }
    const now = this.clock.now();
    const status = statusOf(view, now);
    if (status !== 'held') throw notHeld(view, status);
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    const outcome = await this.loader.run(scope, () => this.store.extend(scope, id, expiresAt.getTime(), now));
    if (outcome.kind === 'not_held') throw notHeld(view, 'ended');
    try {
      await this.reservations.insertExtension(id, expiresAt, now);
    } catch (error) {
      return this.context.undoStore(scope, error);
    }
    return { ...view, currentExpiresAt: expiresAt };
  }
}
