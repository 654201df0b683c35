import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AppConfig, ConfigModule } from '@tollgate/config';
import { BillingModule } from '@tollgate/billing';
import {
  CacheModule,
  Clock,
  DatabaseModule,
  HealthModule,
  IdempotencyModule,
  MetricsModule,
  PlatformHttpModule,
  RedisModule,
} from '@tollgate/platform';
import { QUOTA_ENTITIES, QuotaModule } from '@tollgate/quota';
import { MikroOrmRateCardDirectory, RateCardsModule } from '@tollgate/rate-cards';
import { ReconciliationModule } from '@tollgate/reconciliation';
import { MikroOrmHoldLedger, ReservationsModule } from '@tollgate/reservations';
import { TENANCY_ENTITIES, TenancyModule } from '@tollgate/tenancy';
import { WebhooksModule } from '@tollgate/webhooks';
import { ERROR_STATUS } from './error-status';
import { MIGRATIONS } from './migrations';

export interface AppModuleOptions {
  /** Tests move time; production uses the system clock. */
  clock?: Clock;
  /** Extra modules (test-only routes); production passes none. */
  extraImports?: DynamicModule['imports'];
}

/**
 * The composition root: picks adapters from typed configuration and wires every module. With
 * REDIS_URL the quota store and the invalidation bus are Redis's (any number of instances);
 * without, in-process (one instance). Cross-module ports get their adapters here: tenancy's
 * RateCardDirectory from rate-cards, quota's HoldLedger from reservations, so no feature
 * module imports the module that implements its port. Each feature module is created once and
 * handed to the modules that use it.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    const shared = config.redis.url ? 'redis' : 'in-process';
    const tenancy = TenancyModule.register({ rateCardDirectory: MikroOrmRateCardDirectory });
    const quota = QuotaModule.register({ tenancy, store: shared === 'redis' ? 'redis' : 'in-memory', holdLedger: MikroOrmHoldLedger });
    const rateCards = RateCardsModule.register({ tenancy });
    const reservations = ReservationsModule.register({ tenancy, quota, rateCards });
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        PlatformHttpModule.forRoot(ERROR_STATUS, options.clock),
        ScheduleModule.forRoot(),
        DatabaseModule.forRoot({ entities: [...TENANCY_ENTITIES, ...QUOTA_ENTITIES], migrations: MIGRATIONS }),
        RedisModule.forRoot(),
        CacheModule.forRoot({ bus: shared }),
        MetricsModule,
        HealthModule,
        IdempotencyModule,
        tenancy,
        quota,
        rateCards,
        reservations,
        ReconciliationModule.register({ tenancy, reservations }),
        BillingModule.register({ tenancy }),
        WebhooksModule.register({ tenancy, quota }),
        ...(options.extraImports ?? []),
      ],
    };
  }
}
