import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { BillableEvent, BillingEnvironment } from '../../domain/billable-event';
import { NO_BACKEND } from '../../domain/routing';

/** The commit writes one row per event with this destination (decision 020): resolved here at dispatch. */
export const DEFAULT_DESTINATION = 'default';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'dead';

export interface LeasedDelivery {
  id: string;
  customer: string;
  attempts: number;
  createdAt: Date;
  event: BillableEvent;
}

export interface DeliveryResult {
  id: string;
  status: DeliveryStatus;
  /** When a failed delivery is due again. */
  nextAttemptAt?: Date;
  error?: string;
}

export interface OutboxEntry {
  id: string;
  eventId: string;
  orgId: string;
  environment: BillingEnvironment;
  backend: string;
  role: 'primary' | 'shadow' | null;
  customer: string | null;
  status: string;
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

export interface OutboxFilter {
  environment: BillingEnvironment;
  /** Null: every organization of the environment (a platform key). */
  orgId: string | null;
  status?: DeliveryStatus;
  backend?: string;
}

export interface BackendStats {
  backend: string;
  pending: number;
  failed: number;
  dead: number;
  /** Seconds since the oldest event not yet delivered was created; 0 when none. */
  lagSeconds: number;
}

/** A leased delivery joined to its event (usage_events' columns as Postgres answers them). */
interface LeasedRow {
  delivery_id: string;
  customer: string;
  attempts: number | string;
  delivery_created_at: string | Date;
  id: string;
  kind: BillableEvent['kind'];
  org_id: string;
  environment: BillingEnvironment;
  project_id: string;
  user_id: string;
  product: string | null;
  dimension: string | null;
  dimensions: Record<string, string>;
  quantity: string | number;
  amount: string | number;
  rate_card_id: string | null;
  rate_id: string | null;
  reservation_id: string;
  provider: string | null;
  provider_request_id: string | null;
  occurred_at: string | Date;
  /** Present once corrections exist (a parallel change adds the column). */
  corrects?: string | null;
}

interface EntryRow {
  id: string;
  event_id: string;
  org_id: string;
  environment: BillingEnvironment;
  destination: string;
  role: 'primary' | 'shadow' | null;
  customer: string | null;
  status: string;
  attempts: number;
  next_attempt_at: string | Date;
  last_error: string | null;
  created_at: string | Date;
  delivered_at: string | Date | null;
}

function toEntry(r: EntryRow): OutboxEntry {
  return {
    id: r.id,
    eventId: r.event_id,
    orgId: r.org_id,
    environment: r.environment,
    backend: r.destination,
    role: r.role,
    customer: r.customer,
    status: r.status === 'routed' ? 'delivered' : r.status,
    attempts: r.attempts,
    nextAttemptAt: new Date(r.next_attempt_at),
    lastError: r.last_error,
    createdAt: new Date(r.created_at),
    deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
  };
}

/**
 * The outbox as the dispatcher and the API use it. Every statement is one round trip; the
 * dispatcher never holds a transaction while a vendor is called (embedded PGlite runs one
 * transaction at a time).
 */
@Injectable()
export class OutboxRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Resolves up to `limit` 'default' rows into deliveries, from the routing in force when each
   * event was recorded: one row per backend (primary, shadow), carrying the vendor customer;
   * the 'default' row becomes 'routed' and records where it went (`none`: nowhere). Returns how
   * many it resolved. Rows locked by another instance are skipped.
   */
  async route(limit: number): Promise<number> {
    return this.em.fork().transactional(async (tx) => {
      const connection = tx.getConnection();
      const ctx = tx.getTransactionContext();
      // Waits for a routing change in progress (see BillingRoutingRepository.change).
      await connection.execute('lock table billing_routes in share mode', [], 'run', ctx);
      const rows = await connection.execute<{ n: string }[]>(
        `with due as (
           select o.id, o.event_id, o.org_id, o.environment, o.created_at, e.recorded_at
             from usage_outbox o join usage_events e on e.id = o.event_id
            where o.destination = '${DEFAULT_DESTINATION}' and o.status = 'pending'
            order by o.next_attempt_at
            limit ?
            for update of o skip locked
         ), routed as (
           select d.*, coalesce(r.backend, '${NO_BACKEND}') as backend, r.shadow
             from due d left join lateral (
               select backend, shadow from billing_routes h
                where h.org_id = d.org_id and h.environment = d.environment and h.effective_from <= d.recorded_at
                order by h.effective_from desc, h.id desc limit 1
             ) r on true
         ), targets as (
           select t.*, b.destination, b.role from routed t
             cross join lateral (values (t.backend, 'primary'), (t.shadow, 'shadow')) as b(destination, role)
            where b.destination is not null and b.destination <> '${NO_BACKEND}'
         ), inserted as (
           insert into usage_outbox (id, event_id, org_id, environment, destination, role, customer, status, attempts, next_attempt_at, created_at)
           select t.event_id || ':' || t.destination, t.event_id, t.org_id, t.environment, t.destination, t.role,
                  coalesce(c.alias, t.org_id || '@' || t.environment), 'pending', 0, now(), t.created_at
             from targets t left join billing_customers c
               on c.org_id = t.org_id and c.environment = t.environment and c.backend = t.destination
           on conflict (id) do nothing
         ), updated as (
           update usage_outbox o set status = 'routed', routed_backend = r.backend, routed_shadow = r.shadow, delivered_at = now()
             from routed r where o.id = r.id
           returning 1
         )
         select count(*) as n from updated`,
        [limit],
        'all',
        ctx,
      );
      return Number(rows[0]?.n ?? 0);
    });
  }

  /**
   * Leases up to `limit` due deliveries of a backend for `leaseMs` (another instance skips the
   * locked rows now and the leased ones until the lease runs out: a crashed instance's are sent
   * again after it), counting the attempt; answers them with their events, oldest first. Only
   * the environments this instance has credentials for: an instance missing a key leaves those
   * deliveries to one that has it, instead of failing them.
   */
  async lease(
    backend: string,
    environments: readonly BillingEnvironment[],
    limit: number,
    leaseId: string,
    leaseMs: number,
  ): Promise<LeasedDelivery[]> {
    // The lease writes only columns no index covers: a HOT update (decision 026). Rows leased by
    // another loop or instance stay in the dispatch index and are passed over by `leased_until`.
    const rows = await this.em.getConnection().execute<LeasedRow[]>(
      `with due as (
         select id from usage_outbox
          where destination = ? and environment in (${environments.map(() => '?').join(', ')})
            and status in ('pending', 'failed') and next_attempt_at <= now()
            and (leased_until is null or leased_until <= now())
          order by next_attempt_at
          limit ?
          for update skip locked
       ), leased as (
         update usage_outbox o
            set leased_until = now() + (? * interval '1 millisecond'), lease_id = ?, attempts = o.attempts + 1, last_attempt_at = now()
           from due where o.id = due.id
         returning o.id, o.customer, o.attempts, o.created_at, o.event_id
       )
       select l.id as delivery_id, l.customer, l.attempts, l.created_at as delivery_created_at, e.*
         from leased l join usage_events e on e.id = l.event_id
        order by l.created_at, l.id`,
      [backend, ...environments, limit, leaseMs, leaseId],
    );
    return rows.map((r) => ({
      id: r.delivery_id,
      customer: r.customer,
      attempts: Number(r.attempts),
      createdAt: new Date(r.delivery_created_at),
      event: {
        id: r.id,
        kind: r.kind,
        orgId: r.org_id,
        environment: r.environment,
        projectId: r.project_id,
        userId: r.user_id,
        product: r.product,
        dimension: r.dimension,
        dimensions: r.dimensions,
        quantity: String(r.quantity),
        amount: Number(r.amount),
        rateCardId: r.rate_card_id,
        rateId: r.rate_id,
        reservationId: r.reservation_id,
        provider: r.provider,
        providerRequestId: r.provider_request_id,
        occurredAt: new Date(r.occurred_at),
        corrects: r.corrects ?? null,
      },
    }));
  }

  /**
   * Records the outcomes of one lease in one statement; a row whose lease was taken over (expired)
   * is left to its new holder. A delivery that becomes dead records its `billing.delivery_dead`
   * signal in the same statement (decision 029); only then is the statement the longer one, so
   * the success path costs what it did.
   */
  async complete(leaseId: string, results: readonly DeliveryResult[]): Promise<void> {
    if (results.length === 0) return;
    const update = `update usage_outbox o
          set status = v.status,
              next_attempt_at = coalesce(v.next_at, o.next_attempt_at),
              last_error = v.err,
              delivered_at = case when v.status = 'delivered' then now() else o.delivered_at end,
              lease_id = null, leased_until = null
         from jsonb_to_recordset(?::jsonb) as v(id text, status text, next_at timestamptz, err text)
        where o.id = v.id and o.lease_id = ?`;
    const params = [
      JSON.stringify(
        results.map((r) => ({ id: r.id, status: r.status, next_at: r.nextAttemptAt?.toISOString() ?? null, err: r.error ?? null })),
      ),
      leaseId,
    ];
    if (!results.some((r) => r.status === 'dead')) {
      await this.em.getConnection().execute(update, params);
      return;
    }
    await this.em.getConnection().execute(
      `with done as (${update}
         returning o.id, o.event_id, o.org_id, o.environment, o.destination, o.role, o.status, o.attempts, o.last_error, o.created_at)
       insert into webhook_events (id, org_id, environment, type, data, occurred_at)
       select 'billing.delivery_dead:' || d.id, d.org_id, d.environment, 'billing.delivery_dead',
              jsonb_build_object(
                'delivery_id', d.id, 'event_id', d.event_id, 'backend', d.destination, 'role', d.role,
                'attempts', d.attempts, 'last_error', d.last_error,
                'created_at', to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'project_id', e.project_id, 'user_id', e.user_id, 'reservation_id', e.reservation_id),
              now()
         from done d left join usage_events e on e.id = d.event_id
        where d.status = 'dead'
       on conflict (id) do nothing`,
      params,
    );
  }

  /** Gives back leased rows without counting the attempt (the breaker was open: nothing was sent). */
  async release(leaseId: string, ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.em.getConnection().execute(
      `update usage_outbox set attempts = attempts - 1, next_attempt_at = ?, lease_id = null, leased_until = null
        where id in (select value from jsonb_array_elements_text(?::jsonb)) and lease_id = ?`,
      [at, JSON.stringify(ids), leaseId],
    );
  }

  /** Deliveries (and events not yet routed, as backend `default`), oldest first, after the cursor. */
  async list(filter: OutboxFilter, after: { createdAt: string; id: string } | undefined, limit: number): Promise<OutboxEntry[]> {
    const where = [`environment = ?`, `status <> 'routed'`];
    const params: unknown[] = [filter.environment];
    if (filter.orgId !== null) {
      where.push('org_id = ?');
      params.push(filter.orgId);
    }
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.backend) {
      where.push('destination = ?');
      params.push(filter.backend);
    }
    if (after) {
      where.push('(created_at, id) > (?, ?)');
      params.push(new Date(after.createdAt), after.id);
    }
    params.push(limit + 1);
    const rows = await this.em
      .getConnection()
      .execute<EntryRow[]>(`select * from usage_outbox where ${where.join(' and ')} order by created_at, id limit ?`, params);
    return rows.map(toEntry);
  }

  /**
   * Makes a failed or dead delivery due now with its attempts reset. Null when the caller cannot
   * see it; the entry unchanged when it is not failed or dead.
   */
  async retry(id: string, environment: BillingEnvironment, orgId: string | null): Promise<{ entry: OutboxEntry; retried: boolean } | null> {
    const scope = orgId === null ? '' : ' and org_id = ?';
    const scopeParams = orgId === null ? [] : [orgId];
    const updated = await this.em.getConnection().execute<EntryRow[]>(
      `update usage_outbox set status = 'pending', attempts = 0, next_attempt_at = now(), last_error = null, lease_id = null, leased_until = null
        where id = ? and environment = ?${scope} and status in ('failed', 'dead') and destination <> '${DEFAULT_DESTINATION}'
        returning *`,
      [id, environment, ...scopeParams],
    );
    if (updated.length > 0) return { entry: toEntry(updated[0]), retried: true };
    const [row] = await this.em
      .getConnection()
      .execute<EntryRow[]>(`select * from usage_outbox where id = ? and environment = ?${scope}`, [id, environment, ...scopeParams]);
    return row ? { entry: toEntry(row), retried: false } : null;
  }

  /** Pending, failed and dead per backend (`default`: not yet routed), and the lag of each. */
  async stats(): Promise<BackendStats[]> {
    const rows = await this.em.getConnection().execute<{ destination: string; status: string; n: string; lag: string | null }[]>(
      // Two index reads (the dispatch index, the dead index), never a scan of the delivered history.
      `select destination, status, count(*) as n,
              extract(epoch from now() - min(created_at)) as lag
         from usage_outbox where status in ('pending', 'failed')
        group by destination, status
       union all
       select destination, 'dead', count(*), null from usage_outbox where status = 'dead' group by destination`,
    );
    const by = new Map<string, BackendStats>();
    for (const row of rows) {
      const s = by.get(row.destination) ?? { backend: row.destination, pending: 0, failed: 0, dead: 0, lagSeconds: 0 };
      s[row.status as 'pending' | 'failed' | 'dead'] = Number(row.n);
      if (row.status !== 'dead') s.lagSeconds = Math.max(s.lagSeconds, Math.max(0, Number(row.lag ?? 0)));
      by.set(row.destination, s);
    }
    return [...by.values()];
  }
}

export interface SentTotal {
  period: string;
  metric: 'usage' | 'correction';
  backend: string;
  roles: string[];
  delivered: number;
  quantity: string;
  amount: number;
  undelivered: number;
}

export interface UnpairedEvent {
  eventId: string;
  period: string;
  kind: 'usage' | 'correction';
  backend: string;
  status: string;
}

/** What Tollgate sent (and has still to send) per month, event kind and backend, for an organization's events occurring in [from, to). */
export async function sentTotals(em: EntityManager, orgId: string, environment: string, from: Date, to: Date): Promise<SentTotal[]> {
  const rows = await em.getConnection().execute<Record<string, string | string[]>[]>(
    `select to_char(date_trunc('month', e.occurred_at at time zone 'UTC'), 'YYYY-MM') as period, e.kind, o.destination as backend,
            array_agg(distinct o.role) as roles,
            count(*) filter (where o.status = 'delivered') as delivered,
            coalesce(sum(e.quantity) filter (where o.status = 'delivered'), 0)::text as quantity,
            coalesce(sum(e.amount) filter (where o.status = 'delivered'), 0) as amount,
            count(*) filter (where o.status <> 'delivered') as undelivered
       from usage_outbox o join usage_events e on e.id = o.event_id
      where o.org_id = ? and o.environment = ? and o.destination <> '${DEFAULT_DESTINATION}'
        and e.occurred_at >= ? and e.occurred_at < ?
      group by 1, 2, 3 order by 1, 2, 3`,
    [orgId, environment, from, to],
  );
  return rows.map((r) => ({
    period: r.period as string,
    metric: r.kind as 'usage' | 'correction',
    backend: r.backend as string,
    roles: (r.roles as string[]).filter(Boolean),
    delivered: Number(r.delivered),
    quantity: r.quantity as string,
    amount: Number(r.amount),
    undelivered: Number(r.undelivered),
  }));
}

/**
 * Events routed to a primary and a shadow that one of them has not (yet) accepted, and
 * events not routed yet: the events behind a "missing" difference (at most `limit`).
 */
export async function unpairedEvents(
  em: EntityManager,
  orgId: string,
  environment: string,
  from: Date,
  to: Date,
  limit: number,
): Promise<UnpairedEvent[]> {
  const rows = await em.getConnection().execute<Record<string, string>[]>(
    `select d.event_id, to_char(date_trunc('month', e.occurred_at at time zone 'UTC'), 'YYYY-MM') as period, e.kind,
            t.backend, coalesce(o.status, 'not routed') as status
       from usage_outbox d join usage_events e on e.id = d.event_id
       cross join lateral (values (d.routed_backend), (d.routed_shadow)) as t(backend)
       left join usage_outbox o on o.id = d.event_id || ':' || t.backend
      where d.org_id = ? and d.environment = ? and d.destination = '${DEFAULT_DESTINATION}' and d.status = 'routed'
        and d.routed_shadow is not null and t.backend is not null
        and e.occurred_at >= ? and e.occurred_at < ?
        and (o.status is null or o.status <> 'delivered')
      order by e.occurred_at, d.event_id limit ?`,
    [orgId, environment, from, to, limit],
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    period: r.period,
    kind: r.kind as 'usage' | 'correction',
    backend: r.backend,
    status: r.status,
  }));
}

/** Events of the window not routed yet (the dispatcher has not resolved their 'default' row). */
export async function unroutedCount(em: EntityManager, orgId: string, environment: string, from: Date, to: Date): Promise<number> {
  const [row] = await em.getConnection().execute<{ n: string }[]>(
    `select count(*) as n from usage_outbox d join usage_events e on e.id = d.event_id
      where d.org_id = ? and d.environment = ? and d.destination = '${DEFAULT_DESTINATION}' and d.status = 'pending'
        and e.occurred_at >= ? and e.occurred_at < ?`,
    [orgId, environment, from, to],
  );
  return Number(row?.n ?? 0);
}
