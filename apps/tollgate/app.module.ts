import { DynamicModule, Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { AppConfig, ConfigModule } from '@tollgate/config';
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
import { RateCardsModule } from '@tollgate/rate-cards';
import { ReservationsModule } from '@tollgate/reservations';
import { TENANCY_ENTITIES, TenancyModule } from '@tollgate/tenancy';
import { ERROR_STATUS } from './error-status';
import { MIGRATIONS } from './migrations';

export interface AppModuleOptions {
  /** Tests move time; production uses the system clock. */
  clock?: Clock;
  /** Extra modules (test-only routes); production passes none. */
  extraImports?: DynamicModule['imports'];
}

/** The composition root: picks adapters from typed configuration and wires every module. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        PlatformHttpModule.forRoot(ERROR_STATUS, options.clock),
        ScheduleModule.forRoot(),
        DatabaseModule.forRoot({ entities: [...TENANCY_ENTITIES, ...QUOTA_ENTITIES], migrations: MIGRATIONS }),
        RedisModule.forRoot(),
        CacheModule,
        MetricsModule,
        HealthModule,
        IdempotencyModule,
        TenancyModule,
        QuotaModule,
        ReservationsModule,
        RateCardsModule,
        ...(options.extraImports ?? []),
      ],
    };
  }
}
