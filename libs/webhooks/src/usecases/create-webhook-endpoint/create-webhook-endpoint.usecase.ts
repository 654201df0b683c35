import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock, PlatformError } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { auditView, WebhookEndpointsRepository } from '../../adapters/mikro-orm/webhook-endpoints.repository';
import { WebhookSender } from '../../adapters/http/webhook-sender';
import { WebhookEndpoint } from '../../domain/webhook-endpoint';
import { generateSecret, MAX_ENDPOINTS_PER_ORG } from '../../domain/webhook-message';
import { WebhooksError } from '../../domain/webhooks.error';

export interface CreateEndpointRequest {
  url: string;
  eventTypes: string[];
  description: string | null;
}

/**
 * Registers an endpoint of the organization in the caller's environment: the URL checked by the
 * SSRF guard (its shape, then every address it resolves to now), at most 20 per organization and
 * environment, audited without the secret. The secret is answered once, here.
 */
@Injectable()
export class CreateWebhookEndpointUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly sender: WebhookSender,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, orgId: string, request: CreateEndpointRequest): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    await this.organizations.execute(ctx, orgId);
    const environment = ctx.principal.environment;
    const refused = await this.sender.refuseAtCreation(request.url);
    if (refused) throw new WebhooksError('webhook_url_refused', `The endpoint URL is refused: ${refused}.`, { reason: refused });
    const secret = generateSecret();
    const endpoint = await this.endpoints.create(
      {
        id: 'we_' + randomBytes(12).toString('base64url'),
        orgId,
        environment,
        url: request.url,
        description: request.description,
        eventTypes: [...new Set(request.eventTypes)],
        secret,
      },
      MAX_ENDPOINTS_PER_ORG,
      (created) =>
        auditRecord(
          ctx,
          { orgId, environment },
          {
            action: 'webhook_endpoint.created',
            resourceType: 'webhook_endpoint',
            resourceId: created.id,
            before: null,
            after: auditView(created),
          },
        ),
      this.clock.now(),
    );
    if (!endpoint) {
      throw PlatformError.validation([
        { field: 'url', message: `an organization has at most ${MAX_ENDPOINTS_PER_ORG} webhook endpoints per environment` },
      ]);
    }
    return { endpoint, secret };
  }
}
