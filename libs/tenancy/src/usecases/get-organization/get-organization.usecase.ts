import { Injectable } from '@nestjs/common';
import { CallContext } from '../../domain/call-context';
import { Organization } from '../../domain/organization';
import { TenancyError } from '../../domain/tenancy.error';
import { OrganizationRepository } from '../../adapters/mikro-orm/organization.repository';

@Injectable()
export class GetOrganizationUseCase {
  constructor(private readonly organizations: OrganizationRepository) {}

  /** The organization, if it exists and the caller may see it; the same 404 otherwise. */
  async execute(ctx: CallContext, orgId: string): Promise<Organization> {
    if (!ctx.principal.canAccessOrg(orgId)) throw TenancyError.unknownOrg(orgId);
    const org = await this.organizations.findById(orgId);
    if (!org) throw TenancyError.unknownOrg(orgId);
    return org;
  }
}
