import type { AuditRecord } from '@tollgate/tenancy';
import { OverrideRecord, RateCard, RateCardSummary } from '../../domain/rate-card';
import { CardChange, OverridesChange, RateCardRepository } from '../../ports/rate-card.repository.port';

/** A deep copy whose Dates belong to this realm (structuredClone's may not, under Jest's vm contexts). */
function copy<T>(value: T): T {
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(copy) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])) as T;
  return value;
}

/**
 * Rate cards in process memory, for use-case specs: same contract as the Postgres adapter
 * (plans see committed state, a throwing plan writes nothing), plus what was audited and how
 * many reads reached it, so a spec can tell a cached answer from a loaded one.
 */
export class InMemoryRateCardRepository extends RateCardRepository {
  readonly audits: AuditRecord[] = [];
  /** Card and override reads (not writes). */
  reads = 0;
  private readonly cards = new Map<string, RateCard>();
  private readonly overrides = new Map<string, OverrideRecord[]>();

  async findCard(id: string): Promise<RateCard | null> {
    this.reads++;
    const card = this.cards.get(id);
    return card ? copy(card) : null;
  }

  async cardExists(id: string): Promise<boolean> {
    return this.cards.has(id);
  }

  async listCards(before: { createdAt: Date; id: string } | undefined, limit: number, onlyId?: string): Promise<RateCardSummary[]> {
    const after = (c: RateCard) =>
      !before ||
      c.created_at.getTime() < before.createdAt.getTime() ||
      (c.created_at.getTime() === before.createdAt.getTime() && c.id < before.id);
    return [...this.cards.values()]
      .filter((c) => after(c) && (onlyId === undefined || c.id === onlyId))
      .sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || (a.id < b.id ? 1 : -1))
      .slice(0, limit + 1)
      .map(({ id, name, created_at, updated_at }) => ({ id, name, created_at, updated_at }));
  }

  async insertCard(card: RateCard, audit: AuditRecord): Promise<void> {
    if (this.cards.has(card.id)) throw new Error(`duplicate rate card ${card.id}`);
    this.cards.set(card.id, copy(card));
    this.audits.push(audit);
  }

  async changeCard<T>(id: string, plan: (card: RateCard) => CardChange<T>): Promise<{ result: T } | null> {
    const stored = this.cards.get(id);
    if (!stored) return null;
    const change = plan(copy(stored));
    if (change.audit === null) return { result: change.result };
    const card = copy(stored);
    card.rates.push(...copy(change.addRates ?? []));
    for (const end of change.endRates ?? []) {
      const rate = card.rates.find((r) => r.id === end.id)!;
      if (rate.ending_before !== null && rate.ending_before.getTime() < end.ending_before.getTime())
        throw new Error('a rate may only be ended earlier');
      rate.ending_before = end.ending_before;
    }
    if (change.putLadder) {
      const at = card.ladders.findIndex((l) => l.product === change.putLadder!.product);
      if (at >= 0) card.ladders[at] = { ...copy(change.putLadder), created_at: card.ladders[at].created_at };
      else card.ladders.push(copy(change.putLadder));
      card.ladders.sort((a, b) => (a.product < b.product ? -1 : 1));
    }
    if (change.deleteLadder !== undefined) card.ladders = card.ladders.filter((l) => l.product !== change.deleteLadder);
    card.updated_at = change.updatedAt;
    this.cards.set(id, card);
    this.audits.push(change.audit);
    return { result: change.result };
  }

  async listOverrides(orgId: string): Promise<OverrideRecord[]> {
    this.reads++;
    return copy(this.overrides.get(orgId) ?? []);
  }

  async changeOverrides<T>(orgId: string, plan: (existing: OverrideRecord[]) => OverridesChange<T>): Promise<T> {
    const stored = this.overrides.get(orgId) ?? [];
    const change = plan(copy(stored));
    const next = copy(stored);
    for (const end of change.endOverrides) next.find((o) => o.id === end.id)!.ending_before = end.ending_before;
    next.push(...copy(change.add));
    this.overrides.set(orgId, next);
    this.audits.push(change.audit);
    return change.result;
  }
}
