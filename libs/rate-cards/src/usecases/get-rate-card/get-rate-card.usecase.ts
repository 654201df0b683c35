import { Injectable } from '@nestjs/common';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { RateCard } from '../../domain/rate-card';
import { RateCardError } from '../../domain/rate-card.error';
import { RateCardRepository } from '../../ports/rate-card.repository.port';

/**
 * A card with every rate (past, in force and scheduled) and its ladders, read from Postgres
 * (an admin read, not the hot path). Cards are platform-wide: an organization key reads only
 * the card its organization is assigned, and gets the same 404 for any other.
 */
@Injectable()
export class GetRateCardUseCase {
  constructor(
    private readonly repository: RateCardRepository,
    private readonly organizations: GetOrganizationUseCase,
  ) {}

  async execute(ctx: CallContext, id: string): Promise<RateCard> {
    if (!(await this.mayRead(ctx, id))) throw RateCardError.unknownCard(id);
    const card = await this.repository.findCard(id);
    if (!card) throw RateCardError.unknownCard(id);
    return card;
  }

  /** The card an organization key may read (its organization's), or undefined for a platform key (any). */
  async readableBy(ctx: CallContext): Promise<string | null | undefined> {
    const orgId = ctx.principal.orgId;
    if (orgId === null) return undefined;
    const org = await this.organizations.findById(orgId);
    return org?.rateCardId ?? null;
  }

  private async mayRead(ctx: CallContext, id: string): Promise<boolean> {
    const only = await this.readableBy(ctx);
    return only === undefined || only === id;
  }
}
