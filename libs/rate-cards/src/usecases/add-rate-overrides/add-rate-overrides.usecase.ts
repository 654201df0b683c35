import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { sameIdentity } from '../../domain/rate';
import { OverrideRecord } from '../../domain/rate-card';
import { RateCardError } from '../../domain/rate-card.error';
import { validateRateOverrides } from '../../domain/rate-validation';
import { snapshotEnds, snapshotOverride } from '../../domain/snapshots';
import { RateCardRepository } from '../../ports/rate-card.repository.port';
import { RateCardCatalog } from '../price-operation/rate-card-catalog';
import { newId, readAdditions, refuse, requirePlatform, scheduleWithGaps } from '../price-items';

export interface AddedOverrides {
  overrides: OverrideRecord[];
  /** Existing overrides the additions ended, as they are now. */
  ended: OverrideRecord[];
}

/**
 * An organization's own prices for single rates of its card (a negotiated discount): the price
 * fields of the card rate with the same product, dimension and match are replaced while the
 * override is in force. Overrides belong to the organization, not to a card or an environment:
 * live and test price alike, and a new card with the same identities keeps them.
 * Each must name a rate identity the organization's card has (a typo is refused, not ignored).
 * Scheduled like rates: an addition ends the override of its identity in force at its start.
 */
@Injectable()
export class AddRateOverridesUseCase {
  constructor(
    private readonly repository: RateCardRepository,
    private readonly organizations: GetOrganizationUseCase,
    private readonly catalog: RateCardCatalog,
    private readonly clock: Clock,
  ) {}

  async execute(ctx: CallContext, orgId: string, raw: unknown): Promise<AddedOverrides> {
    const org = await this.organizations.execute(ctx, orgId);
    requirePlatform(ctx, 'set rate overrides');
    if (org.rateCardId === null)
      throw new RateCardError('no_rate_card', `Organization '${orgId}' has no rate card to override: assign one first.`, { org_id: orgId });
    // Identities are never removed from a card (rates are append-only), so this read may precede the lock.
    const card = await this.repository.findCard(org.rateCardId);
    if (!card)
      throw new RateCardError('no_rate_card', `Organization '${orgId}' is assigned rate card '${org.rateCardId}', which does not exist.`, {
        org_id: orgId,
      });

    const now = this.clock.now();
    const { items, problems } = readAdditions<OverrideRecord>(raw, 'overrides', 'override', now, true, (draft) => ({
      ...draft,
      id: newId('ro'),
      org_id: orgId,
      created_at: now,
    }));
    if (Array.isArray(raw) && raw.length === 0) problems.push({ field: 'overrides', message: 'must have at least one override' });
    items.forEach((item, i) => {
      if (item && identityReadable(item) && !card.rates.some((rate) => sameIdentity(rate, item))) {
        problems.push({
          field: `overrides[${i}]`,
          message: `rate card '${card.id}' has no rate with this product, dimension and match to override`,
        });
      }
    });

    const result = await this.repository.changeOverrides(orgId, (current) => {
      const { added, existing, ended } = scheduleWithGaps(current, items);
      const found = [...problems, ...validateRateOverrides(added as OverrideRecord[], existing, 'overrides')];
      if (found.length > 0) refuse(found);
      const overrides = added as OverrideRecord[];
      const ends = snapshotEnds(ended);
      return {
        add: overrides,
        endOverrides: ended,
        at: now,
        audit: auditRecord(
          ctx,
          { orgId, environment: null },
          {
            action: 'rate_overrides.added',
            resourceType: 'rate_overrides',
            resourceId: orgId,
            before: { ended: ends.before },
            after: { added: overrides.map(snapshotOverride), ended: ends.after },
          },
        ),
        result: { overrides, ended: existing.filter((o) => ended.some((e) => e.id === o.id)) },
      };
    });
    await this.catalog.overridesChanged(orgId);
    return result;
  }
}

function identityReadable(item: OverrideRecord): boolean {
  return (
    typeof item.product === 'string' &&
    typeof item.dimension === 'string' &&
    item.match !== null &&
    typeof item.match === 'object' &&
    !Array.isArray(item.match)
  );
}
