import { Injectable, OnModuleInit } from '@nestjs/common';
import { InvalidationBus, TtlCache } from '@tollgate/platform';
import { TenancyConfig } from '@tollgate/config';
import { CallContext } from '../../domain/call-context';
import { Organization } from '../../domain/organization';
import { TenancyError } from '../../domain/tenancy.error';
import { OrganizationRepository } from '../../adapters/mikro-orm/organization.repository';

export const ORGANIZATION_TOPIC = 'organizations';

/**
 * Read on every admission (status, overage policy), so cached in-process like settings: an
 * update anywhere invalidates every instance's copy at once, and the TTL bounds a lost message.
 */
@Injectable()
export class GetOrganizationUseCase implements OnModuleInit {
  private readonly cache: TtlCache<Organization>;

  constructor(
    private readonly organizations: OrganizationRepository,
    private readonly bus: InvalidationBus,
    config: TenancyConfig,
  ) {
    this.cache = new TtlCache(config.settingsCacheMs);
  }

  onModuleInit(): void {
    this.bus.subscribe(ORGANIZATION_TOPIC, (id) => this.cache.delete(id));
  }

  /** The organization, if it exists and the caller may see it; the same 404 otherwise. */
  async execute(ctx: CallContext, orgId: string): Promise<Organization> {
    if (!ctx.principal.canAccessOrg(orgId)) throw TenancyError.unknownOrg(orgId);
    // Only organizations that exist are cached: one created a moment later must be found.
    const org = this.cache.get(orgId) ?? (await this.organizations.findById(orgId));
    if (!org) throw TenancyError.unknownOrg(orgId);
    this.cache.set(orgId, org);
    return org;
  }

  /**
   * For internal readers (no caller to check): the organization or null. `fresh` skips the
   * cache, for a reader woken by this topic that may run before the cache is dropped.
   */
  async findById(orgId: string, { fresh = false } = {}): Promise<Organization | null> {
    const org = (fresh ? undefined : this.cache.get(orgId)) ?? (await this.organizations.findById(orgId));
    if (org) this.cache.set(orgId, org);
    return org;
  }

  async invalidate(orgId: string): Promise<void> {
    await this.bus.publish(ORGANIZATION_TOPIC, orgId);
  }
}
