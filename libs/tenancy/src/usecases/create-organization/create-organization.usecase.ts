import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock, PlatformError } from '@tollgate/platform';
import { TenancyConfig } from '@tollgate/config';
import { auditRecord } from '../../domain/audit-entry';
import { CallContext } from '../../domain/call-context';
import { ENVIRONMENTS } from '../../domain/access';
import { checkOrganization, Organization, OveragePolicy, snapshotOrganization } from '../../domain/organization';
import { checkSettings, definedSettings, mergeSettings, OrgSettings } from '../../domain/org-settings';
import { TenancyError } from '../../domain/tenancy.error';
import { OrganizationRepository } from '../../adapters/mikro-orm/organization.repository';
import { RateCardDirectory } from '../../ports/rate-card-directory.port';

export interface CreateOrganizationInput {
  id?: string;
  name: string;
  rateCardId?: string | null;
  overagePolicy?: OveragePolicy;
  overagePercent?: number | null;
  /** Initial settings; a new organization starts with the same in `live` and `test`. */
  settings?: Partial<OrgSettings>;
}

@Injectable()
export class CreateOrganizationUseCase {
  constructor(
    private readonly organizations: OrganizationRepository,
    private readonly config: TenancyConfig,
    private readonly clock: Clock,
    private readonly rateCards: RateCardDirectory,
  ) {}

  async execute(ctx: CallContext, input: CreateOrganizationInput): Promise<{ org: Organization; settings: OrgSettings }> {
    if (!ctx.principal.isPlatform) throw new TenancyError('platform_key_required', 'Only a platform key may create organizations.');
    const now = this.clock.now();
    const org: Organization = {
      id:
        input.id ??
        'org_' +
          randomBytes(10)
            .toString('base64url')
            .replace(/[^A-Za-z0-9]/g, 'x'),
      name: input.name,
      status: 'active',
      statusChangedAt: now,
      rateCardId: input.rateCardId ?? null,
      overagePolicy: input.overagePolicy ?? 'cap_at_hold',
      overagePercent: input.overagePercent ?? null,
      createdAt: now,
      updatedAt: now,
    };
    const stored = definedSettings(input.settings ?? {});
    const settings = mergeSettings(stored);
    const errors = [...checkOrganization(org), ...checkSettings(settings, this.config.maxTtlSeconds)];
    if (errors.length > 0) throw PlatformError.validation(errors);
    if (org.rateCardId !== null) await this.rateCards.requireCard(org.rateCardId);

    await this.organizations.insertWithSettings(org, { live: stored, test: stored }, [
      auditRecord(
        ctx,
        { orgId: org.id, environment: null },
        {
          action: 'organization.created',
          resourceType: 'organization',
          resourceId: org.id,
          before: null,
          after: snapshotOrganization(org),
        },
      ),
      ...ENVIRONMENTS.map((environment) =>
        auditRecord(
          ctx,
          { orgId: org.id, environment },
          {
            action: 'settings.created',
            resourceType: 'settings',
            resourceId: `${org.id}:${environment}`,
            before: null,
            after: settings,
          },
        ),
      ),
    ]);
    return { org, settings };
  }
}
