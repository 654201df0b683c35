import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { WebhookDeliveriesRepository } from '../../adapters/mikro-orm/webhook-deliveries.repository';
import { WebhookDelivery } from '../../domain/webhook-endpoint';
import { WebhooksError } from '../../domain/webhooks.error';

/**
 * Queues a delivery again now, whatever its status (a delivered one is sent again: receivers
 * dedupe on `webhook-id`), attempts reset, and lets its endpoint's circuit probe at once.
 */
@Injectable()
export class RedeliverWebhookUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly deliveries: WebhookDeliveriesRepository,
  ) {}

  async execute(ctx: CallContext, orgId: string, id: string): Promise<WebhookDelivery> {
    await this.organizations.execute(ctx, orgId);
    const delivery = await this.deliveries.redeliver(id, orgId, ctx.principal.environment);
    if (!delivery) throw new WebhooksError('webhook_delivery_not_found', `No webhook delivery ${id}.`, { id });
    return delivery;
  }
}
