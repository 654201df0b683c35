import { BillableEvent, BillingEnvironment } from './billable-event';

/** An event and the vendor customer it is billed to (the alias answered by provisioning). */
export interface DeliveryItem {
  event: BillableEvent;
  /** The external id (Flexprice) / ingest alias (Metronome) of the organization's vendor customer. */
  customer: string;
}

/**
 * What happened to one event of a batch. A batch can partially fail: each event gets its own
 * outcome, in the order it was given.
 * - `delivered`: the vendor accepted it (a 2xx; whether it was kept is what the usage read-back shows).
 * - `retryable`: send it again later, unchanged; `retryAfterMs` when the vendor said how long to wait.
 * - `permanent`: the vendor (or the adapter, before sending) refused this event itself; sending it
 *   again cannot succeed. `reason` says why, for the dead-letter record.
 */
export type DeliveryOutcome =
  | { eventId: string; status: 'delivered' }
  | { eventId: string; status: 'retryable'; reason: string; retryAfterMs?: number }
  | { eventId: string; status: 'permanent'; reason: string };

/** A vendor customer, as provisioning found or created it. */
export interface ProvisionedCustomer {
  /** The vendor's own id of the customer. */
  customerId: string;
  /** What events name the customer by (Flexprice external_customer_id, Metronome ingest alias). */
  alias: string;
  /** False when it already existed (provisioning is idempotent). */
  created: boolean;
}

export interface ProvisionCustomerRequest {
  orgId: string;
  environment: BillingEnvironment;
  /** Display name at the vendor; the organization id when absent. */
  name?: string;
}

export interface UsageQuery {
  environment: BillingEnvironment;
  customer: ProvisionedCustomer;
  /** The period: [from, to). */
  from: Date;
  to: Date;
}

/** What a backend reports it holds for one metric (event name) in a period. */
export interface UsageTotal {
  metric: string;
  events: number;
  /** Sum of quantity, exact decimal string (meaningful per product dimension; summed as sent). */
  quantity: string;
  /** Sum of amount_micros: the money the backend will invoice. */
  amountMicros: number;
}

export type { BillableEvent, BillingEnvironment };
