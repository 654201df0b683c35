import { DynamicModule, Module } from '@nestjs/common';
import { INBOUND_CONTROLLERS, INBOUND_PROVIDERS } from './inbound.providers';
import { OUTBOUND_CONTROLLERS, OUTBOUND_PROVIDERS } from './outbound.providers';

export interface WebhooksModuleOptions {
  /** The application's tenancy module (organizations, settings, audit). */
  tenancy: DynamicModule;
  /** The application's quota module (credit grants from vendor top-ups). */
  quota: DynamicModule;
}

/**
 * Webhooks: vendor deliveries in (verified, recorded once, turned into product actions) and
 * Tollgate's own signals out (signed per Standard Webhooks, from a Postgres outbox).
 */
@Module({})
export class WebhooksModule {
  static register(options: WebhooksModuleOptions): DynamicModule {
    return {
      module: WebhooksModule,
      imports: [options.tenancy, options.quota],
      controllers: [...INBOUND_CONTROLLERS, ...OUTBOUND_CONTROLLERS],
      providers: [...INBOUND_PROVIDERS, ...OUTBOUND_PROVIDERS],
      exports: [...OUTBOUND_PROVIDERS],
    };
  }
}
