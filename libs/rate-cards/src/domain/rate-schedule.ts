import { RateIdentity, sameIdentity } from './rate';

/**
 * How an addition slots into the schedule of its identity (product + dimension + match), as
 * Metronome's "add rate" does: the rate of that identity in force at the new rate's
 * `starting_at` is ended there, and a new rate sent without `ending_before` runs until the next
 * rate of its identity starts (or stays open when none is scheduled).
 *
 * So a price change is one call with the new price and when it starts; nothing else is ever
 * edited: an existing rate's price fields never change, only its `ending_before` may be
 * brought forward (never pushed back, never re-opened). A new rate starting at the same instant
 * as another of its identity, or with an explicit `ending_before` past the next one's start,
 * is left as sent: validation then refuses the overlap.
 *
 * Items are processed in `starting_at` order, so several additions of one identity in one call
 * chain up the same way as if they had been added one by one.
 */

export interface Scheduled extends RateIdentity {
  id: string;
  /** Overrides may have none: in force from the beginning of time. */
  starting_at?: Date | null;
  ending_before?: Date | null;
}

export interface ScheduleResult<T extends Scheduled> {
  /** The additions, `ending_before` filled in where the schedule decides it. */
  added: T[];
  /** The existing items, with the ends the additions brought forward. */
  existing: T[];
  /** Which existing items changed, and from what. */
  ended: Array<{ id: string; ending_before: Date; previous: Date | null }>;
}

const from = (s: Scheduled): number => s.starting_at?.getTime() ?? -Infinity;
const until = (s: Scheduled): number => s.ending_before?.getTime() ?? Infinity;

export function scheduleAdditions<T extends Scheduled>(existing: readonly T[], additions: readonly T[]): ScheduleResult<T> {
  const old = existing.map((item) => ({ ...item }));
  const added = additions.map((item) => ({ ...item }));
  const ended = new Map<string, { id: string; ending_before: Date; previous: Date | null }>();
  const all = [...old, ...added];
  const isOld = new Set<Scheduled>(old);

  const order = added.filter(wellFormed).sort((a, b) => from(a) - from(b));
  for (const item of order) {
    const start = from(item);
    if (!Number.isFinite(start)) continue;
    const same = all.filter((other) => other !== item && wellFormed(other) && sameIdentity(other, item));
    for (const other of same) {
      if (from(other) < start && start < until(other)) {
        if (isOld.has(other)) {
          const record = ended.get(other.id) ?? { id: other.id, ending_before: item.starting_at!, previous: other.ending_before ?? null };
          record.ending_before = item.starting_at!;
          ended.set(other.id, record);
        }
        other.ending_before = item.starting_at!;
      }
    }
    if (item.ending_before == null) {
      const next = Math.min(...same.map(from).filter((t) => t > start));
      if (Number.isFinite(next)) item.ending_before = new Date(next);
    }
  }
  return { added, existing: old, ended: [...ended.values()] };
}

/** Only items whose identity and start can be compared take part; validation reports the rest. */
function wellFormed(item: Scheduled): boolean {
  const plain = (m: unknown) => m !== null && typeof m === 'object' && !Array.isArray(m);
  const start = item.starting_at;
  return (
    typeof item.product === 'string' &&
    typeof item.dimension === 'string' &&
    plain(item.match) &&
    (start == null || (start instanceof Date && !Number.isNaN(start.getTime()))) &&
    (item.ending_before == null || (item.ending_before instanceof Date && !Number.isNaN(item.ending_before.getTime())))
  );
}
