export * from './reconciliation.module';
export * from './domain/variance';
export * from './domain/spend';
export * from './domain/provider-usage';
export * from './domain/reconciliation.error';
export * from './domain/ledger-export';
