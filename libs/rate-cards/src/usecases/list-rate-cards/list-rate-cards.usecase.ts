import { Injectable } from '@nestjs/common';
import { CallContext } from '@tollgate/tenancy';
import { RateCardSummary } from '../../domain/rate-card';
import { RateCardRepository } from '../../ports/rate-card.repository.port';
import { GetRateCardUseCase } from '../get-rate-card/get-rate-card.usecase';

/** Cards newest first (`limit + 1`, the caller pages them); an organization key sees its own card only. */
@Injectable()
export class ListRateCardsUseCase {
  constructor(
    private readonly repository: RateCardRepository,
    private readonly getRateCard: GetRateCardUseCase,
  ) {}

  async execute(ctx: CallContext, before: { createdAt: Date; id: string } | undefined, limit: number): Promise<RateCardSummary[]> {
    const only = await this.getRateCard.readableBy(ctx);
    if (only === null) return [];
    return this.repository.listCards(before, limit, only);
  }
}
