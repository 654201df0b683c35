import type { AuditRecord } from '@tollgate/tenancy';
import { LadderRecord, OverrideRecord, RateCard, RateCardSummary, RateRecord } from '../domain/rate-card';

/** What one write to a card does; `plan` functions return it after checking the card as locked. */
export interface CardChange<T> {
  addRates?: RateRecord[];
  /** Existing rates whose `ending_before` is brought forward (the only edit a rate ever gets). */
  endRates?: Array<{ id: string; ending_before: Date }>;
  putLadder?: LadderRecord;
  deleteLadder?: string;
  updatedAt: Date;
  /** Null: the plan changes nothing, and nothing is written. */
  audit: AuditRecord | null;
  /** Handed back to the caller once written. */
  result: T;
}

export interface OverridesChange<T> {
  add: OverrideRecord[];
  endOverrides: Array<{ id: string; ending_before: Date }>;
  at: Date;
  audit: AuditRecord;
  result: T;
}

/**
 * The system of record of rate cards, their rates and ladders, and organizations' overrides.
 * Changes go through `plan` callbacks run inside the write's transaction, after the card (or
 * the organization's overrides) is locked, on the state as committed: two admins adding rates
 * at once are checked one after the other, never both against the same old schedule.
 * A `plan` must not touch the database (embedded PGlite runs one transaction at a time).
 */
export abstract class RateCardRepository {
  abstract findCard(id: string): Promise<RateCard | null>;

  abstract cardExists(id: string): Promise<boolean>;

  /** Newest first: `limit + 1` cards after the (created_at, id) position, optionally only one id. */
  abstract listCards(before: { createdAt: Date; id: string } | undefined, limit: number, onlyId?: string): Promise<RateCardSummary[]>;

  abstract insertCard(card: RateCard, audit: AuditRecord): Promise<void>;

  /** Locks the card, plans on it, writes the plan with its audit entry; null when there is no such card. */
  abstract changeCard<T>(id: string, plan: (card: RateCard) => CardChange<T>): Promise<{ result: T } | null>;

  abstract listOverrides(orgId: string): Promise<OverrideRecord[]>;

  abstract changeOverrides<T>(orgId: string, plan: (existing: OverrideRecord[]) => OverridesChange<T>): Promise<T>;
}
