/**
 * Where integration tests find Postgres and Redis: DATABASE_URL / REDIS_URL (CI sets both),
 * else the local defaults. There is no skip: a suite that finds no server fails.
 */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL ?? 'postgresql://postgres@localhost:5432/test';
  const name = new URL(url).pathname.slice(1);
  if (!name.includes('test')) {
    throw new Error(`Refusing to run tests against database '${name}': its name must contain 'test' (tests truncate it).`);
  }
  return url;
}

export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://localhost:6379';
}
