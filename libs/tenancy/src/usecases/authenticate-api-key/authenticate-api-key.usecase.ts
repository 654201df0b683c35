import { Injectable, OnModuleInit } from '@nestjs/common';
import { InvalidationBus, TtlCache } from '@tollgate/platform';
import { AuthConfig } from '@tollgate/config';
import { ApiKey, hashSecret } from '../../domain/api-key';
import { ApiKeyRepository } from '../../adapters/mikro-orm/api-key.repository';

export const API_KEY_TOPIC = 'api-keys';

/**
 * Secret → key, on every request. Cached by hash for a few seconds so the hot path does no
 * database read; a revocation is broadcast to every instance, and the TTL bounds the rest.
 */
@Injectable()
export class AuthenticateApiKeyUseCase implements OnModuleInit {
  private readonly cache: TtlCache<ApiKey | null>;

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly bus: InvalidationBus,
    config: AuthConfig,
  ) {
    this.cache = new TtlCache(config.keyCacheMs);
  }

  onModuleInit(): void {
    // Revocations name the key id; the cache is keyed by hash, so drop everything (rare).
    this.bus.subscribe(API_KEY_TOPIC, () => this.cache.clear());
  }

  async execute(secret: string): Promise<ApiKey | null> {
    const hash = hashSecret(secret);
    return this.cache.getOrLoad(hash, () => this.keys.findActiveByHash(hash));
  }

  async invalidate(keyId: string): Promise<void> {
    await this.bus.publish(API_KEY_TOPIC, keyId);
  }
}
