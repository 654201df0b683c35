import { Global, Module } from '@nestjs/common';
import { RedisConfig } from '@tollgate/config';
import { RedisConnections } from '../redis/redis.module';
import { InProcessInvalidationBus } from './in-process-invalidation-bus.adapter';
import { InvalidationBus } from './invalidation-bus.port';
import { RedisInvalidationBus } from './redis-invalidation-bus.adapter';

@Global()
@Module({
  providers: [
    {
      provide: InvalidationBus,
      inject: [RedisConnections, RedisConfig],
      useFactory: (redis: RedisConnections, config: RedisConfig) =>
        redis.command && redis.subscriber
          ? new RedisInvalidationBus(redis.command, redis.subscriber, config.keyPrefix)
          : new InProcessInvalidationBus(),
    },
  ],
  exports: [InvalidationBus],
})
export class CacheModule {}
