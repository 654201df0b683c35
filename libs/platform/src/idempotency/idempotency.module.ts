import { Global, Injectable, Logger, Module } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyStore } from './idempotency.store';

const PURGE_EVERY_MS = 10 * 60 * 1000;

@Injectable()
export class IdempotencyPurger {
  private readonly logger = new Logger('Idempotency');

  constructor(private readonly store: IdempotencyStore) {}

  @Interval(PURGE_EVERY_MS)
  async purgeExpired(): Promise<void> {
    try {
      const purged = await this.store.purgeExpired();
      if (purged > 0) this.logger.log(`purged ${purged} expired idempotency keys`);
    } catch (error) {
      this.logger.warn(`idempotency purge failed: ${(error as Error).message}`);
    }
  }
}

@Global()
@Module({
  // Not an APP_INTERCEPTOR: controllers opt in with @Idempotent() (see idempotency.decorator.ts).
  providers: [IdempotencyStore, IdempotencyPurger, IdempotencyInterceptor],
  exports: [IdempotencyStore, IdempotencyInterceptor],
})
export class IdempotencyModule {}
