import { BILLING_EVENT_NAMES, wireProperties } from '../../domain/billable-event';
import { DeliveryItem } from '../../domain/delivery';

/** One element of the `POST /v1/ingest` array. */
export interface MetronomeUsageEvent {
  transaction_id: string;
  customer_id: string;
  event_type: string;
  timestamp: string;
  properties: Record<string, string>;
}

/** Metronome takes 1 to 100 events per ingest call. */
export const METRONOME_MAX_BATCH = 100;
const DAY_MS = 86_400_000;
/** Dedup window of transaction_id, and the furthest back a timestamp may be. */
export const METRONOME_BACKDATE_LIMIT_MS = 34 * DAY_MS;
/** The furthest ahead a timestamp may be. */
export const METRONOME_FUTURE_LIMIT_MS = DAY_MS;

/**
 * docs/usage-events.md → Metronome: `transaction_id` = Tollgate's id (deduplicated for 34
 * days), `customer_id` = the organization's ingest alias, `timestamp` = occurred_at.
 */
export function toMetronomeEvent({ event, customer }: DeliveryItem): MetronomeUsageEvent {
  return {
    transaction_id: event.id,
    customer_id: customer,
    event_type: BILLING_EVENT_NAMES[event.kind],
    timestamp: event.occurredAt.toISOString(),
    properties: wireProperties(event),
  };
}

/**
 * Why Metronome would refuse this event's timestamp, checked before sending: such an event can
 * never be ingested, so it is reported (permanent) rather than retried until it dies. Past 34
 * days its transaction_id is also outside the dedup window, so a resend could count twice.
 */
export function metronomeTimestampProblem(occurredAt: Date, now: Date): string | null {
  const age = now.getTime() - occurredAt.getTime();
  if (age > METRONOME_BACKDATE_LIMIT_MS) return 'occurred more than 34 days ago: Metronome refuses backdated usage beyond that';
  if (-age > METRONOME_FUTURE_LIMIT_MS) return 'occurred more than 24 hours in the future: Metronome refuses it';
  return null;
}
