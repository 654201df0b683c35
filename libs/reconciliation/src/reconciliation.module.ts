import { DynamicModule, Module } from '@nestjs/common';
import { UsageEventRepository } from './adapters/mikro-orm/usage-event.repository';
import { ReconciliationController } from './http/reconciliation.controller';
import { LedgerExportModule } from './ledger-export.module';
import { GetSpendUseCase } from './usecases/get-spend/get-spend.usecase';
import { GetVarianceUseCase } from './usecases/get-variance/get-variance.usecase';
import { ListUsageEventsUseCase } from './usecases/list-usage-events/list-usage-events.usecase';

/**
 * Reconciliation: what really happened, read back for billing and finance. The commit (in the
 * reservations module) writes the usage events, their outbox rows and the variance in its
 * group-commit statement; this module reads and reports them.
 */
@Module({})
export class ReconciliationModule {
  /** The application's one instance of each module this one uses. */
  static register(modules: { tenancy: DynamicModule }): DynamicModule {
    return {
      module: ReconciliationModule,
      imports: [modules.tenancy, LedgerExportModule.register(modules)],
      controllers: [ReconciliationController],
      providers: [UsageEventRepository, ListUsageEventsUseCase, GetVarianceUseCase, GetSpendUseCase],
    };
  }
}
