import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext } from '@tollgate/tenancy';
import { DowngradeLadder } from '../../domain/downgrade';
import { checkLadderProducts, LadderRecord, RateCard, RateRecord } from '../../domain/rate-card';
import { readLadder } from '../../domain/rate-input';
import { RateProblem, validateRates } from '../../domain/rate-validation';
import { snapshotCard } from '../../domain/snapshots';
import { RateCardRepository } from '../../ports/rate-card.repository.port';
import { RateCardCatalog } from '../price-operation/rate-card-catalog';
import { newId, readAdditions, refuse, requirePlatform, scheduleWithGaps } from '../price-items';

export interface CreateRateCardInput {
  name: string;
  /** Parsed JSON, read and validated here so that one 422 lists every problem. */
  rates: unknown;
  ladders?: unknown;
}

/**
 * A new card with its rates and ladders, validated as a whole. Rates may start in the past (no
 * hold was priced with a card that did not exist) and several rates of one identity chain up
 * as scheduled changes (rate-schedule.ts).
 */
@Injectable()
export class CreateRateCardUseCase {
  constructor(
    private readonly repository: RateCardRepository,
    private readonly catalog: RateCardCatalog,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, input: CreateRateCardInput): Promise<RateCard> {
    requirePlatform(ctx, 'create rate cards');
    const now = this.clock.now();
    const { items, problems } = readAdditions<RateRecord>(input.rates, 'rates', 'rate', now, false, (draft) => ({
      ...draft,
      id: newId('rate'),
      created_at: now,
    }));
    const { added } = scheduleWithGaps([], items);
    problems.push(...validateRates(added as RateRecord[], [], 'rates'));
    const rates = added.filter((rate): rate is RateRecord => rate !== null);
    const ladders = readLadders(input.ladders, rates, problems, now);
    if (problems.length > 0) refuse(problems);

    const card: RateCard = { id: newId('rc'), name: input.name, created_at: now, updated_at: now, rates, ladders };
    await this.repository.insertCard(
      card,
      auditRecord(
        ctx,
        { orgId: null, environment: null },
        {
          action: 'rate_card.created',
          resourceType: 'rate_card',
          resourceId: card.id,
          before: null,
          after: snapshotCard(card),
        },
      ),
    );
    // A miss may be cached for this id (an organization pointed at it first): drop it everywhere.
    await this.catalog.cardChanged(card.id);
    return card;
  }
}

function readLadders(raw: unknown, rates: readonly RateRecord[], problems: RateProblem[], now: Date): LadderRecord[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push({ field: 'ladders', message: 'must be a list of ladders' });
    return [];
  }
  const ladders: LadderRecord[] = [];
  const seen = new Map<string, number>();
  raw.forEach((item: unknown, i) => {
    const field = `ladders[${i}]`;
    const { ladder, problems: found } = readLadder(item, field);
    problems.push(...found);
    if (!ladder) return;
    problems.push(...checkLadderProducts(ladder, rates, field));
    const first = seen.get(ladder.product);
    if (first !== undefined)
      problems.push({ field: `${field}.product`, message: `repeats the product of ladders[${first}]: one ladder per product` });
    seen.set(ladder.product, i);
    ladders.push(toRecord(ladder, now));
  });
  return ladders;
}

export function toRecord(ladder: DowngradeLadder, now: Date): LadderRecord {
  return { product: ladder.product, ladder: ladder.ladder, created_at: now, updated_at: now };
}
