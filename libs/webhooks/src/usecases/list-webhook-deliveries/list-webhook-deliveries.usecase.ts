import { Injectable } from '@nestjs/common';
import { CallContext } from '@tollgate/tenancy';
import { WebhookDeliveriesRepository } from '../../adapters/mikro-orm/webhook-deliveries.repository';
import { WebhookDelivery, WebhookDeliveryStatus } from '../../domain/webhook-endpoint';
import { ListWebhookEndpointsUseCase } from '../list-webhook-endpoints/list-webhook-endpoints.usecase';

/** An endpoint's delivery log: each delivery with its state and its latest attempts. */
@Injectable()
export class ListWebhookDeliveriesUseCase {
  constructor(
    private readonly endpoints: ListWebhookEndpointsUseCase,
    private readonly deliveries: WebhookDeliveriesRepository,
  ) {}

  async execute(
    ctx: CallContext,
    orgId: string,
    endpointId: string,
    status: WebhookDeliveryStatus | undefined,
    after: { createdAt: string; id: string } | undefined,
    limit: number,
  ): Promise<WebhookDelivery[]> {
    const endpoint = await this.endpoints.get(ctx, orgId, endpointId);
    return this.deliveries.listByEndpoint(endpoint.id, status, after, limit);
  }
}
