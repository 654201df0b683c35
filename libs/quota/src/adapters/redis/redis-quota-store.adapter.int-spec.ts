import fc from 'fast-check';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { quotaScenarioArbitrary, quotaStoreContract, runQuotaScenario } from '../../../../testing/contracts/quota-store.contract';
import { QuotaScope } from '../../domain/quota';
import { InMemoryQuotaStore } from '../in-memory/in-memory-quota-store.adapter';
import { RedisQuotaKeys } from './redis-quota-keys';
import { RedisQuotaStore } from './redis-quota-store.adapter';
import { deleteKeysMatching } from '../../../../testing/src/redis-keys';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://localhost:6379';

/** Every key a run writes lives under its own prefix; cleanup deletes exactly those. */
const deleteUnder = (redis: Redis, prefix: string) => deleteKeysMatching(redis, `${prefix}*`);

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

describe('RedisQuotaStore', () => {
  let redis: Redis;
  let prefix: string;
  let sut: RedisQuotaStore;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    prefix = `tgtest:quota:${randomUUID()}:`;
    sut = new RedisQuotaStore(redis, prefix);
  });
  afterAll(async () => {
    await deleteUnder(redis, prefix);
    await redis.quit();
  });

  it('decides exactly as the in-memory store, step by step, including reconfigurations and lagging clocks', async () => {
    await fc.assert(
      fc.asyncProperty(quotaScenarioArbitrary({ reconfigure: true }), async (scenario) => {
        const scope: QuotaScope = { orgId: `org-${randomUUID()}`, environment: 'test' };
        const reference = await runQuotaScenario(new InMemoryQuotaStore(), scope, scenario);
        expect(await runQuotaScenario(sut, scope, scenario)).toEqual(reference);
      }),
      { numRuns: 150 },
    );
  }, 180_000);

  it('keeps every key of a scope under one hash tag, in the configured prefix', async () => {
    const scope: QuotaScope = { orgId: `org:${randomUUID()}`, environment: 'live' };
    await sut.load(scope, { nodes: [], defaultUserConfigs: [], holds: [], committed: [] });
    await sut.reserve(scope, { holdId: 'h1', projectId: 'p', userId: 'u', amount: 5, expiresAtMs: Date.now() + 60_000 }, new Date());
    const written = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}{${scope.orgId}*`, 'COUNT', 1000);
      written.push(...found);
      cursor = next;
    } while (cursor !== '0');
    expect(written.sort()).toEqual([`${prefix}{${scope.orgId}:live}:v2:s`, `${prefix}{${scope.orgId}:live}:v2:x`]);
  });

  it('refuses a key prefix with braces, which would change the hash tag', () => {
    expect(() => new RedisQuotaStore(redis, 'tg:{x}:')).toThrow(/braces/);
  });
});
