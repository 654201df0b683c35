import 'reflect-metadata';
import { ConfigError, loadConfig } from '@tollgate/config';
import { createOrm, EmbeddedPostgres, migrate } from '@tollgate/platform';
import { QUOTA_ENTITIES } from '@tollgate/quota';
import { TENANCY_ENTITIES } from '@tollgate/tenancy';
import { MIGRATIONS } from './migrations';

/** `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded store) and exits. */
async function main(): Promise<void> {
  const config = loadConfig(process.env, { forService: false });
  const embedded = config.database.embedded ? await EmbeddedPostgres.start(config.database.embeddedDataDir, 4) : undefined;
  const orm = await createOrm(config.database, { entities: [...TENANCY_ENTITIES, ...QUOTA_ENTITIES], migrations: MIGRATIONS }, embedded);
  try {
    const applied = await migrate(orm);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
  } finally {
    await orm.close(true);
    await embedded?.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
});
