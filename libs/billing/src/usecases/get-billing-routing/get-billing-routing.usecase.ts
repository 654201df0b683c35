import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { BillingRoutingRepository } from '../../adapters/mikro-orm/billing-routing.repository';
import { OrgBillingRouting } from '../../domain/routing';

/** The organization's routing in the caller's environment: `none` until it is set. */
@Injectable()
export class GetBillingRoutingUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly routing: BillingRoutingRepository,
  ) {}

  async execute(ctx: CallContext, orgId: string): Promise<OrgBillingRouting> {
    await this.organizations.execute(ctx, orgId);
    return this.routing.find(orgId, ctx.principal.environment);
  }
}
