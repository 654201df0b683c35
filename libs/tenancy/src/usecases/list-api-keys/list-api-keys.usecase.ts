import { Injectable } from '@nestjs/common';
import { ApiKey } from '../../domain/api-key';
import { CallContext } from '../../domain/call-context';
import { ApiKeyRepository } from '../../adapters/mikro-orm/api-key.repository';
import { GetOrganizationUseCase } from '../get-organization/get-organization.usecase';

@Injectable()
export class ListApiKeysUseCase {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly organizations: GetOrganizationUseCase,
  ) {}

  /** Active keys of an organization; an organization key sees those of its own environment. */
  async execute(ctx: CallContext, orgId: string): Promise<ApiKey[]> {
    await this.organizations.execute(ctx, orgId);
    const keys = await this.keys.listActive(orgId);
    return ctx.principal.isPlatform ? keys : keys.filter((k) => k.environment === ctx.principal.environment);
  }
}
