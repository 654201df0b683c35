/**
 * What billing sends: one normalized usage event (docs/usage-events.md), in billing's own
 * terms. It mirrors the reservations module's UsageEvent field for field, so a UsageEvent is
 * a BillableEvent as it stands, yet billing never imports the module that writes them.
 */
export type BillingEnvironment = 'live' | 'test';

export interface BillableEvent {
  /** Tollgate's event id: every vendor's dedup key (Flexprice event_id, Metronome transaction_id). */
  id: string;
  /** `correction`: a signed adjustment of an earlier event (a new event, never a change of it). */
  kind: 'usage' | 'correction';
  orgId: string;
  environment: BillingEnvironment;
  projectId: string;
  userId: string;
  product: string | null;
  dimension: string | null;
  dimensions: Record<string, string>;
  /** Exact decimal string, plain notation; signed on a correction. */
  quantity: string;
  /** Integer micro-credits; negative on a correction that gives money back. */
  amount: number;
  rateCardId: string | null;
  rateId: string | null;
  reservationId: string;
  provider: string | null;
  providerRequestId: string | null;
  /** The vendor timestamp: fixed, so a resent event is the same event to the vendor. */
  occurredAt: Date;
  /** A correction's original event id. */
  corrects?: string | null;
}

/** One event name per kind: product and dimension travel as properties (docs/usage-events.md). */
export const BILLING_EVENT_NAMES = { usage: 'tollgate.usage', correction: 'tollgate.correction' } as const satisfies Record<
  BillableEvent['kind'],
  string
>;

const RAW_PRODUCT = 'tollgate.raw';
const RAW_DIMENSION = 'amount';

/**
 * The properties every backend receives, every value a string: Flexprice's SDK types them
 * `Record<string, string>` and Metronome advises strings so no float touches a quantity.
 * Optional ones are left out rather than sent empty (an empty string is a value a meter can
 * filter on).
 */
export function wireProperties(event: BillableEvent): Record<string, string> {
  const properties: Record<string, string> = {
    product: event.product ?? RAW_PRODUCT,
    dimension: event.dimension ?? RAW_DIMENSION,
    quantity: event.quantity,
    amount_micros: String(event.amount),
    project_id: event.projectId,
    user_id: event.userId,
  };
  for (const [name, value] of Object.entries(event.dimensions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    properties[`dim_${name}`] = value;
  }
  if (event.rateCardId) properties.rate_card_id = event.rateCardId;
  if (event.rateId) properties.rate_id = event.rateId;
  properties.reservation_id = event.reservationId;
  if (event.provider) properties.provider = event.provider;
  if (event.providerRequestId) properties.provider_request_id = event.providerRequestId;
  if (event.corrects) properties.corrects = event.corrects;
  return properties;
}

/**
 * The vendor customer's external id / ingest alias of an organization in an environment:
 * `acme@live`, `acme@test`. `@` is not allowed in an organization id, so the pair is
 * unambiguous, and even a vendor account shared by mistake between environments keeps live
 * and test usage on different customers.
 */
export function billingCustomerAlias(orgId: string, environment: BillingEnvironment): string {
  return `${orgId}@${environment}`;
}
