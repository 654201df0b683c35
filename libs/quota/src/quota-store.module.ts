import { DynamicModule, Module } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { InMemoryQuotaStore } from './adapters/in-memory/in-memory-quota-store.adapter';
import { RedisQuotaStore } from './adapters/redis/redis-quota-store.adapter';
import { QuotaStore } from './ports/quota-store.port';

export type QuotaStoreOptions =
  /** Shared by every instance; `prefix` namespaces the keys (e.g. RedisConfig.keyPrefix + 'q:'). */
  | { store: 'redis'; redis: Redis | Cluster; prefix: string }
  /** One process only (embedded mode, unit tests). */
  | { store: 'memory' };

/** Provides QuotaStore; the composition root picks the adapter from typed config. */
@Module({})
export class QuotaStoreModule {
  static register(options: QuotaStoreOptions): DynamicModule {
    const provider = {
      provide: QuotaStore,
      useFactory: (): QuotaStore => (options.store === 'redis' ? new RedisQuotaStore(options.redis, options.prefix) : new InMemoryQuotaStore()),
    };
    return { module: QuotaStoreModule, providers: [provider], exports: [QuotaStore] };
  }
}
