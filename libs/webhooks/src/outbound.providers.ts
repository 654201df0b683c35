import { WebhookSender } from './adapters/http/webhook-sender';
import { WebhookDeliveriesRepository } from './adapters/mikro-orm/webhook-deliveries.repository';
import { WebhookEndpointsRepository } from './adapters/mikro-orm/webhook-endpoints.repository';
import { WebhookEndpointsController } from './http/webhook-endpoints.controller';
import { CreateWebhookEndpointUseCase } from './usecases/create-webhook-endpoint/create-webhook-endpoint.usecase';
import { DeleteWebhookEndpointUseCase } from './usecases/delete-webhook-endpoint/delete-webhook-endpoint.usecase';
import { WebhookDispatcher } from './usecases/dispatch-webhooks/webhook-dispatcher';
import { ListWebhookDeliveriesUseCase } from './usecases/list-webhook-deliveries/list-webhook-deliveries.usecase';
import { ListWebhookEndpointsUseCase } from './usecases/list-webhook-endpoints/list-webhook-endpoints.usecase';
import { RedeliverWebhookUseCase } from './usecases/redeliver-webhook/redeliver-webhook.usecase';
import { RotateWebhookSecretUseCase } from './usecases/rotate-webhook-secret/rotate-webhook-secret.usecase';

/** Outbound webhooks: endpoints, signing, the delivery outbox and its dispatcher. */
export const OUTBOUND_CONTROLLERS: (new (...args: never[]) => unknown)[] = [WebhookEndpointsController];
export const OUTBOUND_PROVIDERS: (new (...args: never[]) => unknown)[] = [
  WebhookEndpointsRepository,
  WebhookDeliveriesRepository,
  WebhookSender,
  CreateWebhookEndpointUseCase,
  ListWebhookEndpointsUseCase,
  DeleteWebhookEndpointUseCase,
  RotateWebhookSecretUseCase,
  ListWebhookDeliveriesUseCase,
  RedeliverWebhookUseCase,
  WebhookDispatcher,
];
