import { Injectable } from '@nestjs/common';
import { CallContext } from '@tollgate/tenancy';
import { ReservationView } from '../../domain/reservation';
import { ReservationContext } from '../reservation-context';

@Injectable()
export class GetReservationUseCase {
  constructor(private readonly context: ReservationContext) {}

  execute(ctx: CallContext, id: string): Promise<ReservationView> {
    return this.context.reservation(ctx, id);
  }
}
