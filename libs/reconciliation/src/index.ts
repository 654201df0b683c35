export * from './reconciliation.module';
export * from './domain/variance';
export * from './domain/spend';
export * from './domain/ledger-export';
