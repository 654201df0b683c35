import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord } from '../../domain/audit-entry';
import { CallContext } from '../../domain/call-context';
import { TenancyError } from '../../domain/tenancy.error';
import { ApiKeyRepository } from '../../adapters/mikro-orm/api-key.repository';
import { AuthenticateApiKeyUseCase } from '../authenticate-api-key/authenticate-api-key.usecase';
import { GetOrganizationUseCase } from '../get-organization/get-organization.usecase';

@Injectable()
export class RevokeApiKeyUseCase {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly organizations: GetOrganizationUseCase,
    private readonly auth: AuthenticateApiKeyUseCase,
    private readonly clock: Clock,
  ) {}

  /** `orgId` null revokes a platform key (platform keys only). Takes effect on every instance at once. */
  async execute(ctx: CallContext, orgId: string | null, keyId: string): Promise<void> {
    if (orgId === null) {
      if (!ctx.principal.isPlatform) throw new TenancyError('platform_key_required', 'Only a platform key may revoke platform keys.');
    } else {
      await this.organizations.execute(ctx, orgId);
    }
    const key = await this.keys.findActive(keyId, orgId);
    // A key of the other environment is as invisible to an organization key as another org's.
    if (!key || (!ctx.principal.isPlatform && key.environment !== ctx.principal.environment)) {
      throw new TenancyError('unknown_key', `API key '${keyId}' was not found.`);
    }
    const now = this.clock.now();
    const revoked = await this.keys.revoke(
      keyId,
      orgId,
      now,
      auditRecord(
        ctx,
        { orgId, environment: key.environment },
        {
          action: 'api_key.revoked',
          resourceType: 'api_key',
          resourceId: keyId,
          before: { revoked_at: null },
          after: { revoked_at: now },
        },
      ),
    );
    if (!revoked) throw new TenancyError('unknown_key', `API key '${keyId}' was not found.`);
    await this.auth.invalidate(keyId);
  }
}
