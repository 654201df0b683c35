import { DynamicModule, Module, OnApplicationBootstrap, Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyRepository } from './adapters/mikro-orm/api-key.repository';
import { AuditLogRepository } from './adapters/mikro-orm/audit-log.repository';
import { OrganizationRepository } from './adapters/mikro-orm/organization.repository';
import { SettingsRepository } from './adapters/mikro-orm/settings.repository';
import { ApiKeysController } from './http/api-keys.controller';
import { AuditLogController } from './http/audit-log.controller';
import { AuthGuard } from './http/auth.guard';
import { OrganizationsController } from './http/organizations.controller';
import { AuthenticateApiKeyUseCase } from './usecases/authenticate-api-key/authenticate-api-key.usecase';
import { CreateApiKeyUseCase } from './usecases/create-api-key/create-api-key.usecase';
import { CreateOrganizationUseCase } from './usecases/create-organization/create-organization.usecase';
import { GetOrgSettingsUseCase } from './usecases/get-org-settings/get-org-settings.usecase';
import { GetOrganizationUseCase } from './usecases/get-organization/get-organization.usecase';
import { ListApiKeysUseCase } from './usecases/list-api-keys/list-api-keys.usecase';
import { ListAuditLogUseCase } from './usecases/list-audit-log/list-audit-log.usecase';
import { ListOrganizationsUseCase } from './usecases/list-organizations/list-organizations.usecase';
import { RegisterPlatformKeyUseCase } from './usecases/register-platform-key/register-platform-key.usecase';
import { RevokeApiKeyUseCase } from './usecases/revoke-api-key/revoke-api-key.usecase';
import { UpdateOrganizationUseCase } from './usecases/update-organization/update-organization.usecase';
import { UpdateOrgSettingsUseCase } from './usecases/update-org-settings/update-org-settings.usecase';
import { RateCardDirectory } from './ports/rate-card-directory.port';

const PROVIDERS = [
  OrganizationRepository,
  ApiKeyRepository,
  SettingsRepository,
  AuditLogRepository,
  AuthenticateApiKeyUseCase,
  CreateApiKeyUseCase,
  CreateOrganizationUseCase,
  GetOrgSettingsUseCase,
  GetOrganizationUseCase,
  ListApiKeysUseCase,
  ListAuditLogUseCase,
  ListOrganizationsUseCase,
  RegisterPlatformKeyUseCase,
  RevokeApiKeyUseCase,
  UpdateOrganizationUseCase,
  UpdateOrgSettingsUseCase,
  { provide: APP_GUARD, useClass: AuthGuard },
];

/** Organizations, environments, API keys and scopes, settings, the audit log, and the auth guard. */
@Module({})
export class TenancyModule implements OnApplicationBootstrap {
  /** `rateCardDirectory`: the adapter of the RateCardDirectory port (the rate-cards module's). */
  static register(options: { rateCardDirectory: Type<RateCardDirectory> }): DynamicModule {
    return {
      module: TenancyModule,
      controllers: [OrganizationsController, ApiKeysController, AuditLogController],
      providers: [...PROVIDERS, { provide: RateCardDirectory, useClass: options.rateCardDirectory }],
      exports: [GetOrganizationUseCase, GetOrgSettingsUseCase, UpdateOrganizationUseCase],
    };
  }

  constructor(private readonly registerPlatformKey: RegisterPlatformKeyUseCase) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.registerPlatformKey.execute();
  }
}
