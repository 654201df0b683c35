import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Clock, decodeCursor, DEFAULT_PAGE_SIZE, Idempotent, PageQueryDto, toPage } from '@tollgate/platform';
import { CallContext, Caller, RequireScopes } from '@tollgate/tenancy';
import { AddRatesUseCase } from '../usecases/add-rates/add-rates.usecase';
import { CreateRateCardUseCase } from '../usecases/create-rate-card/create-rate-card.usecase';
import { DeleteLadderUseCase } from '../usecases/delete-ladder/delete-ladder.usecase';
import { GetRateCardUseCase } from '../usecases/get-rate-card/get-rate-card.usecase';
import { ListRateCardsUseCase } from '../usecases/list-rate-cards/list-rate-cards.usecase';
import { PutLadderUseCase } from '../usecases/put-ladder/put-ladder.usecase';
import { AddRatesDto, CreateRateCardDto, LadderPathDto, PutLadderDto, RateCardPathDto, RateCardQueryDto } from './rate-cards.dto';
import { presentCard, presentCardSummary, presentLadder, presentRate } from './rate-cards.presenter';

/** Platform-wide catalog objects: written with a platform key, read by an organization key for its own card only. */
@ApiTags('rate cards')
@ApiBearerAuth()
@Idempotent()
@Controller('v1/rate-cards')
export class RateCardsController {
  constructor(
    private readonly createRateCard: CreateRateCardUseCase,
    private readonly getRateCard: GetRateCardUseCase,
    private readonly listRateCards: ListRateCardsUseCase,
    private readonly addRates: AddRatesUseCase,
    private readonly putLadder: PutLadderUseCase,
    private readonly deleteLadder: DeleteLadderUseCase,
    private readonly clock: Clock,
  ) {}

  @Post()
  @RequireScopes('quota:admin')
  async create(@Caller() ctx: CallContext, @Body() body: CreateRateCardDto) {
    const card = await this.createRateCard.execute(ctx, { name: body.name, rates: body.rates, ladders: body.ladders });
    return presentCard(card, this.clock.now());
  }

  @Get()
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async list(@Caller() ctx: CallContext, @Query() query: PageQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const before = decodeCursor<{ createdAt: string; id: string }>(query.cursor, ['createdAt', 'id']);
    const cards = await this.listRateCards.execute(ctx, before && { createdAt: new Date(before.createdAt), id: before.id }, limit);
    return toPage(cards, limit, presentCardSummary, (c) => ({ createdAt: c.created_at.toISOString(), id: c.id }));
  }

  /** Every rate (ended, in force, scheduled) with `in_force` at `?at=` (default now), and the ladders. */
  @Get(':id')
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async get(@Caller() ctx: CallContext, @Param() { id }: RateCardPathDto, @Query() query: RateCardQueryDto) {
    return presentCard(await this.getRateCard.execute(ctx, id), query.at ?? this.clock.now());
  }

  /** 201 with the new rates, and the existing ones they ended (with their new `ending_before`). */
  @Post(':id/rates')
  @RequireScopes('quota:admin')
  async add(@Caller() ctx: CallContext, @Param() { id }: RateCardPathDto, @Body() body: AddRatesDto) {
    const { rates, ended } = await this.addRates.execute(ctx, id, body.rates);
    const now = this.clock.now();
    return { rate_card_id: id, rates: rates.map((r) => presentRate(r, now)), ended: ended.map((r) => presentRate(r, now)) };
  }

  /** 201 when the product had no ladder, 200 when it replaced one. */
  @Put(':id/ladders/:product')
  @RequireScopes('quota:admin')
  async ladder(
    @Caller() ctx: CallContext,
    @Param() { id, product }: LadderPathDto,
    @Body() body: PutLadderDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { ladder, created } = await this.putLadder.execute(ctx, id, product, body.ladder);
    reply.status(created ? 201 : 200);
    return { rate_card_id: id, ...presentLadder(ladder) };
  }

  @Delete(':id/ladders/:product')
  @HttpCode(204)
  @RequireScopes('quota:admin')
  async removeLadder(@Caller() ctx: CallContext, @Param() { id, product }: LadderPathDto): Promise<void> {
    await this.deleteLadder.execute(ctx, id, product);
  }
}
