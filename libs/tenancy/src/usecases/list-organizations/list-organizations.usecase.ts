import { Injectable } from '@nestjs/common';
import { CallContext } from '../../domain/call-context';
import { Organization } from '../../domain/organization';
import { OrganizationRepository } from '../../adapters/mikro-orm/organization.repository';

@Injectable()
export class ListOrganizationsUseCase {
  constructor(private readonly organizations: OrganizationRepository) {}

  /** A platform key lists every organization; an organization key lists only its own. */
  execute(ctx: CallContext, afterId: string | undefined, limit: number): Promise<Organization[]> {
    return this.organizations.listAfter(afterId, limit, ctx.principal.orgId ?? undefined);
  }
}
