import { DynamicModule, Module } from '@nestjs/common';
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
import { ActualPricing } from './usecases/actual-pricing';
import { AdjustCommitUseCase } from './usecases/adjust-commit/adjust-commit.usecase';
import { AdjustmentRepository } from './adapters/mikro-orm/adjustment.repository';

/**
 * Reserve, commit, release, extend, expire. The quota module's HoldLedger port is answered by
 * MikroOrmHoldLedger, which the composition root hands to QuotaModule.register.
 */
@Module({})
export class ReservationsModule {
  /** The application's one instance of each module this one uses. */
  static register(modules: { tenancy: DynamicModule; quota: DynamicModule; rateCards: DynamicModule }): DynamicModule {
    return {
      module: ReservationsModule,
      imports: [modules.tenancy, modules.quota, modules.rateCards],
      controllers: [ReservationsController, QuotesController],
      providers: PROVIDERS,
      // For reconciliation's provider usage import (decision 023).
      exports: [AdjustCommitUseCase],
    };
  }
}

const PROVIDERS = [
  ReservationRepository,
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
  ActualPricing,
  AdjustmentRepository,
  AdjustCommitUseCase,
];
