import type { EntityManager } from '@mikro-orm/postgresql';
import type { RowInsert } from '../database/group-commit.writer';

/** Tollgate's own signals, sent to the organization's subscribed endpoints (API.md, outbound webhooks). */
export const WEBHOOK_EVENT_TYPES = [
  'budget.threshold_reached',
  'org.status_changed',
  'credits.granted',
  'reservation.expired',
  'billing.delivery_dead',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * One signal, recorded in `webhook_events` in the same transaction (or group-commit batch) as
 * the change it reports, so a change that committed is never left unsignalled. The id is
 * derived from what happened (`credits.granted:<grant id>`), never random: recording the same
 * fact twice (a retry, a replayed vendor webhook, two instances) inserts one row, so the
 * product hears it once. The webhooks module fans each event out to the endpoints subscribed
 * when it is dispatched.
 */
export interface WebhookEvent {
  id: string;
  orgId: string;
  environment: 'live' | 'test';
  type: WebhookEventType;
  /** The event's `data` as sent (snake_case, JSON-safe: integers, strings, ISO instants). */
  data: Record<string, unknown>;
  occurredAt: Date;
}

const row = (event: WebhookEvent) => ({
  id: event.id,
  org_id: event.orgId,
  environment: event.environment,
  type: event.type,
  data: JSON.stringify(event.data),
  occurred_at: event.occurredAt,
});

/** The event as a row of a group-commit write (the admission path: same batch, same transaction). */
export function webhookEventRow(event: WebhookEvent): RowInsert {
  return { table: 'webhook_events', row: row(event), conflictKey: 'id' };
}

/** Records events inside the caller's transaction (`em` is the transactional fork); a duplicate id is a no-op. */
export async function recordWebhookEvents(em: EntityManager, events: readonly WebhookEvent[]): Promise<void> {
  if (events.length === 0) return;
  const values = events.map(() => '(?, ?, ?, ?, ?::jsonb, ?)').join(', ');
  const params = events.flatMap((e) => Object.values(row(e)));
  await em
    .getConnection()
    .execute(
      `insert into webhook_events (id, org_id, environment, type, data, occurred_at) values ${values} on conflict (id) do nothing`,
      params,
      'run',
      em.getTransactionContext(),
    );
}
