import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { UsageEventRepository } from '../../adapters/mikro-orm/usage-event.repository';
import { SpendBucket, SpendGroupBy, SpendInterval } from '../../domain/spend';

/** An organization's charged spend in the caller's environment per UTC calendar bucket and group. */
@Injectable()
export class GetSpendUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly events: UsageEventRepository,
  ) {}

  async execute(
    ctx: CallContext,
    orgId: string,
    window: { from: Date; to: Date },
    interval: SpendInterval,
    groupBy: SpendGroupBy,
    top: number,
  ): Promise<SpendBucket[]> {
    // 404 for an organization the caller may not see (or that does not exist).
    await this.organizations.execute(ctx, orgId);
    return this.events.spend({ orgId, environment: ctx.principal.environment, ...window }, interval, groupBy, top);
  }
}
