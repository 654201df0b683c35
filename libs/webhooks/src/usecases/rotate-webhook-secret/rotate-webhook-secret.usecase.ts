import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { WebhookEndpointsRepository } from '../../adapters/mikro-orm/webhook-endpoints.repository';
import { WebhookEndpoint } from '../../domain/webhook-endpoint';
import { generateSecret, SECRET_OVERLAP_MS } from '../../domain/webhook-message';
import { WebhooksError } from '../../domain/webhooks.error';

/**
 * A new signing secret, answered once. For 24 hours deliveries carry a signature by the new and
 * one by the replaced secret (space-separated in `webhook-signature`), so the receiver can
 * switch whenever it likes; then only the new. A second rotation within the window replaces the
 * replaced one. Audited without either secret.
 */
@Injectable()
export class RotateWebhookSecretUseCase {
  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, orgId: string, id: string): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    await this.organizations.execute(ctx, orgId);
    const environment = ctx.principal.environment;
    const now = this.clock.now();
    const secret = generateSecret();
    const expiresAt = new Date(now.getTime() + SECRET_OVERLAP_MS);
    const endpoint = await this.endpoints.rotateSecret(
      orgId,
      environment,
      id,
      secret,
      expiresAt,
      () =>
        auditRecord(
          ctx,
          { orgId, environment },
          {
            action: 'webhook_endpoint.secret_rotated',
            resourceType: 'webhook_endpoint',
            resourceId: id,
            before: null,
            after: { previous_secret_expires_at: expiresAt.toISOString() },
          },
        ),
      now,
    );
    if (!endpoint) throw new WebhooksError('webhook_endpoint_not_found', `No webhook endpoint ${id}.`, { id });
    return { endpoint, secret };
  }
}
