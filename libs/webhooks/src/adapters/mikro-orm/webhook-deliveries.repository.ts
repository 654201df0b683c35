import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { OutboundEvent } from '../../domain/webhook-message';
import { WebhookAttempt, WebhookDelivery, WebhookDeliveryStatus } from '../../domain/webhook-endpoint';

/** A leased delivery with what sending it needs: its event, the endpoint's URL, secrets and circuit. */
export interface LeasedWebhook {
  id: string;
  attempts: number;
  event: OutboundEvent;
  endpoint: {
    id: string;
    url: string;
    secret: string;
    previousSecret: string | null;
    previousSecretExpiresAt: Date | null;
    consecutiveFailures: number;
  };
}

export interface AttemptRecord {
  id: string;
  status: Exclude<WebhookDeliveryStatus, 'pending'>;
  nextAttemptAt: Date | null;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
}

export interface WebhookOutboxStats {
  due: number;
  /** Seconds since the oldest undelivered delivery (or event not fanned out) was created. */
  lagSeconds: number;
}

interface DeliveryRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  org_id: string;
  environment: 'live' | 'test';
  event_type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: string | Date;
  last_attempt_at: string | Date | null;
  last_status_code: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  delivered_at: string | Date | null;
  created_at: string | Date;
}

interface LeasedRow {
  id: string;
  attempts: number | string;
  event_id: string;
  type: string;
  org_id: string;
  environment: 'live' | 'test';
  data: Record<string, unknown> | string;
  occurred_at: string | Date;
  endpoint_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: string | Date | null;
  consecutive_failures: number | string;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  started_at: string | Date;
  duration_ms: number;
  status_code: number | null;
  outcome: WebhookAttempt['outcome'];
  error: string | null;
}

const date = (v: string | Date | null) => (v === null ? null : new Date(v));

function toDelivery(r: DeliveryRow, attempts: WebhookAttempt[] = []): WebhookDelivery {
  return {
    id: r.id,
    eventId: r.event_id,
    endpointId: r.endpoint_id,
    orgId: r.org_id,
    environment: r.environment,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' || r.status === 'failed' ? new Date(r.next_attempt_at) : null,
    lastAttemptAt: date(r.last_attempt_at),
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastDurationMs: r.last_duration_ms,
    deliveredAt: date(r.delivered_at),
    createdAt: new Date(r.created_at),
    attemptLog: attempts,
  };
}

/** Attempts listed per delivery in the log (the newest). */
const ATTEMPT_LOG = 20;

/**
 * The outbound outbox (decision 027), used like usage_outbox (decision 026): one statement per
 * step, never a transaction held while a receiver is called; leases are HOT updates (`leased_until`,
 * `lease_id`, `attempts`, `last_attempt_at` are in no index).
 */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Fans out up to `limit` events not fanned out yet: one delivery per endpoint of the event's
   * organization and environment subscribed to its type now (`<event id>:<endpoint id>`, so a
   * second fan-out inserts nothing), and marks the events fanned out. Events locked by another
   * instance are skipped. Returns how many events it handled.
   */
  async fanOut(limit: number): Promise<number> {
    const [row] = await this.em.getConnection().execute<{ n: string }[]>(
      `with due as (
         select id, org_id, environment, type from webhook_events
          where fanned_out_at is null order by created_at limit ? for update skip locked
       ), inserted as (
         insert into webhook_deliveries (id, event_id, endpoint_id, org_id, environment, event_type, status, attempts, next_attempt_at)
         select d.id || ':' || e.id, d.id, e.id, d.org_id, d.environment, d.type, 'pending', 0, now()
           from due d join webhook_endpoints e
             on e.org_id = d.org_id and e.environment = d.environment and e.status = 'enabled' and d.type = any (e.event_types)
         on conflict (id) do nothing
         returning 1
       ), marked as (
         update webhook_events w set fanned_out_at = now() from due where w.id = due.id returning 1
       )
       -- A data-modifying CTE runs to completion whether or not it is read.
       select count(*) as n from marked`,
      [limit],
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Leases up to `limit` due deliveries of enabled endpoints whose circuit is not open, counting
   * the attempt, for `leaseMs` (a crashed instance's are sent again after it).
   */
  /** `skipEndpoints`: endpoints this instance already calls as much as it may (their deliveries wait, others' go). */
  async lease(limit: number, leaseId: string, leaseMs: number, skipEndpoints: readonly string[] = []): Promise<LeasedWebhook[]> {
    const rows = await this.em.getConnection().execute<LeasedRow[]>(
      `with due as (
         select d.id from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
          where d.status in ('pending', 'failed') and d.next_attempt_at <= now()
            and (d.leased_until is null or d.leased_until <= now())
            and e.status = 'enabled' and (e.circuit_open_until is null or e.circuit_open_until <= now())
            and not (d.endpoint_id in (select value from jsonb_array_elements_text(?::jsonb)))
          order by d.next_attempt_at
          limit ?
          for update of d skip locked
       ), leased as (
         update webhook_deliveries o
            set leased_until = now() + (? * interval '1 millisecond'), lease_id = ?, attempts = o.attempts + 1, last_attempt_at = now()
           from due where o.id = due.id
         returning o.id, o.attempts, o.event_id, o.endpoint_id, o.next_attempt_at
       )
       select l.id, l.attempts, w.id as event_id, w.type, w.org_id, w.environment, w.data, w.occurred_at,
              e.id as endpoint_id, e.url, e.secret, e.previous_secret, e.previous_secret_expires_at, e.consecutive_failures
         from leased l join webhook_events w on w.id = l.event_id join webhook_endpoints e on e.id = l.endpoint_id
        order by l.next_attempt_at, l.id`,
      [JSON.stringify(skipEndpoints), limit, leaseMs, leaseId],
    );
    return rows.map((r) => ({
      id: r.id,
      attempts: Number(r.attempts),
      event: {
        id: r.event_id,
        type: r.type,
        orgId: r.org_id,
        environment: r.environment,
        data: typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : r.data,
        occurredAt: new Date(r.occurred_at),
      },
      endpoint: {
        id: r.endpoint_id,
        url: r.url,
        secret: r.secret,
        previousSecret: r.previous_secret,
        previousSecretExpiresAt: date(r.previous_secret_expires_at),
        consecutiveFailures: Number(r.consecutive_failures),
      },
    }));
  }

  /**
   * Takes an endpoint's half-open probe: true for the one caller (of every instance) that
   * finds the circuit still tripped and not open; the circuit is then held open for `holdMs`
   * while the probe runs (its outcome closes or reopens it).
   */
  async claimProbe(endpointId: string, threshold: number, holdMs: number): Promise<boolean> {
    const rows = await this.em.getConnection().execute<{ id: string }[]>(
      `update webhook_endpoints set circuit_open_until = now() + (? * interval '1 millisecond')
        where id = ? and consecutive_failures >= ? and (circuit_open_until is null or circuit_open_until <= now())
        returning id`,
      [holdMs, endpointId, threshold],
    );
    return rows.length > 0;
  }

  /** Gives leased deliveries back without counting the attempt (their endpoint's circuit is open: nothing was sent). */
  async release(leaseId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.em.getConnection().execute(
      `update webhook_deliveries set attempts = attempts - 1, lease_id = null, leased_until = null
        where id in (select value from jsonb_array_elements_text(?::jsonb)) and lease_id = ?`,
      [JSON.stringify(ids), leaseId],
    );
  }

  /**
   * Records one attempt in one statement: the delivery's new state (only while this lease holds
   * it), a row of the attempt log, and the endpoint's circuit (closed by a success; a failure
   * counts, and opens it for `openMs` at `threshold` consecutive failures).
   */
  async complete(leaseId: string, r: AttemptRecord, breaker: { threshold: number; openMs: number }): Promise<boolean> {
    const success = r.status === 'delivered';
    const rows = await this.em.getConnection().execute<{ id: string }[]>(
      `with d as (
         update webhook_deliveries
            set status = ?, next_attempt_at = coalesce(?::timestamptz, next_attempt_at), lease_id = null, leased_until = null,
                last_status_code = ?, last_error = ?, last_duration_ms = ?,
                delivered_at = case when ?::boolean then now() else delivered_at end
          where id = ? and lease_id = ?
          returning id, attempts, endpoint_id
       ), a as (
         insert into webhook_delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, outcome, error)
         select id, attempts, ?::timestamptz, ?::integer, ?::integer, ?::text, ?::text from d
       ), e as (
         update webhook_endpoints
            set consecutive_failures = case when ?::boolean then 0 else consecutive_failures + 1 end,
                circuit_open_until = case when ?::boolean then null
                                          when consecutive_failures + 1 >= ? then now() + (? * interval '1 millisecond')
                                          else circuit_open_until end
          where id = (select endpoint_id from d)
       )
       select id from d`,
      [
        r.status,
        r.nextAttemptAt,
        r.statusCode,
        r.error,
        r.durationMs,
        success,
        r.id,
        leaseId,
        r.startedAt,
        r.durationMs,
        r.statusCode,
        r.status,
        r.error,
        success,
        success,
        breaker.threshold,
        breaker.openMs,
      ],
    );
    return rows.length > 0;
  }

  /** An endpoint's deliveries, oldest first, after the cursor, each with its latest attempts. */
  async listByEndpoint(
    endpointId: string,
    status: WebhookDeliveryStatus | undefined,
    after: { createdAt: string; id: string } | undefined,
    limit: number,
  ): Promise<WebhookDelivery[]> {
    const where = ['endpoint_id = ?'];
    const params: unknown[] = [endpointId];
    if (status) {
      where.push('status = ?');
      params.push(status);
    }
    if (after) {
      where.push('(created_at, id) > (?, ?)');
      params.push(new Date(after.createdAt), after.id);
    }
    params.push(limit + 1);
    const connection = this.em.getConnection();
    const rows = await connection.execute<DeliveryRow[]>(
      `select * from webhook_deliveries where ${where.join(' and ')} order by created_at, id limit ?`,
      params,
    );
    const log = await this.attempts(rows.map((r) => r.id));
    return rows.map((r) => toDelivery(r, log.get(r.id) ?? []));
  }

  private async attempts(ids: string[]): Promise<Map<string, WebhookAttempt[]>> {
    const by = new Map<string, WebhookAttempt[]>();
    if (ids.length === 0) return by;
    const rows = await this.em.getConnection().execute<AttemptRow[]>(
      `select a.* from jsonb_array_elements_text(?::jsonb) as ids(id)
         cross join lateral (
           select * from webhook_delivery_attempts t where t.delivery_id = ids.id order by t.id desc limit ${ATTEMPT_LOG}
         ) a`,
      [JSON.stringify(ids)],
    );
    for (const r of rows) {
      const list = by.get(r.delivery_id) ?? [];
      list.push({
        attempt: r.attempt,
        startedAt: new Date(r.started_at),
        durationMs: r.duration_ms,
        statusCode: r.status_code,
        outcome: r.outcome,
        error: r.error,
      });
      by.set(r.delivery_id, list);
    }
    return by;
  }

  /**
   * Queues a delivery of an enabled endpoint again now, whatever its status, attempts reset;
   * lets its endpoint's circuit probe at once (a tripped circuit stays half-open: one probe).
   * Null when the caller cannot see it.
   */
  async redeliver(id: string, orgId: string, environment: string): Promise<WebhookDelivery | null> {
    const rows = await this.em.getConnection().execute<DeliveryRow[]>(
      `with d as (
         update webhook_deliveries d
            set status = 'pending', attempts = 0, next_attempt_at = now(), lease_id = null, leased_until = null
           from webhook_endpoints e
          where d.id = ? and d.org_id = ? and d.environment = ? and e.id = d.endpoint_id and e.status = 'enabled'
          returning d.*
       ), e as (
         update webhook_endpoints set circuit_open_until = null where id = (select endpoint_id from d)
       )
       select * from d`,
      [id, orgId, environment],
    );
    if (rows.length === 0) return null;
    const log = await this.attempts([id]);
    return toDelivery(rows[0], log.get(id) ?? []);
  }

  /** Deliveries due or waiting for a retry, and the lag: one read of the due index, one of the pending events. */
  async stats(): Promise<WebhookOutboxStats> {
    const [row] = await this.em.getConnection().execute<{ due: string; oldest: string | null; unfanned: string | null }[]>(
      `select (select count(*) from webhook_deliveries where status in ('pending', 'failed')) as due,
              (select extract(epoch from now() - min(created_at)) from webhook_deliveries where status in ('pending', 'failed')) as oldest,
              (select extract(epoch from now() - min(created_at)) from webhook_events where fanned_out_at is null) as unfanned`,
    );
    return {
      due: Number(row?.due ?? 0),
      lagSeconds: Math.max(0, Number(row?.oldest ?? 0), Number(row?.unfanned ?? 0)),
    };
  }
}
