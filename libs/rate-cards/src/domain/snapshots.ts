import { PriceSpec } from './rate';
import { LadderRecord, OverrideRecord, RateCard, RateRecord } from './rate-card';
import { presentStep } from './rate-input';

/**
 * Rate cards, rates, ladders and overrides as clients see them (snake_case, RFC 3339, prices
 * as the decimal strings they were written as): the API's bodies and the audit log's
 * before/after alike. Every price field is present, null when the model does not use it.
 */

function priceFields(spec: PriceSpec) {
  return {
    model: spec.model,
    unit_price: spec.unit_price ?? null,
    package_size: spec.package_size ?? null,
    tiers:
      spec.tiers?.map((t) => ({
        up_to: t.up_to,
        unit_price: t.unit_price,
        ...(t.flat_price !== undefined && { flat_price: t.flat_price }),
      })) ?? null,
    tier_scope: spec.tier_scope,
  };
}

const iso = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);

export function snapshotRate(rate: RateRecord) {
  return {
    id: rate.id,
    product: rate.product,
    dimension: rate.dimension,
    match: rate.match,
    ...priceFields(rate),
    starting_at: iso(rate.starting_at),
    ending_before: iso(rate.ending_before),
    created_at: iso(rate.created_at),
  };
}

export function snapshotOverride(override: OverrideRecord) {
  return {
    id: override.id,
    org_id: override.org_id,
    product: override.product,
    dimension: override.dimension,
    match: override.match,
    ...priceFields(override),
    starting_at: iso(override.starting_at),
    ending_before: iso(override.ending_before),
    created_at: iso(override.created_at),
  };
}

export function snapshotLadder(ladder: LadderRecord) {
  return {
    product: ladder.product,
    ladder: ladder.ladder.map(presentStep),
    created_at: iso(ladder.created_at),
    updated_at: iso(ladder.updated_at),
  };
}

export function snapshotCard(card: RateCard) {
  return {
    id: card.id,
    name: card.name,
    created_at: iso(card.created_at),
    updated_at: iso(card.updated_at),
    rates: card.rates.map(snapshotRate),
    ladders: card.ladders.map(snapshotLadder),
  };
}

/** What an addition changed about existing rates (or overrides): their end, before and after. */
export function snapshotEnds(ended: ReadonlyArray<{ id: string; ending_before: Date; previous: Date | null }>) {
  return {
    before: ended.map((e) => ({ id: e.id, ending_before: iso(e.previous) })),
    after: ended.map((e) => ({ id: e.id, ending_before: iso(e.ending_before) })),
  };
}
