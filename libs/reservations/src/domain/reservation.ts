import { createHash } from 'node:crypto';

export type ReservationStatus = 'held' | 'committed' | 'released' | 'expired';
export type Environment = 'live' | 'test';

export interface Reservation {
  id: string;
  orgId: string;
  environment: Environment;
  projectId: string;
  userId: string;
  amount: number;
  idempotencyKey: string;
  requestHash: string;
  /** The scope's period of every kind at admission (its commit is charged there, see the quota store). */
  periods: { day: string; week: string; month: string };
  /** The actor (API key) that made it; audits the project and user it may auto-create. */
  createdBy: string | null;
  expiresAt: Date;
  metadata: Record<string, unknown> | null;
  /** The 201 body as first sent; a retry with the same key gets it again. */
  response: Record<string, unknown>;
  /** How a priced reservation was priced; null for a raw amount. */
  pricing: ReservationPricing | null;
  createdAt: Date;
}

/**
 * What a priced reservation was priced with, recorded with the hold so its commit prices the
 * actual usage at the same rates, whatever the rate card says later.
 */
export interface ReservationPricing {
  product: string;
  dimensions: Record<string, string>;
  /** The estimated usage the hold was priced for. */
  usage: Record<string, number | string>;
  rateCardId: string;
  /** The rates in force when the hold was made (rate-cards' ResolvedRate); opaque here. */
  rates: readonly object[];
  /** The priced lines of the estimate (rate-cards' PriceLine). */
  lines: readonly object[];
  /** A downgrade: what was asked for, and its price. */
  requested: { product: string; dimensions: Record<string, string>; amount: number } | null;
  /** The instant whose rates priced the hold (RFC 3339); absent on holds priced before it was kept. */
  pricedAt?: string;
}

export interface ReservationOutcome {
  reservationId: string;
  status: Exclude<ReservationStatus, 'held'>;
  amountCommitted: number;
  amountReleased: number;
  overage: number;
  reason: string | null;
  requestHash: string | null;
  response: Record<string, unknown> | null;
  createdAt: Date;
}

/** A reservation with how it ended, if it did, and its latest expiry. */
export interface ReservationView extends Reservation {
  outcome: ReservationOutcome | null;
  currentExpiresAt: Date;
}

/** Held until its expiry: an unrecorded sweep does not keep an expired hold alive. */
export function statusOf(view: Pick<ReservationView, 'outcome' | 'currentExpiresAt'>, now: Date): ReservationStatus {
  if (view.outcome) return view.outcome.status;
  return view.currentExpiresAt.getTime() <= now.getTime() ? 'expired' : 'held';
}

/**
 * A reservation's id is derived from its organization, environment and Idempotency-Key, so a
 * retry names the same hold: the quota store sees it as a duplicate while it is active, and
 * Postgres's primary key refuses it after. Exactly once, with no extra lookup.
 * `res_<hash>.<org id>`: the id also names its organization, so a platform key's commit finds
 * the scope without reading Postgres (a forged suffix is another id, which nothing holds).
 */
export function reservationIdFor(orgId: string, environment: Environment, idempotencyKey: string): string {
  return 'res_' + createHash('sha256').update(`${orgId}\n${environment}\n${idempotencyKey}`).digest('base64url').slice(0, 24) + '.' + orgId;
}

/**
 * The running quantity a period-tiered rate counts: an organization's usage of one product
 * dimension in one calendar month (UTC). Names have no '|' (API names are [A-Za-z0-9._:-]).
 */
export function quantityKey(product: string, dimension: string, monthId: string): string {
  return `${product}|${dimension}|${monthId}`;
}

/** What a priced commit used, for the usage ledger (and the period tiers rebuilt from it). */
export interface CommittedUsage {
  product: string;
  usage: Record<string, number | string>;
  /** The month (YYYY-MM) the usage counts in. */
  quantityPeriod: string;
}

/** The organization a reservation id names; null for ids made before ids named it. */
export function orgOfReservationId(id: string): string | null {
  const dot = id.indexOf('.');
  return dot > 0 && dot < id.length - 1 ? id.slice(dot + 1) : null;
}

/** `<key hash>.<body hash>`: tells "another key" from "this key with another body". */
export function requestHash(idempotencyKey: string, canonicalBody: string): string {
  const h = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 32);
  return `${h(idempotencyKey)}.${h(canonicalBody)}`;
}

export function sameKey(a: string, b: string): boolean {
  return a.split('.')[0] === b.split('.')[0];
}
