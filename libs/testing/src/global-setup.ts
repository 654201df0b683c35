import { Client } from 'pg';
import { testDatabaseUrl, testRedisUrl } from './test-env';
import Redis from 'ioredis';
import { deleteKeysMatching } from './redis-keys';

/** Once per `npm test`: an empty schema (migrations run as each app boots) and a reachable Redis. */
export default async function globalSetup(): Promise<void> {
  const url = testDatabaseUrl();
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`Integration tests need Postgres at ${url}: ${(error as Error).message}. Start it (see README) or set DATABASE_URL.`);
  }
  await client.query('drop schema if exists public cascade');
  await client.query('create schema public');
  await client.end();

  const redisUrl = testRedisUrl();
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5_000 });
  try {
    await redis.connect();
    await redis.ping();
    // The suites' own keys (prefix tgtest:, see create-test-app) from an earlier run point at
    // rows the schema reset just dropped: remove them. Nothing else in Redis is touched.
    await deleteKeysMatching(redis, 'tgtest:*');
  } catch (error) {
    throw new Error(`Integration tests need Redis at ${redisUrl}: ${(error as Error).message}. Start it (see README) or set REDIS_URL.`);
  } finally {
    redis.disconnect();
  }
}
