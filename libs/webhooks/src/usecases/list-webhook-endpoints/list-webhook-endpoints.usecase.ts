import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { WebhookEndpointsRepository } from '../../adapters/mikro-orm/webhook-endpoints.repository';
import { WebhookEndpoint } from '../../domain/webhook-endpoint';
import { WebhooksError } from '../../domain/webhooks.error';

/** The organization's endpoints in the caller's environment (never their secrets). */
@Injectable()
export class ListWebhookEndpointsUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly endpoints: WebhookEndpointsRepository,
  ) {}

  async list(ctx: CallContext, orgId: string, after: { createdAt: string; id: string } | undefined, limit: number) {
    await this.organizations.execute(ctx, orgId);
    return this.endpoints.list(orgId, ctx.principal.environment, after, limit);
  }

  /** One endpoint; another organization's or environment's is as unknown as a missing one. */
  async get(ctx: CallContext, orgId: string, id: string): Promise<WebhookEndpoint> {
    await this.organizations.execute(ctx, orgId);
    const endpoint = await this.endpoints.find(orgId, ctx.principal.environment, id);
    if (!endpoint) throw new WebhooksError('webhook_endpoint_not_found', `No webhook endpoint ${id}.`, { id });
    return endpoint;
  }
}
