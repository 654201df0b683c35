import { Injectable } from '@nestjs/common';
import { Clock, PlatformError } from '@tollgate/platform';
import { auditRecord } from '../../domain/audit-entry';
import { CallContext } from '../../domain/call-context';
import {
  applyOrganizationPatch,
  checkOrganization,
  COMMERCIAL_ORG_FIELDS,
  Organization,
  OrganizationPatch,
  snapshotOrganization,
} from '../../domain/organization';
import { OrgSettings } from '../../domain/org-settings';
import { TenancyError } from '../../domain/tenancy.error';
import { OrganizationRepository } from '../../adapters/mikro-orm/organization.repository';
import { RateCardDirectory } from '../../ports/rate-card-directory.port';
import { GetOrganizationUseCase } from '../get-organization/get-organization.usecase';
import { GetOrgSettingsUseCase } from '../get-org-settings/get-org-settings.usecase';
import { UpdateOrgSettingsUseCase } from '../update-org-settings/update-org-settings.usecase';

const SNAKE: Record<string, string> = { rateCardId: 'rate_card_id', overagePolicy: 'overage_policy', overagePercent: 'overage_percent' };

@Injectable()
export class UpdateOrganizationUseCase {
  constructor(
    private readonly organizations: OrganizationRepository,
    private readonly getOrganization: GetOrganizationUseCase,
    private readonly getSettings: GetOrgSettingsUseCase,
    private readonly updateSettings: UpdateOrgSettingsUseCase,
    private readonly clock: Clock,
    private readonly rateCards: RateCardDirectory,
  ) {}

  /**
   * Name for any admin of the organization; status, rate card and overage policy only for
   * a platform key (they decide what the organization may spend). `settings` change the
   * caller's environment. Checked in full before anything is written.
   */
  async execute(
    ctx: CallContext,
    orgId: string,
    patch: OrganizationPatch,
    settings?: Partial<OrgSettings>,
  ): Promise<{ org: Organization; settings: OrgSettings }> {
    const before = await this.getOrganization.execute(ctx, orgId);
    const commercial = COMMERCIAL_ORG_FIELDS.filter((f) => patch[f] !== undefined);
    if (!ctx.principal.isPlatform && commercial.length > 0) {
      throw new TenancyError('platform_key_required', `Only a platform key may change ${commercial.map((f) => SNAKE[f] ?? f).join(', ')}.`);
    }
    const after = applyOrganizationPatch(before, patch, this.clock.now());
    const errors = checkOrganization(after);
    if (errors.length > 0) throw PlatformError.validation(errors);
    if (after.rateCardId !== null && after.rateCardId !== before.rateCardId) await this.rateCards.requireCard(after.rateCardId);

    const settingsPlan = settings
      ? await this.updateSettings.plan(ctx, orgId, settings)
      : { after: await this.getSettings.execute(orgId, ctx.principal.environment), change: null };
    const changed = (Object.keys(patch) as (keyof OrganizationPatch)[]).some((k) => patch[k] !== undefined && patch[k] !== before[k]);
    if (!changed && !settingsPlan.change) return { org: before, settings: settingsPlan.after };

    // The organization and its settings change together or not at all.
    const orgChange = changed
      ? {
          org: after,
          audit: auditRecord(
            ctx,
            { orgId, environment: null },
            {
              action: 'organization.updated',
              resourceType: 'organization',
              resourceId: orgId,
              before: snapshotOrganization(before),
              after: snapshotOrganization(after),
            },
          ),
        }
      : null;
    const written = await this.organizations.update(orgChange, settingsPlan.change, this.clock.now());
    if (settingsPlan.change) await this.getSettings.invalidate(orgId, ctx.principal.environment);
    if (changed) await this.getOrganization.invalidate(orgId);
    return { org: changed ? after : before, settings: written ?? settingsPlan.after };
  }
}
