import { DynamicModule, Global, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { RedisConfig } from '@tollgate/config';

/**
 * The process's Redis connections, or none in embedded mode. Commands fail fast when Redis
 * is unreachable (no offline queue): admission must fail closed, not wait in a queue.
 */
export class RedisConnections {
  constructor(
    readonly command: Redis | null,
    /** A second connection for SUBSCRIBE, which blocks a connection for anything else. */
    readonly subscriber: Redis | null,
  ) {}

  static create(config: RedisConfig): RedisConnections {
    if (!config.url) return new RedisConnections(null, null);
    const options = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
    };
    // Auto-pipelining: every command issued in one tick goes out in one write, so concurrent
    // admissions share socket writes (the syscalls were ~10% of the hot path's CPU).
    const command = new Redis(config.url, { ...options, enableAutoPipelining: true, connectionName: 'tollgate' });
    // The subscriber keeps its queue so a subscription made before the connection is up is kept.
    const subscriber = new Redis(config.url, {
      ...options,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      connectionName: 'tollgate-sub',
    });
    const logger = new Logger('Redis');
    for (const client of [command, subscriber]) client.on('error', (err) => logger.warn(`redis: ${err.message}`));
    return new RedisConnections(command, subscriber);
  }

  async close(): Promise<void> {
    // quit() waits for a connection that may never come (Redis down): only ask a live one.
    await Promise.all(
      [this.command, this.subscriber].map(async (c) => {
        if (!c) return;
        if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
        else c.disconnect();
      }),
    );
  }
}

@Global()
@Module({})
export class RedisModule implements OnApplicationShutdown {
  constructor(private readonly connections: RedisConnections) {}

  static forRoot(): DynamicModule {
    const provider = { provide: RedisConnections, inject: [RedisConfig], useFactory: (c: RedisConfig) => RedisConnections.create(c) };
    return { module: RedisModule, providers: [provider], exports: [RedisConnections] };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.connections.close();
  }
}
