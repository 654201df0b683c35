import { BILLING_EVENT_NAMES, wireProperties } from '../../domain/billable-event';
import { DeliveryItem } from '../../domain/delivery';

/** One event of `POST /v1/events/bulk`, in the SDK's camelCase (it sends snake_case). */
export interface FlexpriceIngestEvent {
  eventName: string;
  externalCustomerId: string;
  eventId: string;
  timestamp: string;
  source: string;
  properties: Record<string, string>;
}

/** Flexprice's bulk limit (dto BulkIngestEventRequest: max=1000). */
export const FLEXPRICE_MAX_BATCH = 1_000;

/**
 * docs/usage-events.md → Flexprice: `event_id` = Tollgate's id and `timestamp` = occurred_at,
 * both fixed, because Flexprice collapses copies only when both match. A correction is the
 * same shape under `tollgate.correction`, its amount signed.
 */
export function toFlexpriceEvent({ event, customer }: DeliveryItem): FlexpriceIngestEvent {
  return {
    eventName: BILLING_EVENT_NAMES[event.kind],
    externalCustomerId: customer,
    eventId: event.id,
    timestamp: event.occurredAt.toISOString(),
    source: 'tollgate',
    properties: wireProperties(event),
  };
}
