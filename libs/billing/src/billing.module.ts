import { DynamicModule, Module } from '@nestjs/common';
import { BillingBackendRegistration } from './billing-backend-registration';
import { BILLING_BACKENDS } from './billing-backends';
import { BillingBackends } from './billing-backends.registry';
import { BillingBackend } from './ports/billing-backend.port';

export interface BillingModuleOptions {
  /** The backends to load; all registered ones by default (a test may pass fewer). */
  backends?: readonly BillingBackendRegistration[];
}

/**
 * Billing: the BillingBackend port, its adapters, and the registry the routing picks a backend
 * from. An adapter with no credentials still loads (it answers what it is missing), so the
 * service starts with no vendor configured and nothing is sent.
 */
@Module({})
export class BillingModule {
  static register(options: BillingModuleOptions = {}): DynamicModule {
    const backends = options.backends ?? BILLING_BACKENDS;
    return {
      module: BillingModule,
      imports: backends.map((b) => b.module),
      providers: [
        {
          provide: BillingBackends,
          inject: backends.map((b) => b.backend),
          useFactory: (...instances: BillingBackend[]) => {
            instances.forEach((instance, i) => {
              if (instance.name !== backends[i].name) throw new Error(`billing backend ${backends[i].name} answers to ${instance.name}`);
            });
            return new BillingBackends(instances);
          },
        },
      ],
      exports: [BillingBackends],
    };
  }
}
