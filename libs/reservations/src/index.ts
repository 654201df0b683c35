export * from './reservations.module';
export * from './domain/reservation';
export * from './domain/reservation.error';
export * from './domain/usage-event';
export { ExpireHoldsUseCase } from './usecases/expire-holds/expire-holds.usecase';
export { MikroOrmHoldLedger } from './adapters/mikro-orm/hold-ledger.adapter';
