import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { CallContext } from '@tollgate/tenancy';
import { ReservationView } from '../../domain/reservation';
import { ReservationFilter, ReservationRepository } from '../../adapters/mikro-orm/reservation.repository';
import { ReservationContext } from '../reservation-context';

@Injectable()
export class ListReservationsUseCase {
  constructor(
    private readonly context: ReservationContext,
    private readonly reservations: ReservationRepository,
    private readonly clock: Clock,
  ) {}

  /** Newest first, in the caller's environment; an organization key lists its own organization only. */
  async execute(
    ctx: CallContext,
    orgId: string,
    filter: ReservationFilter,
    before: { createdAt: string; id: string } | undefined,
    limit: number,
  ): Promise<ReservationView[]> {
    const { scope } = await this.context.forOrg(ctx, orgId);
    return this.reservations.list(scope, filter, before, limit, this.clock.now());
  }
}
