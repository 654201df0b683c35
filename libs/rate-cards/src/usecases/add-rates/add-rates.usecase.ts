import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext } from '@tollgate/tenancy';
import { EndedRate, RateRecord } from '../../domain/rate-card';
import { RateCardError } from '../../domain/rate-card.error';
import { validateRates } from '../../domain/rate-validation';
import { snapshotEnds, snapshotRate } from '../../domain/snapshots';
import { RateCardRepository } from '../../ports/rate-card.repository.port';
import { RateCardCatalog } from '../price-operation/rate-card-catalog';
import { newId, readAdditions, refuse, requirePlatform, scheduleWithGaps } from '../price-items';

export interface AddedRates {
  /** The new rates as stored (`ending_before` filled in where the schedule decided it). */
  rates: RateRecord[];
  /** Existing rates the additions ended, as they are now. */
  ended: RateRecord[];
}

/**
 * Adds rates to a card: a new product, a new match, or a scheduled price change. Append-only:
 * the rate of the same identity in force at a new rate's start is ended there, and nothing
 * else changes (rate-schedule.ts). Starts may not lie in the past. Checked against the card
 * as locked, so concurrent additions cannot together make an overlap.
 */
@Injectable()
export class AddRatesUseCase {
  constructor(
    private readonly repository: RateCardRepository,
    private readonly catalog: RateCardCatalog,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, cardId: string, rawRates: unknown): Promise<AddedRates> {
    requirePlatform(ctx, 'change rate cards');
    const now = this.clock.now();
    const changed = await this.repository.changeCard(cardId, (card) => {
      const { items, problems } = readAdditions<RateRecord>(rawRates, 'rates', 'rate', now, true, (draft) => ({
        ...draft,
        id: newId('rate'),
        created_at: now,
      }));
      if (Array.isArray(rawRates) && rawRates.length === 0) problems.push({ field: 'rates', message: 'must have at least one rate' });
      const { added, existing, ended } = scheduleWithGaps(card.rates, items);
      problems.push(...validateRates(added as RateRecord[], existing, 'rates'));
      if (problems.length > 0) refuse(problems);

      const rates = added as RateRecord[];
      const ends = snapshotEnds(ended);
      const endedNow = existing.filter((rate) => ended.some((e: EndedRate) => e.id === rate.id));
      return {
        addRates: rates,
        endRates: ended,
        updatedAt: now,
        audit: auditRecord(
          ctx,
          { orgId: null, environment: null },
          {
            action: 'rate_card.rates_added',
            resourceType: 'rate_card',
            resourceId: cardId,
            before: { ended: ends.before },
            after: { added: rates.map(snapshotRate), ended: ends.after },
          },
        ),
        result: { rates, ended: endedNow },
      };
    });
    if (!changed) throw RateCardError.unknownCard(cardId);
    await this.catalog.cardChanged(cardId);
    return changed.result;
  }
}
