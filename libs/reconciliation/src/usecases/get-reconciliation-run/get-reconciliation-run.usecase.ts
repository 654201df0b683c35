import { Injectable } from '@nestjs/common';
import { CallContext } from '@tollgate/tenancy';
import { ProviderUsageRepository } from '../../adapters/mikro-orm/provider-usage.repository';
import { ReconciliationRun, RunItem } from '../../domain/provider-usage';
import { ReconciliationError } from '../../domain/reconciliation.error';

/**
 * A run with its items. An organization key sees its own organization's runs only (a platform
 * key's run may name other organizations); a platform key every run of its environment. Any
 * other id is the same 404.
 */
@Injectable()
export class GetReconciliationRunUseCase {
  constructor(private readonly repository: ProviderUsageRepository) {}

  async execute(ctx: CallContext, id: string): Promise<{ run: ReconciliationRun; items: RunItem[] }> {
    const run = await this.repository.findRun(id, { environment: ctx.principal.environment, orgId: ctx.principal.orgId });
    if (!run) throw new ReconciliationError('run_not_found', `Reconciliation run '${id}' was not found.`);
    return { run, items: await this.repository.runItems(id) };
  }
}
