export * from './reconciliation.module';
export * from './domain/variance';
