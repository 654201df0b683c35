import { Global, Module } from '@nestjs/common';
import { HoldLedger, QuotaModule } from '@tollgate/quota';
import { TenancyModule } from '@tollgate/tenancy';
import { RateCardsModule } from '@tollgate/rate-cards';
import { ReservationRepository } from './adapters/mikro-orm/reservation.repository';
import { QuotesController, ReservationsController } from './http/reservations.controller';
import { QuoteUseCase } from './usecases/quote/quote.usecase';
import { CommitReservationUseCase } from './usecases/commit-reservation/commit-reservation.usecase';
import { ExpireHoldsUseCase } from './usecases/expire-holds/expire-holds.usecase';
import { ExtendReservationUseCase } from './usecases/extend-reservation/extend-reservation.usecase';
import { GetReservationUseCase } from './usecases/get-reservation/get-reservation.usecase';
import { ListReservationsUseCase } from './usecases/list-reservations/list-reservations.usecase';
import { ReleaseReservationUseCase } from './usecases/release-reservation/release-reservation.usecase';
import { ReservationContext } from './usecases/reservation-context';
import { ReserveUseCase } from './usecases/reserve/reserve.usecase';
import { AdmissionPricing } from './usecases/admission-pricing';
import { RunningQuantities } from './usecases/running-quantities';
import { ReserveBatchUseCase } from './usecases/reserve-batch/reserve-batch.usecase';

/**
 * Reserve, commit, release, extend, expire. Global only to hand the quota module its
 * HoldLedger (what a rebuild reads) without the quota module depending on this one.
 */
@Global()
@Module({
  imports: [TenancyModule, QuotaModule, RateCardsModule],
  controllers: [ReservationsController, QuotesController],
  providers: [
    ReservationRepository,
    { provide: HoldLedger, useExisting: ReservationRepository },
    ReservationContext,
    ReserveUseCase,
    AdmissionPricing,
    RunningQuantities,
    QuoteUseCase,
    ReserveBatchUseCase,
    CommitReservationUseCase,
    ReleaseReservationUseCase,
    ExtendReservationUseCase,
    GetReservationUseCase,
    ListReservationsUseCase,
    ExpireHoldsUseCase,
  ],
  exports: [HoldLedger],
})
export class ReservationsModule {}
