import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { CreditGrant } from '../../domain/hierarchy';

@Injectable()
export class ListCreditsUseCase {
  constructor(
    private readonly hierarchy: HierarchyRepository,
    private readonly organizations: GetOrganizationUseCase,
  ) {}

  /** Grants of the caller's environment, newest first. */
  async execute(
    ctx: CallContext,
    orgId: string,
    before: { createdAt: string; id: string } | undefined,
    limit: number,
  ): Promise<CreditGrant[]> {
    await this.organizations.execute(ctx, orgId);
    return this.hierarchy.listGrants({ orgId, environment: ctx.principal.environment }, before, limit);
  }
}
