import { Injectable } from '@nestjs/common';
import { AuthConfig, DatabaseConfig } from '@tollgate/config';
import { Clock } from '@tollgate/platform';
import { CONFIGURED_PLATFORM_KEY_ID, hashSecret, newSecret, secretPrefix } from '../../domain/api-key';
import { SCOPES } from '../../domain/access';
import { ApiKeyRepository } from '../../adapters/mikro-orm/api-key.repository';
import { AuthenticateApiKeyUseCase } from '../authenticate-api-key/authenticate-api-key.usecase';

/**
 * At start-up: TOLLGATE_PLATFORM_KEY becomes the configured platform key with every scope,
 * replacing the previous value. Embedded mode with none set generates one, shown once.
 */
@Injectable()
export class RegisterPlatformKeyUseCase {
  /** Set when this start generated the key; main.ts prints it. */
  generatedSecret: string | null = null;

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly auth: AuthenticateApiKeyUseCase,
    private readonly authConfig: AuthConfig,
    private readonly databaseConfig: DatabaseConfig,
    private readonly clock: Clock,
  ) {}

  async execute(): Promise<void> {
    let secret = this.authConfig.platformKey;
    if (!secret) {
      if (!this.databaseConfig.embedded) throw new Error('TOLLGATE_PLATFORM_KEY is required outside embedded mode');
      secret = newSecret('platform', null);
      this.generatedSecret = secret;
    }
    await this.keys.upsertConfigured({
      id: CONFIGURED_PLATFORM_KEY_ID,
      kind: 'platform',
      orgId: null,
      environment: null,
      scopes: [...SCOPES],
      name: 'configured (TOLLGATE_PLATFORM_KEY)',
      prefix: secretPrefix(secret),
      secretHash: hashSecret(secret),
      createdAt: this.clock.now(),
      revokedAt: null,
    });
    await this.auth.invalidate(CONFIGURED_PLATFORM_KEY_ID);
  }
}
