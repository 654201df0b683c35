import { Module } from '@nestjs/common';
import { RedisConfig } from '@tollgate/config';
import { RedisConnections } from '@tollgate/platform';
import { TenancyModule } from '@tollgate/tenancy';
import { HierarchyRepository } from './adapters/mikro-orm/hierarchy.repository';
import { InMemoryQuotaStore } from './adapters/in-memory/in-memory-quota-store.adapter';
import { RedisQuotaStore } from './adapters/redis/redis-quota-store.adapter';
import { QuotaController } from './http/quota.controller';
import { QuotaStore } from './ports/quota-store.port';
import { EnsureScopeLoadedUseCase } from './usecases/ensure-scope-loaded/ensure-scope-loaded.usecase';
import { GetUsageTreeUseCase } from './usecases/get-usage-tree/get-usage-tree.usecase';
import { GrantCreditsUseCase } from './usecases/grant-credits/grant-credits.usecase';
import { ListCreditsUseCase } from './usecases/list-credits/list-credits.usecase';
import { PutProjectUseCase } from './usecases/put-project/put-project.usecase';
import { PutUserUseCase } from './usecases/put-user/put-user.usecase';
import { SyncCreditPoolUseCase } from './usecases/sync-credit-pool/sync-credit-pool.usecase';
import { ComputeCreditPoolUseCase } from './usecases/compute-credit-pool/compute-credit-pool.usecase';

const store = {
  provide: QuotaStore,
  inject: [RedisConnections, RedisConfig],
  useFactory: (redis: RedisConnections, config: RedisConfig): QuotaStore =>
    redis.command ? new RedisQuotaStore(redis.command, config.keyPrefix + 'q:') : new InMemoryQuotaStore(),
};

/**
 * The hierarchy, limits, periods and credit grants, and the store admissions are decided in.
 * The adapter follows configuration: Redis when REDIS_URL is set, else in-process (one instance).
 */
@Module({
  imports: [TenancyModule],
  controllers: [QuotaController],
  providers: [
    store,
    HierarchyRepository,
    EnsureScopeLoadedUseCase,
    SyncCreditPoolUseCase,
    ComputeCreditPoolUseCase,
    PutProjectUseCase,
    PutUserUseCase,
    GrantCreditsUseCase,
    ListCreditsUseCase,
    GetUsageTreeUseCase,
  ],
  exports: [QuotaStore, EnsureScopeLoadedUseCase, HierarchyRepository],
})
export class QuotaModule {}
