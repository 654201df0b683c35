import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { quotaStoreContract } from '../../../../testing/contracts/quota-store.contract';
import { RedisQuotaKeys } from './redis-quota-keys';
import { RedisQuotaStore } from './redis-quota-store.adapter';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://localhost:6379';

/** Every key this run writes lives under its own prefix; cleanup deletes exactly those. */
async function deleteUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

quotaStoreContract('redis', async () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const prefix = `tgtest:quota:${randomUUID()}:`;
  const keys = new RedisQuotaKeys(prefix);
  return {
    store: new RedisQuotaStore(redis, prefix),
    cleanup: async () => {
      await deleteUnder(redis, prefix);
      await redis.quit();
    },
    forget: async (scope) => {
      await redis.del(...keys.scope(scope));
    },
  };
});
