import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { UsageEventRepository } from '../../adapters/mikro-orm/usage-event.repository';
import { VarianceGroup, VarianceGroupBy } from '../../domain/variance';

/** Estimates against actuals of an organization's commits in a window, per project, product or user. */
@Injectable()
export class GetVarianceUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly events: UsageEventRepository,
  ) {}

  async execute(ctx: CallContext, orgId: string, window: { from?: Date; to?: Date }, groupBy: VarianceGroupBy): Promise<VarianceGroup[]> {
    await this.organizations.execute(ctx, orgId);
    return this.events.variance({ orgId, environment: ctx.principal.environment, ...window }, groupBy);
  }
}
