import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { RecordedUsageEvent, UsageEventRepository } from '../../adapters/mikro-orm/usage-event.repository';

export interface UsageEventQuery {
  from?: Date;
  to?: Date;
  product?: string;
}

/** An organization's usage events in the caller's environment, oldest first (a consumer reads forward). */
@Injectable()
export class ListUsageEventsUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly events: UsageEventRepository,
  ) {}

  async execute(
    ctx: CallContext,
    orgId: string,
    query: UsageEventQuery,
    after: { occurredAt: string; id: string } | undefined,
    limit: number,
  ): Promise<RecordedUsageEvent[]> {
    // 404 for an organization the caller may not see (or that does not exist).
    await this.organizations.execute(ctx, orgId);
    return this.events.listEvents({ orgId, environment: ctx.principal.environment, ...query }, after, limit);
  }
}
