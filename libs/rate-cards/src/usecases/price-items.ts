import { randomBytes } from 'node:crypto';
import { PlatformError } from '@tollgate/platform';
import { CallContext, TenancyError } from '@tollgate/tenancy';
import { PriceItemDraft, readPriceItems } from '../domain/rate-input';
import { RateProblem } from '../domain/rate-validation';
import { scheduleAdditions, ScheduleResult, Scheduled } from '../domain/rate-schedule';

/** At most this many rates (or overrides) per request. */
export const MAX_ITEMS_PER_CALL = 500;

export function newId(prefix: 'rc' | 'rate' | 'ro'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

export function requirePlatform(ctx: CallContext, what: string): void {
  // Rate cards and overrides decide what every organization is charged: a platform key only.
  if (!ctx.principal.isPlatform) throw TenancyError.platformKeyRequired(what);
}

/** One 422 with every problem once (parsing and validation may both notice a non-object). */
export function refuse(problems: RateProblem[]): never {
  const seen = new Set<string>();
  throw PlatformError.validation(problems.filter((p) => !seen.has(`${p.field}\n${p.message}`) && seen.add(`${p.field}\n${p.message}`)));
}

/**
 * Reads a list of rates or overrides from a request body and gives each an id and a start
 * (`now` when left out). With `noPast`, an explicit start before `now` is refused: the past is
 * what holds were priced at, and an addition ends the rate in force at its start.
 */
export function readAdditions<T extends Scheduled>(
  raw: unknown,
  field: string,
  what: 'rate' | 'override',
  now: Date,
  noPast: boolean,
  build: (draft: PriceItemDraft & { starting_at: Date }) => T,
): { items: (T | null)[]; problems: RateProblem[] } {
  const { items, problems } = readPriceItems(raw, field, what, MAX_ITEMS_PER_CALL);
  const built = items.map((draft, i) => {
    if (!draft) return null;
    if (noPast && draft.starting_at && draft.starting_at.getTime() < now.getTime()) {
      problems.push({ field: `${field}[${i}].starting_at`, message: 'must not be in the past (leave it out to start now)' });
    }
    return build({ ...draft, starting_at: draft.starting_at ?? now });
  });
  return { items: built, problems };
}

/** scheduleAdditions over a list that may hold unreadable items (null), keeping their indexes for error paths. */
export function scheduleWithGaps<T extends Scheduled>(
  existing: readonly T[],
  items: readonly (T | null)[],
): Omit<ScheduleResult<T>, 'added'> & { added: (T | null)[] } {
  const result = scheduleAdditions(
    existing,
    items.filter((item): item is T => item !== null),
  );
  let next = 0;
  return { ...result, added: items.map((item) => (item === null ? null : result.added[next++])) };
}
