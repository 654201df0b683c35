import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decodeCursor, DEFAULT_PAGE_SIZE, Idempotent, PageQueryDto, PlatformError, SecretInResponse, toPage } from '@tollgate/platform';
import { CallContext, Caller, OrgPathDto, RequireScopes } from '@tollgate/tenancy';
import { WebhookDelivery, WebhookEndpoint } from '../domain/webhook-endpoint';
import { CreateWebhookEndpointUseCase } from '../usecases/create-webhook-endpoint/create-webhook-endpoint.usecase';
import { DeleteWebhookEndpointUseCase } from '../usecases/delete-webhook-endpoint/delete-webhook-endpoint.usecase';
import { ListWebhookDeliveriesUseCase } from '../usecases/list-webhook-deliveries/list-webhook-deliveries.usecase';
import { ListWebhookEndpointsUseCase } from '../usecases/list-webhook-endpoints/list-webhook-endpoints.usecase';
import { RedeliverWebhookUseCase } from '../usecases/redeliver-webhook/redeliver-webhook.usecase';
import { RotateWebhookSecretUseCase } from '../usecases/rotate-webhook-secret/rotate-webhook-secret.usecase';
import { CreateWebhookEndpointDto, DeliveriesQueryDto, DeliveryPathDto, EndpointPathDto } from './webhook-endpoints.dto';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function presentEndpoint(e: WebhookEndpoint) {
  return {
    id: e.id,
    org_id: e.orgId,
    environment: e.environment,
    url: e.url,
    event_types: e.eventTypes,
    description: e.description,
    status: e.status,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
    previous_secret_expires_at:
      e.previousSecretExpiresAt && e.previousSecretExpiresAt > new Date() ? e.previousSecretExpiresAt.toISOString() : null,
  };
}

function presentDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    event_id: d.eventId,
    event_type: d.eventType,
    endpoint_id: d.endpointId,
    org_id: d.orgId,
    environment: d.environment,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: iso(d.nextAttemptAt),
    last_attempt_at: iso(d.lastAttemptAt),
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    last_duration_ms: d.lastDurationMs,
    delivered_at: iso(d.deliveredAt),
    created_at: d.createdAt.toISOString(),
    attempt_log: d.attemptLog.map((a) => ({
      attempt: a.attempt,
      started_at: a.startedAt.toISOString(),
      duration_ms: a.durationMs,
      status_code: a.statusCode,
      outcome: a.outcome,
      error: a.error,
    })),
  };
}

function cursorOf(query: PageQueryDto) {
  const after = decodeCursor<{ createdAt: string; id: string }>(query.cursor, ['createdAt', 'id']);
  if (after && Number.isNaN(Date.parse(after.createdAt))) {
    throw PlatformError.validation([{ field: 'cursor', message: 'cursor is not a cursor this API issued' }]);
  }
  return after;
}

const position = (x: { createdAt: Date; id: string }) => ({ createdAt: x.createdAt.toISOString(), id: x.id });

@ApiTags('webhooks')
@ApiBearerAuth()
@Idempotent()
@Controller('v1/orgs/:org')
export class WebhookEndpointsController {
  constructor(
    private readonly createEndpoint: CreateWebhookEndpointUseCase,
    private readonly listEndpoints: ListWebhookEndpointsUseCase,
    private readonly deleteEndpoint: DeleteWebhookEndpointUseCase,
    private readonly rotateSecret: RotateWebhookSecretUseCase,
    private readonly listDeliveries: ListWebhookDeliveriesUseCase,
    private readonly redeliverWebhook: RedeliverWebhookUseCase,
  ) {}

  @Post('webhook-endpoints')
  @SecretInResponse('secret')
  @ApiOperation({
    summary: 'Register an outbound webhook endpoint (caller’s environment)',
    description:
      'url: absolute http(s), at most 2048 characters, no credentials, not resolving to a loopback, private, link-local or reserved ' +
      'address (422 webhook_url_refused). event_types: a non-empty subset of budget.threshold_reached, org.status_changed, ' +
      'credits.granted, reservation.expired, billing.delivery_dead. At most 20 per organization and environment. The whsec_ signing ' +
      'secret is in this answer only. Audited.',
  })
  @RequireScopes('quota:admin')
  async create(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Body() body: CreateWebhookEndpointDto) {
    const { endpoint, secret } = await this.createEndpoint.execute(ctx, org, {
      url: body.url,
      eventTypes: body.event_types,
      description: body.description ?? null,
    });
    return { ...presentEndpoint(endpoint), secret };
  }

  @Get('webhook-endpoints')
  @ApiOperation({ summary: 'The organization’s webhook endpoints in the caller’s environment, oldest first (no secrets)' })
  @RequireScopes('quota:admin')
  async list(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Query() query: PageQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.listEndpoints.list(ctx, org, cursorOf(query), limit);
    return toPage(rows, limit, presentEndpoint, position);
  }

  @Get('webhook-endpoints/:id')
  @ApiOperation({ summary: 'One webhook endpoint (no secret)' })
  @RequireScopes('quota:admin')
  async get(@Caller() ctx: CallContext, @Param() { org, id }: EndpointPathDto) {
    return presentEndpoint(await this.listEndpoints.get(ctx, org, id));
  }

  @Delete('webhook-endpoints/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook endpoint; its queued deliveries are given up (dead). Audited.' })
  @RequireScopes('quota:admin')
  async remove(@Caller() ctx: CallContext, @Param() { org, id }: EndpointPathDto): Promise<void> {
    await this.deleteEndpoint.execute(ctx, org, id);
  }

  @Post('webhook-endpoints/:id/rotate-secret')
  @HttpCode(200)
  @SecretInResponse('secret')
  @ApiOperation({
    summary: 'A new signing secret (in this answer only)',
    description:
      'For 24 hours deliveries are signed by both the new and the replaced secret (two v1 signatures), then by the new only. Audited.',
  })
  @RequireScopes('quota:admin')
  async rotate(@Caller() ctx: CallContext, @Param() { org, id }: EndpointPathDto) {
    const { endpoint, secret } = await this.rotateSecret.execute(ctx, org, id);
    return { ...presentEndpoint(endpoint), secret };
  }

  @Get('webhook-endpoints/:id/deliveries')
  @ApiOperation({
    summary: 'The endpoint’s delivery log, oldest first',
    description: 'One delivery per event and endpoint (id <event id>:<endpoint id>), with its status, attempts and latest attempts.',
  })
  @RequireScopes('quota:admin')
  async deliveries(@Caller() ctx: CallContext, @Param() { org, id }: EndpointPathDto, @Query() query: DeliveriesQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await this.listDeliveries.execute(ctx, org, id, query.status, cursorOf(query), limit);
    return toPage(rows, limit, presentDelivery, position);
  }

  @Post('webhook-deliveries/:id/redeliver')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a delivery again now, whatever its status (attempts reset; a tripped endpoint circuit probes at once)',
  })
  @RequireScopes('quota:admin')
  async redeliver(@Caller() ctx: CallContext, @Param() { org, id }: DeliveryPathDto) {
    return presentDelivery(await this.redeliverWebhook.execute(ctx, org, id));
  }
}
