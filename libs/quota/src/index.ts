export * from './domain/period';
export * from './domain/quota';
export * from './domain/quota.error';
export { QUOTA_ID_PATTERN } from './domain/quota-validation';
export * from './ports/quota-store.port';
export * from './domain/hierarchy';
export * from './quota.module';
export { QUOTA_ENTITIES } from './adapters/mikro-orm/quota.entities';
export { EnsureScopeLoadedUseCase } from './usecases/ensure-scope-loaded/ensure-scope-loaded.usecase';
