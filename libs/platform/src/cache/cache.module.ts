import { DynamicModule, Global, Module, Provider } from '@nestjs/common';
import { RedisConfig } from '@tollgate/config';
import { RedisConnections } from '../redis/redis.module';
import { InProcessInvalidationBus } from './in-process-invalidation-bus.adapter';
import { InvalidationBus } from './invalidation-bus.port';
import { RedisInvalidationBus } from './redis-invalidation-bus.adapter';

function busProvider(kind: 'redis' | 'in-process'): Provider {
  if (kind === 'in-process') return { provide: InvalidationBus, useValue: new InProcessInvalidationBus() };
  return {
    provide: InvalidationBus,
    inject: [RedisConnections, RedisConfig],
    useFactory: (redis: RedisConnections, config: RedisConfig) => {
      if (!redis.command || !redis.subscriber) throw new Error('the Redis invalidation bus needs REDIS_URL');
      return new RedisInvalidationBus(redis.command, redis.subscriber, config.keyPrefix);
    },
  };
}

/**
 * The invalidation bus every in-process cache listens on: over Redis pub/sub between
 * instances, or in-process for the single embedded instance. Infrastructure every module may
 * use, so global; which bus is the composition root's choice.
 */
@Global()
@Module({})
export class CacheModule {
  static forRoot(options: { bus: 'redis' | 'in-process' }): DynamicModule {
    return { module: CacheModule, providers: [busProvider(options.bus)], exports: [InvalidationBus] };
  }
}
