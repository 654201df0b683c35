import { PlatformError } from '@tollgate/platform';
import { ActiveHold, Remaining } from '@tollgate/quota';
import { ReservationPricing, ReservationView, sameKey, statusOf } from '../domain/reservation';
import { ReservationError } from '../domain/reservation.error';
import { PricedOption } from './admission-pricing';

/**
 * What the reservation use cases answer, in one place: the JSON of a reservation (as held, as
 * read, as committed), and the refusals and replays shared by commit, release and extend.
 */

/** What commit and release answer: the body, and whether it is a replay of the first answer. */
export interface EndResult {
  body: Record<string, unknown>;
  replayed: boolean;
}

/** The same key and body as the request that ended it: its answer. Anything else: 409. */
export function replayOrRefuse(view: ReservationView, hash: string, wanted: 'committed' | 'released'): EndResult {
  const outcome = view.outcome!;
  if (outcome.status === wanted && outcome.requestHash && outcome.response) {
    if (outcome.requestHash === hash) return { body: outcome.response, replayed: true };
    if (sameKey(outcome.requestHash, hash)) {
      throw new PlatformError('idempotency_key_reused', 'This Idempotency-Key was already used with a different request.');
    }
  }
  throw notHeld(view, outcome.status);
}

export function notHeld(view: Pick<ReservationView, 'id'>, status: string): ReservationError {
  return new ReservationError('reservation_not_held', `Reservation '${view.id}' is ${status}, not held.`, { reservation_status: status });
}

/** The price as clients see it (API.md): the card and the lines. */
export function presentPrice(pricing: ReservationPricing) {
  return { rate_card_id: pricing.rateCardId, lines: pricing.lines };
}

/** A downgrade option as a 402 or a quote lists it. */
export function presentOption(option: PricedOption) {
  return {
    product: option.pricing!.product,
    dimensions: option.pricing!.dimensions,
    amount: option.amount,
    price: presentPrice(option.pricing!),
  };
}

/** A new hold: the 201 of a reserve (and of each held batch item), replayed verbatim to retries. */
export function presentHeld(
  id: string,
  orgId: string,
  input: { projectId: string; userId: string; amount: number; metadata?: Record<string, unknown>; pricing?: ReservationPricing | null },
  expiresAt: Date,
  remaining: Remaining,
  now: Date,
): Record<string, unknown> {
  const pricing = input.pricing ?? null;
  return {
    id,
    status: 'held',
    decision: pricing?.requested ? 'downgraded' : 'admitted',
    org_id: orgId,
    project_id: input.projectId,
    user_id: input.userId,
    ...(pricing ? { product: pricing.product, dimensions: pricing.dimensions, usage: pricing.usage } : {}),
    amount: input.amount,
    expires_at: expiresAt.toISOString(),
    remaining: { org: remaining.org, project: remaining.project, user: remaining.user },
    ...(pricing ? { price: presentPrice(pricing) } : {}),
    ...(pricing?.requested ? { requested: pricing.requested } : {}),
    metadata: input.metadata ?? null,
    created_at: now.toISOString(),
  };
}

/** A reservation as read back (GET, list, extend): its status now and how it ended, if it did. */
export function presentReservation(view: ReservationView, now: Date) {
  const o = view.outcome;
  return {
    id: view.id,
    status: statusOf(view, now),
    org_id: view.orgId,
    project_id: view.projectId,
    user_id: view.userId,
    ...(view.pricing ? { product: view.pricing.product, dimensions: view.pricing.dimensions, usage: view.pricing.usage } : {}),
    amount: view.amount,
    ...(view.pricing
      ? { price: presentPrice(view.pricing), ...(view.pricing.requested ? { requested: view.pricing.requested } : {}) }
      : {}),
    expires_at: view.currentExpiresAt.toISOString(),
    metadata: view.metadata,
    amount_committed: o?.amountCommitted ?? null,
    amount_released: o?.amountReleased ?? null,
    ended_at: o?.createdAt.toISOString() ?? null,
    created_at: view.createdAt.toISOString(),
  };
}

/** A commit's 200: what was asked, charged and released, the variance, and the usage events. */
export function presentCommitted(
  id: string,
  orgId: string,
  hold: ActiveHold,
  charged: { requested: number; committed: number; released: number; overage: number },
  priced: {
    usage: Record<string, number | string>;
    dimensions: Record<string, string>;
    rateCardId: string;
    lines: readonly object[];
  } | null,
  eventIds: string[],
  now: Date,
): Record<string, unknown> {
  return {
    id,
    status: 'committed',
    org_id: orgId,
    project_id: hold.projectId,
    user_id: hold.userId,
    amount_requested: charged.requested,
    amount_committed: charged.committed,
    amount_released: charged.released,
    variance: charged.requested - hold.amount,
    ...(priced
      ? { usage: priced.usage, dimensions: priced.dimensions, price: { rate_card_id: priced.rateCardId, lines: priced.lines } }
      : {}),
    overage: charged.overage > 0,
    overage_amount: charged.overage,
    event_ids: eventIds,
    committed_at: now.toISOString(),
  };
}
