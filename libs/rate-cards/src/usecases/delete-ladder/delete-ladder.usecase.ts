import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext } from '@tollgate/tenancy';
import { RateCardError } from '../../domain/rate-card.error';
import { snapshotLadder } from '../../domain/snapshots';
import { RateCardRepository } from '../../ports/rate-card.repository.port';
import { RateCardCatalog } from '../price-operation/rate-card-catalog';
import { requirePlatform } from '../price-items';

/** Removes a product's downgrade ladder: its requests get no downgrade options any more. */
@Injectable()
export class DeleteLadderUseCase {
  constructor(
    private readonly repository: RateCardRepository,
    private readonly catalog: RateCardCatalog,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, cardId: string, product: string): Promise<void> {
    requirePlatform(ctx, 'change rate cards');
    const now = this.clock.now();
    const changed = await this.repository.changeCard(cardId, (card) => {
      const before = card.ladders.find((l) => l.product === product);
      if (!before) throw new RateCardError('unknown_ladder', `Rate card '${cardId}' has no downgrade ladder for product '${product}'.`);
      return {
        deleteLadder: product,
        updatedAt: now,
        audit: auditRecord(
          ctx,
          { orgId: null, environment: null },
          {
            action: 'rate_card.ladder_removed',
            resourceType: 'rate_card',
            resourceId: cardId,
            before: snapshotLadder(before),
            after: null,
          },
        ),
        result: undefined,
      };
    });
    if (!changed) throw RateCardError.unknownCard(cardId);
    await this.catalog.cardChanged(cardId);
  }
}
