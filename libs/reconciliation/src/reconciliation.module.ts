import { DynamicModule, Module } from '@nestjs/common';
import { UsageEventRepository } from './adapters/mikro-orm/usage-event.repository';
import { ReconciliationController } from './http/reconciliation.controller';
import { LedgerExportModule } from './ledger-export.module';
import { GetSpendUseCase } from './usecases/get-spend/get-spend.usecase';
import { GetVarianceUseCase } from './usecases/get-variance/get-variance.usecase';
import { ListUsageEventsUseCase } from './usecases/list-usage-events/list-usage-events.usecase';
import { ProviderUsageRepository } from './adapters/mikro-orm/provider-usage.repository';
import { ProviderUsageController } from './http/provider-usage.controller';
import { ImportProviderUsageUseCase } from './usecases/import-provider-usage/import-provider-usage.usecase';
import { GetReconciliationRunUseCase } from './usecases/get-reconciliation-run/get-reconciliation-run.usecase';
import { ListReconciliationRunsUseCase } from './usecases/list-reconciliation-runs/list-reconciliation-runs.usecase';

/**
 * Reconciliation: what really happened, read back for billing and finance. The commit (in the
 * reservations module) writes the usage events, their outbox rows and the variance in its
 * group-commit statement; this module reads and reports them. Provider usage imports match
 * records to commits and hand differences to the reservations module's AdjustCommitUseCase,
 * which writes the adjustments (decision 023).
 */
@Module({})
export class ReconciliationModule {
  /** The application's one instance of each module this one uses. */
  static register(modules: { tenancy: DynamicModule; reservations: DynamicModule }): DynamicModule {
    return {
      module: ReconciliationModule,
      imports: [modules.tenancy, modules.reservations, LedgerExportModule.register(modules)],
      controllers: [ReconciliationController, ProviderUsageController],
      providers: [
        UsageEventRepository,
        ListUsageEventsUseCase,
        GetVarianceUseCase,
        GetSpendUseCase,
        ProviderUsageRepository,
        ImportProviderUsageUseCase,
        GetReconciliationRunUseCase,
        ListReconciliationRunsUseCase,
      ],
    };
  }
}
