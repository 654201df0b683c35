export * from './reservations.module';
export * from './domain/reservation';
export * from './domain/reservation.error';
