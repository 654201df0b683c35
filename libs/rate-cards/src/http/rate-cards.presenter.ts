import { inForce } from '../domain/rate';
import { OverrideRecord, RateCard, RateCardSummary, RateRecord } from '../domain/rate-card';
import { snapshotCard, snapshotLadder, snapshotOverride, snapshotRate } from '../domain/snapshots';

/** The stored shape (snapshots.ts) plus `in_force`: whether the rate prices requests at `at`. */
export function presentRate(rate: RateRecord, at: Date) {
  return { ...snapshotRate(rate), in_force: inForce(rate, at) };
}

export function presentOverride(override: OverrideRecord, at: Date) {
  return { ...snapshotOverride(override), in_force: inForce(override, at) };
}

export function presentCard(card: RateCard, at: Date) {
  return { ...snapshotCard(card), rates: card.rates.map((rate) => presentRate(rate, at)) };
}

export function presentCardSummary(card: RateCardSummary) {
  return { id: card.id, name: card.name, created_at: card.created_at.toISOString(), updated_at: card.updated_at.toISOString() };
}

export { snapshotLadder as presentLadder };
