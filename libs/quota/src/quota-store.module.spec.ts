import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import { InMemoryQuotaStore } from './adapters/in-memory/in-memory-quota-store.adapter';
import { RedisQuotaStore } from './adapters/redis/redis-quota-store.adapter';
import { QuotaStore } from './ports/quota-store.port';
import { QuotaStoreModule } from './quota-store.module';

describe('QuotaStoreModule', () => {
  it('provides the in-memory store under the QuotaStore token', async () => {
    const app = await Test.createTestingModule({ imports: [QuotaStoreModule.register({ store: 'memory' })] }).compile();
    expect(app.get(QuotaStore)).toBeInstanceOf(InMemoryQuotaStore);
  });

  it('provides the Redis store on the connection it is given', async () => {
    const redis = new Redis({ lazyConnect: true });
    const app = await Test.createTestingModule({ imports: [QuotaStoreModule.register({ store: 'redis', redis, prefix: 'tgtest:q:' })] }).compile();
    expect(app.get(QuotaStore)).toBeInstanceOf(RedisQuotaStore);
    redis.disconnect();
  });
});
