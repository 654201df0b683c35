import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { decodeCursor, DEFAULT_PAGE_SIZE, PlatformError, toPage } from '@tollgate/platform';
import { CallContext, Caller, OrgPathDto, RequireScopes } from '@tollgate/tenancy';
import { RecordedUsageEvent } from '../adapters/mikro-orm/usage-event.repository';
import { DEFAULT_SPEND_TOP, spendWindowProblem } from '../domain/spend';
import { GetSpendUseCase } from '../usecases/get-spend/get-spend.usecase';
import { GetVarianceUseCase } from '../usecases/get-variance/get-variance.usecase';
import { ListUsageEventsUseCase } from '../usecases/list-usage-events/list-usage-events.usecase';
import { SpendQueryDto, UsageEventsQueryDto, VarianceQueryDto } from './reconciliation.dto';

/** A usage event as the API and docs/usage-events.md name its fields. */
export function presentUsageEvent(e: RecordedUsageEvent) {
  return {
    id: e.id,
    kind: e.kind,
    org_id: e.orgId,
    environment: e.environment,
    project_id: e.projectId,
    user_id: e.userId,
    product: e.product,
    dimension: e.dimension,
    dimensions: e.dimensions,
    quantity: e.quantity,
    amount: e.amount,
    estimate: e.estimate,
    actual: e.actual,
    variance: e.variance,
    rate_card_id: e.rateCardId,
    rate_id: e.rateId,
    reservation_id: e.reservationId,
    line: e.line,
    provider: e.provider,
    provider_request_id: e.providerRequestId,
    occurred_at: e.occurredAt.toISOString(),
    recorded_at: e.recordedAt.toISOString(),
  };
}

function checkWindow(from: Date | undefined, to: Date | undefined): void {
  if (from && to && from.getTime() >= to.getTime()) throw PlatformError.validation([{ field: 'to', message: 'to must be after from' }]);
}

@ApiTags('reconciliation')
@ApiBearerAuth()
@Controller('v1/orgs/:org')
export class ReconciliationController {
  constructor(
    private readonly listEvents: ListUsageEventsUseCase,
    private readonly getVariance: GetVarianceUseCase,
    private readonly getSpend: GetSpendUseCase,
  ) {}

  @Get('usage-events')
  @ApiOperation({
    summary: 'The normalized usage events',
    description:
      'One event per charged line of a commit (per dimension of a priced commit, one for a raw amount), oldest first by ' +
      'occurred_at. Ids are derived from the reservation and the line, so they never change on retry. from inclusive, to exclusive.',
  })
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async usageEvents(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Query() query: UsageEventsQueryDto) {
    checkWindow(query.from, query.to);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor<{ occurredAt: string; id: string }>(query.cursor, ['occurredAt', 'id']);
    const events = await this.listEvents.execute(ctx, org, { from: query.from, to: query.to, product: query.product }, after, limit);
    return toPage(events, limit, presentUsageEvent, (e) => ({ occurredAt: e.occurredAt.toISOString(), id: e.id }));
  }

  @Get('variance')
  @ApiOperation({
    summary: 'Estimates against actuals',
    description:
      'Per group (project, product or user; default project) over the commits of the window: count, sum of estimates (the holds), ' +
      'sum of actuals (what the actual usage priced at, before the overage policy), their difference, mean, p50 and p90 of the ' +
      'relative variance ((actual − estimate) / estimate) and how many commits overran their hold.',
  })
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async variance(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Query() query: VarianceQueryDto) {
    checkWindow(query.from, query.to);
    const groupBy = query.group_by ?? 'project';
    const groups = await this.getVariance.execute(ctx, org, { from: query.from, to: query.to }, groupBy);
    return {
      org_id: org,
      from: query.from?.toISOString() ?? null,
      to: query.to?.toISOString() ?? null,
      group_by: groupBy,
      data: groups.map(({ key, ...figures }) => ({ ...key, ...figures })),
    };
  }

  @Get('spend')
  @ApiOperation({
    summary: 'Spend over time',
    description:
      'Micro-credits charged (after the overage policy) over [from, to) per bucket: UTC calendar days, ISO weeks from Monday, ' +
      'or calendar months (interval, default day), each with its start and end, its total and one entry per group (project, ' +
      'product or user; default project) that spent in it. Every bucket that meets the window is listed, those without spend ' +
      'with zeros and no groups; the first and last keep their calendar bounds but count only the window. Each bucket lists ' +
      'its `top` largest groups (default 100, at most 1,000) and sums the rest into `others` {groups, amount, count}. from and to are ' +
      'required; the window is at most 400 days for day, 1,120 for week, 3,660 for month.',
  })
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async spend(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Query() query: SpendQueryDto) {
    const interval = query.interval ?? 'day';
    const groupBy = query.group_by ?? 'project';
    const top = query.top ?? DEFAULT_SPEND_TOP;
    const problem = spendWindowProblem(query.from, query.to, interval);
    if (problem) throw PlatformError.validation([{ field: 'to', message: problem }]);
    const buckets = await this.getSpend.execute(ctx, org, { from: query.from, to: query.to }, interval, groupBy, top);
    return {
      org_id: org,
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      interval,
      group_by: groupBy,
      top,
      amount: buckets.reduce((sum, b) => sum + b.amount, 0),
      data: buckets.map((b) => ({
        start: b.start.toISOString(),
        end: b.end.toISOString(),
        amount: b.amount,
        count: b.count,
        groups: b.groups,
        ...(b.others ? { others: b.others } : {}),
      })),
    };
  }
}
