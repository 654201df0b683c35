import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { auditView, WebhookEndpointsRepository } from '../../adapters/mikro-orm/webhook-endpoints.repository';
import { WebhooksError } from '../../domain/webhooks.error';

/** Deletes an endpoint: nothing more is fanned out to it, and its queued deliveries are given up (dead, "endpoint deleted"). Audited. */
@Injectable()
export class DeleteWebhookEndpointUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, orgId: string, id: string): Promise<void> {
    await this.organizations.execute(ctx, orgId);
    const environment = ctx.principal.environment;
    const deleted = await this.endpoints.delete(
      orgId,
      environment,
      id,
      (endpoint) =>
        auditRecord(
          ctx,
          { orgId, environment },
          {
            action: 'webhook_endpoint.deleted',
            resourceType: 'webhook_endpoint',
            resourceId: id,
            before: { ...auditView(endpoint), status: 'enabled' },
            after: null,
          },
        ),
      this.clock.now(),
    );
    if (!deleted) throw new WebhooksError('webhook_endpoint_not_found', `No webhook endpoint ${id}.`, { id });
  }
}
