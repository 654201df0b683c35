import { DynamicModule, Module } from '@nestjs/common';
import { LedgerExportRepository } from './adapters/mikro-orm/ledger-export.repository';
import { LedgerExportController } from './http/ledger-export.controller';
import { ExportLedgerUseCase } from './usecases/export-ledger/export-ledger.usecase';

/**
 * The finance export (GET /v1/orgs/{org}/ledger/export), wired on its own so the
 * reconciliation module names it in one place.
 */
@Module({})
export class LedgerExportModule {
  static register(modules: { tenancy: DynamicModule }): DynamicModule {
    return {
      module: LedgerExportModule,
      imports: [modules.tenancy],
      controllers: [LedgerExportController],
      providers: [LedgerExportRepository, ExportLedgerUseCase],
    };
  }
}
