import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { ApiKey, hashSecret, newKeyId, newSecret, secretPrefix } from '../../domain/api-key';
import { auditRecord } from '../../domain/audit-entry';
import { CallContext } from '../../domain/call-context';
import { Environment, Scope } from '../../domain/access';
import { TenancyError } from '../../domain/tenancy.error';
import { ApiKeyRepository } from '../../adapters/mikro-orm/api-key.repository';
import { GetOrganizationUseCase } from '../get-organization/get-organization.usecase';

export interface CreatedKey {
  key: ApiKey;
  /** Shown once, in this answer; only its hash is stored. */
  secret: string;
}

@Injectable()
export class CreateApiKeyUseCase {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly organizations: GetOrganizationUseCase,
    private readonly clock: Clock,
  ) {}

  /** An organization key: an organization key may only mint keys no stronger than itself. */
  async forOrganization(
    ctx: CallContext,
    orgId: string,
    input: { scopes: Scope[]; environment: Environment; name?: string },
  ): Promise<CreatedKey> {
    await this.organizations.execute(ctx, orgId);
    const { principal } = ctx;
    if (!principal.isPlatform) {
      if (input.environment !== principal.environment) {
        throw new TenancyError('environment_not_allowed', `A ${principal.environment} key cannot create ${input.environment} keys.`);
      }
      const extra = input.scopes.filter((s) => !principal.scopes.includes(s));
      if (extra.length > 0) throw new TenancyError('scope_not_grantable', `This key cannot grant scopes it lacks: ${extra.join(', ')}.`);
    }
    return this.create(ctx, 'org', orgId, input.environment, input.scopes, input.name ?? null);
  }

  /** A platform key, by another platform key. */
  async forPlatform(ctx: CallContext, input: { scopes: Scope[]; name?: string }): Promise<CreatedKey> {
    if (!ctx.principal.isPlatform) throw new TenancyError('platform_key_required', 'Only a platform key may create platform keys.');
    return this.create(ctx, 'platform', null, null, input.scopes, input.name ?? null);
  }

  private async create(
    ctx: CallContext,
    kind: 'org' | 'platform',
    orgId: string | null,
    environment: Environment | null,
    scopes: Scope[],
    name: string | null,
  ): Promise<CreatedKey> {
    const secret = newSecret(kind, environment);
    const key: ApiKey = {
      id: newKeyId(),
      kind,
      orgId,
      environment,
      scopes: [...new Set(scopes)],
      name,
      prefix: secretPrefix(secret),
      secretHash: hashSecret(secret),
      createdAt: this.clock.now(),
      revokedAt: null,
    };
    await this.keys.insert(
      key,
      auditRecord(
        ctx,
        { orgId, environment },
        {
          action: 'api_key.created',
          resourceType: 'api_key',
          resourceId: key.id,
          before: null,
          after: { id: key.id, kind, org_id: orgId, environment, scopes: key.scopes, name, prefix: key.prefix },
        },
      ),
    );
    return { key, secret };
  }
}
