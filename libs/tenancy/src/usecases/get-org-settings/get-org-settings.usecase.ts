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

  async execute(orgId: string, environment: Environment): Promise<OrgSettings> {
    const key = `${orgId}:${environment}`;
    const settings = await this.cache.getOrLoad(key, async () => mergeSettings((await this.settings.find(orgId, environment)) ?? {}));
    return structuredClone(settings);
  }

  async invalidate(orgId: string, environment: Environment): Promise<void> {
    await this.bus.publish(SETTINGS_TOPIC, `${orgId}:${environment}`);
  }
}
