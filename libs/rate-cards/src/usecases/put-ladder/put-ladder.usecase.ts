import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext } from '@tollgate/tenancy';
import { checkLadderProducts, LadderRecord } from '../../domain/rate-card';
import { RateCardError } from '../../domain/rate-card.error';
import { readLadder } from '../../domain/rate-input';
import { snapshotLadder } from '../../domain/snapshots';
import { RateCardRepository } from '../../ports/rate-card.repository.port';
import { RateCardCatalog } from '../price-operation/rate-card-catalog';
import { refuse, requirePlatform } from '../price-items';

/**
 * Sets the downgrade ladder of one product of a card, replacing any it had. Ladders are not
 * prices (a reservation records what it admitted), so they are replaced rather than versioned;
 * each change is audited with the ladder before and after.
 */
@Injectable()
export class PutLadderUseCase {
  constructor(
    private readonly repository: RateCardRepository,
    private readonly catalog: RateCardCatalog,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, cardId: string, product: string, steps: unknown): Promise<{ ladder: LadderRecord; created: boolean }> {
    requirePlatform(ctx, 'change rate cards');
    const now = this.clock.now();
    const changed = await this.repository.changeCard(cardId, (card) => {
      const { ladder, problems } = readLadder({ product, ladder: steps }, '');
      if (ladder) problems.push(...checkLadderProducts(ladder, card.rates, ''));
      if (!ladder || problems.length > 0) refuse(problems);

      const before = card.ladders.find((l) => l.product === product) ?? null;
      const record: LadderRecord = { product, ladder: ladder.ladder, created_at: before?.created_at ?? now, updated_at: now };
      if (before && JSON.stringify(before.ladder) === JSON.stringify(record.ladder))
        return { updatedAt: now, audit: null, result: { ladder: before, created: false } };
      return {
        putLadder: record,
        updatedAt: now,
        audit: auditRecord(
          ctx,
          { orgId: null, environment: null },
          {
            action: before ? 'rate_card.ladder_replaced' : 'rate_card.ladder_added',
            resourceType: 'rate_card',
            resourceId: cardId,
            before: before ? snapshotLadder(before) : null,
            after: snapshotLadder(record),
          },
        ),
        result: { ladder: record, created: before === null },
      };
    });
    if (!changed) throw RateCardError.unknownCard(cardId);
    await this.catalog.cardChanged(cardId);
    return changed.result;
  }
}
