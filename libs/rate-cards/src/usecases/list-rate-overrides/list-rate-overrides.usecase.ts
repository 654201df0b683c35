import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { OverrideRecord } from '../../domain/rate-card';
import { RateCardRepository } from '../../ports/rate-card.repository.port';

/** Every override of an organization (past, in force and scheduled), oldest first. */
@Injectable()
export class ListRateOverridesUseCase {
  constructor(
    private readonly repository: RateCardRepository,
    private readonly organizations: GetOrganizationUseCase,
  ) {}

  async execute(ctx: CallContext, orgId: string): Promise<OverrideRecord[]> {
    await this.organizations.execute(ctx, orgId);
    return this.repository.listOverrides(orgId);
  }
}
