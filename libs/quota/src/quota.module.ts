import { DynamicModule, Module, Provider, Type } from '@nestjs/common';
import { RedisConfig } from '@tollgate/config';
import { RedisConnections } from '@tollgate/platform';
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
import { HoldLedger } from './ports/hold-ledger.port';

export interface QuotaModuleOptions {
  /** The application's one tenancy module (organizations, settings, auth). */
  tenancy: DynamicModule;
  /** Where admissions are decided: Redis Lua scripts (any number of instances) or in-process (one). */
  store: 'redis' | 'in-memory';
  /** The adapter of the HoldLedger port (what the reservations module recorded; a rebuild reads it). */
  holdLedger: Type<HoldLedger>;
}

function storeProvider(kind: QuotaModuleOptions['store']): Provider {
  if (kind === 'in-memory') return { provide: QuotaStore, useValue: new InMemoryQuotaStore() };
  return {
    provide: QuotaStore,
    inject: [RedisConnections, RedisConfig],
    useFactory: (redis: RedisConnections, config: RedisConfig): QuotaStore => {
      if (!redis.command) throw new Error('the Redis quota store needs REDIS_URL');
      return new RedisQuotaStore(redis.command, config.keyPrefix + 'q:');
    },
  };
}

/** The hierarchy, limits, periods and credit grants, and the store admissions are decided in. */
@Module({})
export class QuotaModule {
  static register(options: QuotaModuleOptions): DynamicModule {
    return {
      module: QuotaModule,
      imports: [options.tenancy],
      controllers: [QuotaController],
      providers: [storeProvider(options.store), { provide: HoldLedger, useClass: options.holdLedger }, ...PROVIDERS],
      exports: [QuotaStore, EnsureScopeLoadedUseCase, HierarchyRepository, GrantCreditsUseCase],
    };
  }
}

const PROVIDERS = [
  HierarchyRepository,
  EnsureScopeLoadedUseCase,
  SyncCreditPoolUseCase,
  ComputeCreditPoolUseCase,
  PutProjectUseCase,
  PutUserUseCase,
  GrantCreditsUseCase,
  ListCreditsUseCase,
  GetUsageTreeUseCase,
];
