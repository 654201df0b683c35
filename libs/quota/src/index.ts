export * from './domain/period';
export * from './domain/quota';
export * from './domain/quota.error';
export { QUOTA_ID_PATTERN } from './domain/quota-validation';
export * from './ports/quota-store.port';
export * from './quota-store.module';
