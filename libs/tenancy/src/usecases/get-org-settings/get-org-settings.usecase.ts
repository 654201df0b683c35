import { Injectable, OnModuleInit } from '@nestjs/common';
import { InvalidationBus, TtlCache } from '@tollgate/platform';
import { TenancyConfig } from '@tollgate/config';
import { Environment } from '../../domain/access';
import { mergeSettings, OrgSettings } from '../../domain/org-settings';
import { SettingsRepository } from '../../adapters/mikro-orm/settings.repository';

export const SETTINGS_TOPIC = 'org-settings';

/**
 * Settings of one organization and environment, every field filled in. Read on the request
 * path, so cached in-process; a write anywhere invalidates every instance's copy.
 */
@Injectable()
export class GetOrgSettingsUseCase implements OnModuleInit {
  private readonly cache: TtlCache<OrgSettings>;

  constructor(
    private readonly settings: SettingsRepository,
    private readonly bus: InvalidationBus,
    config: TenancyConfig,
  ) {
    this.cache = new TtlCache(config.settingsCacheMs);
  }

  onModuleInit(): void {
    this.bus.subscribe(SETTINGS_TOPIC, (key) => this.cache.delete(key));
  }

  /** Read on every admission: the cached copy itself, frozen (no copy per call), so no caller can change it. */
  async execute(orgId: string, environment: Environment): Promise<Readonly<OrgSettings>> {
    const key = `${orgId}:${environment}`;
    return this.cache.getOrLoad(key, async () => {
      const settings = mergeSettings((await this.settings.find(orgId, environment)) ?? {});
      Object.freeze(settings.budget_alert_thresholds);
      return Object.freeze(settings);
    });
  }

  async invalidate(orgId: string, environment: Environment): Promise<void> {
    await this.bus.publish(SETTINGS_TOPIC, `${orgId}:${environment}`);
  }
}
