import { Injectable } from '@nestjs/common';
import { Clock, PlatformError } from '@tollgate/platform';
import { TenancyConfig } from '@tollgate/config';
import { auditRecord } from '../../domain/audit-entry';
import { CallContext } from '../../domain/call-context';
import { checkSettings, COMMERCIAL_SETTINGS, definedSettings, mergeSettings, OrgSettings } from '../../domain/org-settings';
import { TenancyError } from '../../domain/tenancy.error';
import { SettingsChange, SettingsRepository } from '../../adapters/mikro-orm/settings.repository';
import { GetOrgSettingsUseCase } from '../get-org-settings/get-org-settings.usecase';
import { GetOrganizationUseCase } from '../get-organization/get-organization.usecase';

export interface SettingsPlan {
  after: OrgSettings;
  /** Null when the patch changes nothing. */
  change: SettingsChange | null;
}

/** Merges a partial change into the settings of the caller's environment: validated, audited, broadcast. */
@Injectable()
export class UpdateOrgSettingsUseCase {
  constructor(
    private readonly settings: SettingsRepository,
    private readonly current: GetOrgSettingsUseCase,
    private readonly organizations: GetOrganizationUseCase,
    private readonly config: TenancyConfig,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, orgId: string, patch: Partial<OrgSettings>): Promise<OrgSettings> {
    await this.organizations.execute(ctx, orgId);
    const plan = await this.plan(ctx, orgId, patch, '');
    if (!plan.change) return plan.after;
    const written = await this.settings.merge(plan.change, this.clock.now());
    await this.current.invalidate(orgId, ctx.principal.environment);
    return written;
  }

  /** Checks the change and describes it, writing nothing (UpdateOrganization writes it with its own). */
  async plan(ctx: CallContext, orgId: string, partial: Partial<OrgSettings>, fieldPrefix = 'settings'): Promise<SettingsPlan> {
    const { principal } = ctx;
    const patch = definedSettings(partial);
    const commercial = COMMERCIAL_SETTINGS.filter((k) => patch[k] !== undefined);
    if (!principal.isPlatform && commercial.length > 0) {
      throw new TenancyError('platform_key_required', `Only a platform key may change ${commercial.join(', ')}.`);
    }
    // Compared with the stored row, not the cache: a stale copy must not turn a change into a no-op.
    const before = mergeSettings((await this.settings.find(orgId, principal.environment)) ?? {});
    const after: OrgSettings = { ...before, ...patch };
    const check = (doc: OrgSettings) => checkSettings(doc, this.config.maxTtlSeconds, fieldPrefix);
    const errors = check(after);
    if (errors.length > 0) throw PlatformError.validation(errors);
    const changes = Object.fromEntries(
      Object.entries(patch).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(before[k as keyof OrgSettings])),
    ) as Partial<OrgSettings>;
    if (Object.keys(changes).length === 0) return { after: before, change: null };
    return {
      after,
      change: {
        orgId,
        environment: principal.environment,
        changes,
        check,
        audit: auditRecord(
          ctx,
          { orgId, environment: principal.environment },
          {
            action: 'settings.updated',
            resourceType: 'settings',
            resourceId: `${orgId}:${principal.environment}`,
          },
        ),
      },
    };
  }
}
