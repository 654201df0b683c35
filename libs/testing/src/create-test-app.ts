import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@tollgate/config';
import { Clock } from '@tollgate/platform';
import { createApp } from '../../../apps/tollgate/bootstrap';
import type { AppModuleOptions } from '../../../apps/tollgate/app.module';
import { testDatabaseUrl, testRedisUrl } from './test-env';
import { TestClient } from './test-client';

export const TEST_PLATFORM_KEY = 'tg_platform_test_harness_0123456789abcdef';

export interface TestAppOptions extends AppModuleOptions {
  /** PGlite in memory and in-process stores, as `npm start` runs with no configuration. */
  embedded?: boolean;
  /** Extra environment variables for loadConfig. */
  env?: Record<string, string>;
  clock?: Clock;
  /** Collects log lines (JSON strings) when given; pair with env LOG_LEVEL to see them. */
  logLines?: string[];
}

export interface TestApp {
  app: NestFastifyApplication;
  client: TestClient;
  platformKey: string;
  close(): Promise<void>;
}

/** Boots the real application (same module, pipes, filters and hooks as main.ts). */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  // One key for every app of a test run: the configured platform key is a single row, so an
  // app booting with another key would revoke the key of an app still running beside it.
  const platformKey = options.env?.TOLLGATE_PLATFORM_KEY ?? TEST_PLATFORM_KEY;
  const env: Record<string, string> = {
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    TOLLGATE_PLATFORM_KEY: platformKey,
    // Tests keep their Redis keys apart from a service running on the same Redis.
    ...(options.embedded
      ? { PGLITE_DATA_DIR: 'memory://' }
      : { DATABASE_URL: testDatabaseUrl(), REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: 'tgtest:' }),
    ...options.env,
  };
  const logLines = options.logLines;
  const logDestination = logLines ? { write: (line: string) => void logLines.push(line) } : undefined;
  const app = await createApp(loadConfig(env), { clock: options.clock, extraImports: options.extraImports, logDestination });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    client: new TestClient(app, platformKey),
    platformKey,
    close: () => app.close(),
  };
}

/** A unique id per test, so suites share one database without seeing each other's rows. */
export function uniqueId(prefix = 'org'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}
