import { DynamicModule, Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { EntityManager, EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Constructor, MigrationObject } from '@mikro-orm/core';
import type { Migration } from '@mikro-orm/migrations';
import { DatabaseConfig } from '@tollgate/config';
import { EmbeddedPostgres } from './embedded-postgres';
import { GroupCommitWriter } from './group-commit.writer';

export interface DatabaseModuleOptions {
  // MikroORM's schemas are generic over their row type; the list holds any of them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  entities: EntitySchema<any>[];
  migrations: { name: string; class: Constructor<Migration> }[];
}

const EMBEDDED = Symbol('embedded-postgres');
/** Any fixed 64-bit number; every instance takes this advisory lock around migrations. */
const MIGRATION_LOCK_ID = 7_432_117_001;

export async function createOrm(config: DatabaseConfig, options: DatabaseModuleOptions, embedded?: EmbeddedPostgres): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: config.url ?? embedded!.url,
    entities: options.entities,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: embedded ? Math.min(config.poolMax, 4) : config.poolMax },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    // MikroORM's own messages (migrator progress) go to our logs, not coloured console lines.
    logger: (message: string) => new Logger('MikroORM').debug(message.replace(/\u001b\[[0-9;]*m/g, '')),
    migrations: {
      migrationsList: options.migrations as MigrationObject[],
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      tableName: 'mikro_orm_migrations',
    },
  });
}

/** Applies pending migrations; concurrent instances queue on a Postgres advisory lock. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const em = orm.em.fork();
  const connection = em.getConnection();
  const knex = connection.getKnex();
  // A session lock needs one connection held for the whole run.
  const lockConnection = await knex.client.acquireConnection();
  try {
    await lockConnection.query(`select pg_advisory_lock(${MIGRATION_LOCK_ID})`);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  } finally {
    await lockConnection.query(`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`).catch(() => undefined);
    await knex.client.releaseConnection(lockConnection);
  }
}

@Global()
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(
    private readonly orm: MikroORM,
    @Inject(EMBEDDED) private readonly embedded: EmbeddedPostgres | null,
  ) {}

  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: EMBEDDED,
          inject: [DatabaseConfig],
          useFactory: (config: DatabaseConfig) =>
            config.embedded ? EmbeddedPostgres.start(config.embeddedDataDir, Math.min(config.poolMax, 4)) : null,
        },
        {
          provide: MikroORM,
          inject: [DatabaseConfig, EMBEDDED],
          useFactory: async (config: DatabaseConfig, embedded: EmbeddedPostgres | null) => {
            const orm = await createOrm(config, options, embedded ?? undefined);
            if (config.migrateOnStart) {
              const applied = await migrate(orm);
              if (applied.length > 0) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
            }
            return orm;
          },
        },
        { provide: EntityManager, inject: [MikroORM], useFactory: (orm: MikroORM) => orm.em },
        GroupCommitWriter,
      ],
      exports: [MikroORM, EntityManager, GroupCommitWriter],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.orm.close(true);
    if (this.embedded) await this.embedded.stop();
    this.logger.log('database connections closed');
  }
}
