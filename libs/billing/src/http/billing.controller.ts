import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decodeCursor, DEFAULT_PAGE_SIZE, Idempotent, PlatformError, toPage } from '@tollgate/platform';
import { CallContext, Caller, OrgPathDto, RequireScopes } from '@tollgate/tenancy';
import { presentRouting } from '../adapters/mikro-orm/billing-routing.repository';
import { OutboxEntry } from '../adapters/mikro-orm/outbox.repository';
import { ChangeBillingRoutingUseCase } from '../usecases/change-billing-routing/change-billing-routing.usecase';
import { GetBillingRoutingUseCase } from '../usecases/get-billing-routing/get-billing-routing.usecase';
import { ListOutboxUseCase } from '../usecases/list-outbox/list-outbox.usecase';
import { RetryDeliveryUseCase } from '../usecases/retry-delivery/retry-delivery.usecase';
import { GetShadowReportUseCase } from '../usecases/get-shadow-report/get-shadow-report.usecase';
import { DeliveryPathDto, OutboxQueryDto, RoutingDto, ShadowReportQueryDto } from './billing.dto';

function presentDelivery(e: OutboxEntry) {
  return {
    id: e.id,
    event_id: e.eventId,
    org_id: e.orgId,
    environment: e.environment,
    backend: e.backend,
    role: e.role,
    customer: e.customer,
    status: e.status,
    attempts: e.attempts,
    next_attempt_at: e.status === 'pending' || e.status === 'failed' ? e.nextAttemptAt.toISOString() : null,
    last_error: e.lastError,
    created_at: e.createdAt.toISOString(),
    delivered_at: e.deliveredAt ? e.deliveredAt.toISOString() : null,
  };
}

@ApiTags('billing')
@ApiBearerAuth()
@Controller('v1')
export class BillingController {
  constructor(
    private readonly getRouting: GetBillingRoutingUseCase,
    private readonly changeRouting: ChangeBillingRoutingUseCase,
    private readonly listOutbox: ListOutboxUseCase,
    private readonly retryDelivery: RetryDeliveryUseCase,
    private readonly shadowReport: GetShadowReportUseCase,
  ) {}

  @Get('orgs/:org/billing')
  @ApiOperation({ summary: "The organization's billing routing (primary backend, shadow, vendor customers), in the caller's environment" })
  @RequireScopes('billing:admin')
  async routing(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto) {
    return presentRouting(await this.getRouting.execute(ctx, org));
  }

  @Put('orgs/:org/billing')
  @HttpCode(200)
  @ApiOperation({
    summary: "Route the organization's usage events",
    description:
      'backend: none | flexprice | metronome; shadow: another backend or null (every event is also sent there, independently). ' +
      'Applies to events recorded after the change (effective now, or next_period: the start of the next UTC month); ' +
      'events recorded before keep their routing. Vendor customers are provisioned when customer_ids does not name them. Audited.',
  })
  @RequireScopes('billing:admin')
  async route(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Body() body: RoutingDto) {
    const after = await this.changeRouting.execute(ctx, org, {
      backend: body.backend,
      shadow: body.shadow ?? null,
      customerIds: body.customer_ids ?? {},
      effective: body.effective ?? 'now',
    });
    return presentRouting(after);
  }

  @Get('orgs/:org/billing/shadow-report')
  @ApiOperation({
    summary: 'Primary against shadow',
    description:
      'Per UTC month and metric (tollgate.usage, tollgate.correction) of the events occurring in [from, to): events, quantity and ' +
      'amount sent to each backend, what each backend reports holding, every difference (missing, duplicated, different quantity ' +
      'or amount, not delivered yet) with the events behind it where Tollgate knows them, and agree: true | false.',
  })
  @RequireScopes('billing:admin')
  report(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Query() query: ShadowReportQueryDto) {
    return this.shadowReport.execute(ctx, org, query.from, query.to);
  }

  @Get('billing/outbox')
  @ApiOperation({
    summary: 'Outbox deliveries',
    description:
      'One row per event and backend (backend default: an event not routed yet), oldest first. A platform key sees every ' +
      'organization of its environment, an organization key its own.',
  })
  @RequireScopes('billing:admin')
  async outbox(@Caller() ctx: CallContext, @Query() query: OutboxQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor<{ createdAt: string; id: string }>(query.cursor, ['createdAt', 'id']);
    if (after && Number.isNaN(Date.parse(after.createdAt))) {
      throw PlatformError.validation([{ field: 'cursor', message: 'cursor is not a cursor this API issued' }]);
    }
    const rows = await this.listOutbox.execute(ctx, { status: query.status, backend: query.backend }, after, limit);
    return toPage(rows, limit, presentDelivery, (e) => ({ createdAt: e.createdAt.toISOString(), id: e.id }));
  }

  @Post('billing/outbox/:id/retry')
  @Idempotent()
  @HttpCode(200)
  @ApiOperation({ summary: 'Send a failed or dead delivery again now (attempts reset)' })
  @RequireScopes('billing:admin')
  async retry(@Caller() ctx: CallContext, @Param() { id }: DeliveryPathDto) {
    return presentDelivery(await this.retryDelivery.execute(ctx, id));
  }
}
