import { DynamicModule, Module } from '@nestjs/common';
import { BillingRoutingRepository } from './adapters/mikro-orm/billing-routing.repository';
import { OutboxRepository } from './adapters/mikro-orm/outbox.repository';
import { BillingBackendRegistration } from './billing-backend-registration';
import { BILLING_BACKENDS } from './billing-backends';
import { BillingBackends } from './billing-backends.registry';
import { BillingController } from './http/billing.controller';
import { BillingBackend } from './ports/billing-backend.port';
import { ChangeBillingRoutingUseCase } from './usecases/change-billing-routing/change-billing-routing.usecase';
import { OutboxDispatcher } from './usecases/dispatch-outbox/outbox-dispatcher';
import { GetBillingRoutingUseCase } from './usecases/get-billing-routing/get-billing-routing.usecase';
import { GetShadowReportUseCase } from './usecases/get-shadow-report/get-shadow-report.usecase';
import { ListOutboxUseCase } from './usecases/list-outbox/list-outbox.usecase';
import { RetryDeliveryUseCase } from './usecases/retry-delivery/retry-delivery.usecase';

export interface BillingModuleOptions {
  /** The application's tenancy module (organizations, audit). */
  tenancy: DynamicModule;
  /** The backends to load; all registered ones by default (a test may pass fewer). */
  backends?: readonly BillingBackendRegistration[];
}

/**
 * Billing: the BillingBackend port and its adapters, per-organization routing, the outbox
 * dispatcher and the shadow report. An adapter with no credentials still loads (it answers
 * what it is missing), so the service starts with no vendor configured and nothing is sent.
 */
@Module({})
export class BillingModule {
  static register(options: BillingModuleOptions): DynamicModule {
    const backends = options.backends ?? BILLING_BACKENDS;
    return {
      module: BillingModule,
      imports: [options.tenancy, ...backends.map((b) => b.module)],
      controllers: [BillingController],
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
        BillingRoutingRepository,
        OutboxRepository,
        OutboxDispatcher,
        GetBillingRoutingUseCase,
        ChangeBillingRoutingUseCase,
        ListOutboxUseCase,
        RetryDeliveryUseCase,
        GetShadowReportUseCase,
      ],
      exports: [BillingBackends, OutboxDispatcher],
    };
  }
}
