import Redis from 'ioredis';
import { QuotaStore } from '@tollgate/quota';
import type { TestApp } from './create-test-app';
import { deleteKeysMatching } from './redis-keys';
import { testRedisUrl } from './test-env';

/** How a suite runs the app: on Postgres and Redis, or embedded (PGlite and the in-process store). */
export interface StoreMode {
  name: string;
  embedded: boolean;
  /**
   * The quota store loses the organization's live scope (its Redis keys deleted, or the
   * in-process store unloaded), so the next operation rebuilds it from Postgres. True when the
   * store had it: what follows is then a rebuild, not a first load.
   */
  loseStore(t: TestApp, org: string): Promise<boolean>;
}

export const STORE_MODES: StoreMode[] = [
  {
    name: 'Postgres + Redis',
    embedded: false,
    async loseStore(_t, org) {
      const redis = new Redis(testRedisUrl());
      try {
        const had = (await redis.keys(`*{${org}:live}*`)).length > 0;
        await deleteKeysMatching(redis, `*{${org}:live}*`);
        return had;
      } finally {
        redis.disconnect();
      }
    },
  },
  {
    name: 'embedded (PGlite, in-process store)',
    embedded: true,
    async loseStore(t, org) {
      const scope = { orgId: org, environment: 'live' as const };
      const store = t.app.get(QuotaStore);
      const had = await store.isLoaded(scope);
      await store.unload(scope);
      return had;
    },
  },
];
