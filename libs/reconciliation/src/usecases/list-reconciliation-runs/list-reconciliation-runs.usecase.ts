import { Injectable } from '@nestjs/common';
import { CallContext } from '@tollgate/tenancy';
import { ProviderUsageRepository } from '../../adapters/mikro-orm/provider-usage.repository';
import { ReconciliationRun } from '../../domain/provider-usage';

/** Runs the caller may see (see GetReconciliationRunUseCase), newest first. */
@Injectable()
export class ListReconciliationRunsUseCase {
  constructor(private readonly repository: ProviderUsageRepository) {}

  execute(ctx: CallContext, before: { createdAt: string; id: string } | undefined, limit: number): Promise<ReconciliationRun[]> {
    return this.repository.listRuns({ environment: ctx.principal.environment, orgId: ctx.principal.orgId }, before, limit);
  }
}
