import { Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import {
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  IdempotentByDeliveryId,
  PlatformError,
  Public,
  RawBody,
  RawBodyRoute,
  toPage,
} from '@tollgate/platform';
import { CallContext, Caller, RequireScopes } from '@tollgate/tenancy';
import { WebhookSource } from '../domain/vendor-signal';
import { WebhookReceipt } from '../domain/webhook-receipt';
import { ListWebhookReceiptsUseCase } from '../usecases/list-webhook-receipts/list-webhook-receipts.usecase';
import { ReceiveVendorWebhookUseCase } from '../usecases/receive-vendor-webhook/receive-vendor-webhook.usecase';
import { ReceiptsQueryDto } from './vendor-webhooks.dto';

function presentReceipt(r: WebhookReceipt) {
  return {
    id: r.id,
    source: r.source,
    delivery_id: r.deliveryId,
    environment: r.environment,
    org_id: r.orgId,
    event_type: r.eventType,
    kind: r.kind,
    outcome: r.outcome,
    action: r.action,
    reason: r.reason,
    remote_ip: r.remoteIp,
    body_sha256: r.bodySha256,
    payload: r.payload,
    received_at: r.receivedAt.toISOString(),
  };
}

@ApiTags('webhooks')
@Controller('v1/webhooks')
export class VendorWebhooksController {
  constructor(
    private readonly receive: ReceiveVendorWebhookUseCase,
    private readonly listReceipts: ListWebhookReceiptsUseCase,
  ) {}

  @Post('flexprice')
  @Public()
  @RawBodyRoute()
  @IdempotentByDeliveryId()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Flexprice webhook deliveries (Svix-signed, or native with the shared-secret header)',
    description:
      'No API key: the signature is the credential. 401 webhook_signature_invalid for a bad or missing signature or a timestamp ' +
      'more than 5 minutes off; 200 with outcome duplicate for a svix-id seen before (no second effect). Every delivery is recorded.',
  })
  flexprice(@RawBody() raw: Buffer, @Req() request: FastifyRequest) {
    return this.handle('flexprice', raw, request);
  }

  @Post('metronome')
  @Public()
  @RawBodyRoute()
  @IdempotentByDeliveryId()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Metronome webhook notifications (Metronome-Webhook-Signature over X-Metronome-Date or Date, newline, body)',
    description:
      'No API key: the signature is the credential. 401 webhook_signature_invalid for a bad or missing signature or a date more ' +
      'than 5 minutes off; 200 with outcome duplicate for a notification id seen before. Every delivery is recorded.',
  })
  metronome(@RawBody() raw: Buffer, @Req() request: FastifyRequest) {
    return this.handle('metronome', raw, request);
  }

  @Get('receipts')
  @ApiBearerAuth()
  @RequireScopes('read', 'billing:admin')
  @ApiOperation({
    summary: 'Inbound vendor deliveries, newest first, with their outcome and what Tollgate did',
    description: 'A platform key sees all (refused deliveries too); an organization key its own organization in its environment.',
  })
  async receipts(@Caller() ctx: CallContext, @Query() query: ReceiptsQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const position = decodeCursor<{ at: string; id: string }>(query.cursor, ['at', 'id']);
    if (query.cursor && !position) throw PlatformError.validation([{ field: 'cursor', message: 'cursor is not a cursor this API issued' }]);
    const rows = await this.listReceipts.execute(ctx, {
      source: query.source,
      outcome: query.outcome,
      orgId: query.org_id,
      before: position ? { receivedAt: position.at, id: position.id } : undefined,
      limit: limit + 1,
    });
    return toPage(rows, limit, presentReceipt, (r) => ({ at: r.receivedAt.toISOString(), id: r.id }));
  }

  private handle(source: WebhookSource, raw: Buffer, request: FastifyRequest) {
    return this.receive.execute({ source, raw, headers: request.headers, remoteIp: request.ip ?? null, requestId: String(request.id) });
  }
}
