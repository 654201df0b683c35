import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  canonicalJson,
  Clock,
  decodeCursor,
  fieldPath,
  PlatformError,
  DEFAULT_PAGE_SIZE,
  Idempotent,
  IdempotencyKey,
  IdempotencyRequired,
  IdempotentByResource,
  toPage,
} from '@tollgate/platform';
import { CallContext, Caller, RequireScopes } from '@tollgate/tenancy';
import { ActualUse, CommitReservationUseCase } from '../usecases/commit-reservation/commit-reservation.usecase';
import { ExtendReservationUseCase } from '../usecases/extend-reservation/extend-reservation.usecase';
import { GetReservationUseCase } from '../usecases/get-reservation/get-reservation.usecase';
import { ListReservationsUseCase } from '../usecases/list-reservations/list-reservations.usecase';
import { ReleaseReservationUseCase } from '../usecases/release-reservation/release-reservation.usecase';
import { ReserveUseCase } from '../usecases/reserve/reserve.usecase';
import {
  CommitDto,
  ExtendDto,
  ListReservationsQueryDto,
  ReleaseDto,
  ReservationPathDto,
  ReserveBatchDto,
  ReserveDto,
  toAdmissionRequest,
} from './reservations.dto';
import { ReserveBatchUseCase } from '../usecases/reserve-batch/reserve-batch.usecase';
import { QuoteUseCase } from '../usecases/quote/quote.usecase';
import { presentReservation } from '../usecases/reservation-answers';

/** A commit's dimensions: string values, as a reserve's (API names are checked when pricing). */
function checkedDimensions(dimensions: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (dimensions === undefined) return undefined;
  const bad = Object.entries(dimensions).filter(([, value]) => typeof value !== 'string' || value.length === 0 || value.length > 128);
  if (bad.length > 0)
    throw PlatformError.validation(
      bad.map(([name]) => ({ field: fieldPath('dimensions', name), message: `${name} must be a string of 1 to 128 characters` })),
    );
  return dimensions as Record<string, string>;
}

/** The body as the client sent it, for comparing retries (the DTO drops nothing, but may coerce). */
function rawBody(request: FastifyRequest): string {
  return canonicalJson(request.body ?? null);
}

@ApiTags('reservations')
@ApiBearerAuth()
@Controller('v1/reservations')
export class ReservationsController {
  constructor(
    private readonly reserve: ReserveUseCase,
    private readonly reserveBatch: ReserveBatchUseCase,
    private readonly commitReservation: CommitReservationUseCase,
    private readonly releaseReservation: ReleaseReservationUseCase,
    private readonly extendReservation: ExtendReservationUseCase,
    private readonly getReservation: GetReservationUseCase,
    private readonly listReservations: ListReservationsUseCase,
    private readonly clock: Clock,
  ) {}

  /** 201 with the hold; 402 insufficient_budget naming the first short level from the top. */
  @Post()
  @IdempotentByResource()
  @RequireScopes('admission')
  async create(
    @Caller() ctx: CallContext,
    @Body() body: ReserveDto,
    @IdempotencyKey() key: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.reserve.execute(
      ctx,
      key,
      {
        orgId: body.org_id,
        projectId: body.project_id,
        userId: body.user_id,
        request: toAdmissionRequest(body),
        ttlSeconds: body.ttl_seconds,
        metadata: body.metadata,
      },
      rawBody(request),
    );
    if (result.replayed) reply.header('Idempotent-Replayed', 'true');
    reply.status(result.status);
    return result.body;
  }

  /** One atomic decision for up to 100 items; 201 when at least one is held. */
  @Post('batch')
  @Idempotent()
  @IdempotencyRequired()
  @RequireScopes('admission')
  batch(@Caller() ctx: CallContext, @Body() body: ReserveBatchDto, @IdempotencyKey() key: string, @Req() request: FastifyRequest) {
    return this.reserveBatch.execute(
      ctx,
      key,
      {
        orgId: body.org_id,
        projectId: body.project_id,
        userId: body.user_id,
        policy: body.policy,
        items: body.items.map((item, i) => ({
          request: toAdmissionRequest(item, fieldPath('items', i)),
          ttlSeconds: item.ttl_seconds,
          metadata: item.metadata,
        })),
      },
      rawBody(request),
    );
  }

  @Get()
  @RequireScopes('admission', 'read', 'quota:admin')
  async list(@Caller() ctx: CallContext, @Query() query: ListReservationsQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const before = decodeCursor<{ createdAt: string; id: string }>(query.cursor, ['createdAt', 'id']);
    const views = await this.listReservations.execute(
      ctx,
      query.org_id,
      { projectId: query.project_id, userId: query.user_id, status: query.status },
      before,
      limit,
    );
    const now = this.clock.now();
    return toPage(
      views,
      limit,
      (v) => presentReservation(v, now),
      (v) => ({ createdAt: v.createdAt.toISOString(), id: v.id }),
    );
  }

  @Get(':id')
  @RequireScopes('admission', 'read', 'quota:admin')
  async get(@Caller() ctx: CallContext, @Param() { id }: ReservationPathDto) {
    return presentReservation(await this.getReservation.execute(ctx, id), this.clock.now());
  }

  @Post(':id/extend')
  @Idempotent()
  @HttpCode(200)
  @RequireScopes('admission')
  async extend(@Caller() ctx: CallContext, @Param() { id }: ReservationPathDto, @Body() body: ExtendDto) {
    return presentReservation(await this.extendReservation.execute(ctx, id, body.ttl_seconds), this.clock.now());
  }

  /** 200 with what was charged and released; 409 reservation_not_held once it has ended. */
  @Post(':id/commit')
  @HttpCode(200)
  @IdempotentByResource()
  @RequireScopes('admission')
  async commit(
    @Caller() ctx: CallContext,
    @Param() { id }: ReservationPathDto,
    @Body() body: CommitDto,
    @IdempotencyKey() key: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if ((body.amount === undefined) === (body.usage === undefined)) {
      throw PlatformError.validation([
        { field: 'amount', message: "give either amount (a raw cost) or usage (priced at the hold's rates)" },
      ]);
    }
    const actual: ActualUse =
      body.usage !== undefined
        ? { kind: 'usage', usage: body.usage, dimensions: checkedDimensions(body.dimensions) }
        : { kind: 'amount', amount: body.amount! };
    const provider = body.provider ? { name: body.provider.name, requestId: body.provider.request_id ?? null } : null;
    const result = await this.commitReservation.execute(ctx, id, key, actual, rawBody(request), provider);
    if (result.replayed) reply.header('Idempotent-Replayed', 'true');
    return result.body;
  }

  @Post(':id/release')
  @HttpCode(200)
  @IdempotentByResource()
  @RequireScopes('admission')
  async release(
    @Caller() ctx: CallContext,
    @Param() { id }: ReservationPathDto,
    @Body() body: ReleaseDto,
    @IdempotencyKey() key: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.releaseReservation.execute(ctx, id, key, body.reason ?? null, rawBody(request));
    if (result.replayed) reply.header('Idempotent-Replayed', 'true');
    return result.body;
  }
}

/** The dry run of a reserve: the price, whether it would be admitted now, and the downgrade options. Holds nothing. */
@ApiTags('reservations')
@ApiBearerAuth()
@Idempotent()
@Controller('v1/quotes')
export class QuotesController {
  constructor(private readonly quote: QuoteUseCase) {}

  @Post()
  @HttpCode(200)
  @RequireScopes('admission', 'read', 'quota:admin')
  create(@Caller() ctx: CallContext, @Body() body: ReserveDto) {
    return this.quote.execute(ctx, {
      orgId: body.org_id,
      projectId: body.project_id,
      userId: body.user_id,
      request: toAdmissionRequest(body),
      ttlSeconds: body.ttl_seconds,
    });
  }
}
