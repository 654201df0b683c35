import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { appendAuditEntry, AuditRecord } from '@tollgate/tenancy';
import { BillingEnvironment } from '../../domain/billable-event';
import { BillingRoute, DEFAULT_ROUTE, OrgBillingRouting } from '../../domain/routing';

interface RouteRow {
  backend: string;
  shadow: string | null;
  effective_from: string | Date;
  scheduled: boolean;
}

export interface RouteChange {
  orgId: string;
  environment: BillingEnvironment;
  backend: string;
  shadow: string | null;
  /** Null: at the instant the change commits (taken under the routing lock). */
  effectiveFrom: Date | null;
  /** Customers to record (provisioned or given), per backend. */
  customers: Record<string, { customerId: string; alias: string }>;
  audit: Omit<AuditRecord, 'before' | 'after'>;
}

const toRoute = (row: RouteRow): BillingRoute => ({
  backend: row.backend,
  shadow: row.shadow,
  effectiveFrom: new Date(row.effective_from),
});

/** Routing history and vendor customers, in Postgres. */
@Injectable()
export class BillingRoutingRepository {
  constructor(private readonly em: EntityManager) {}

  async find(orgId: string, environment: BillingEnvironment, em: EntityManager = this.em): Promise<OrgBillingRouting> {
    const connection = em.getConnection();
    const ctx = em.getTransactionContext();
    const rows = await connection.execute<RouteRow[]>(
      `(select backend, shadow, effective_from, false as scheduled from billing_routes
         where org_id = ? and environment = ? and effective_from <= now() order by effective_from desc, id desc limit 1)
       union all
       (select backend, shadow, effective_from, true as scheduled from billing_routes
         where org_id = ? and environment = ? and effective_from > now() order by effective_from desc, id desc limit 1)`,
      [orgId, environment, orgId, environment],
      'all',
      ctx,
    );
    const customers = await connection.execute<{ backend: string; customer_id: string; alias: string }[]>(
      `select backend, customer_id, alias from billing_customers where org_id = ? and environment = ? order by backend`,
      [orgId, environment],
      'all',
      ctx,
    );
    const current = rows.find((r) => !r.scheduled);
    const scheduled = rows.find((r) => r.scheduled);
    return {
      orgId,
      environment,
      current: current ? toRoute(current) : DEFAULT_ROUTE,
      scheduled: scheduled ? toRoute(scheduled) : null,
      customers: Object.fromEntries(customers.map((c) => [c.backend, { customerId: c.customer_id, alias: c.alias }])),
    };
  }

  /**
   * Records a routing change and its audit entry in one transaction. The table lock (SHARE ROW
   * EXCLUSIVE) waits for every dispatcher resolving events (they hold SHARE) and is awaited by
   * them, and the effective instant is read after it is granted: so an event already resolved
   * was recorded before the change, and an event recorded after it is resolved only once the
   * change is visible. A new change replaces a scheduled one.
   */
  async change(change: RouteChange, now: Date): Promise<{ before: OrgBillingRouting; after: OrgBillingRouting }> {
    return this.em.fork().transactional(async (tx) => {
      const connection = tx.getConnection();
      const ctx = tx.getTransactionContext();
      await connection.execute('lock table billing_routes in share row exclusive mode', [], 'run', ctx);
      const before = await this.find(change.orgId, change.environment, tx);
      await connection.execute(
        `delete from billing_routes where org_id = ? and environment = ? and effective_from > clock_timestamp()`,
        [change.orgId, change.environment],
        'run',
        ctx,
      );
      await connection.execute(
        `insert into billing_routes (org_id, environment, backend, shadow, effective_from)
         values (?, ?, ?, ?, coalesce(?::timestamptz, clock_timestamp()))`,
        [change.orgId, change.environment, change.backend, change.shadow, change.effectiveFrom],
        'run',
        ctx,
      );
      for (const [backend, customer] of Object.entries(change.customers)) {
        await connection.execute(
          `insert into billing_customers (org_id, environment, backend, customer_id, alias) values (?, ?, ?, ?, ?)
           on conflict (org_id, environment, backend) do update set customer_id = excluded.customer_id, alias = excluded.alias`,
          [change.orgId, change.environment, backend, customer.customerId, customer.alias],
          'run',
          ctx,
        );
      }
      // The effective instant of an immediate change is clock_timestamp(): read it back in this transaction.
      const raw = await this.find(change.orgId, change.environment, tx);
      const [latest] = await connection.execute<RouteRow[]>(
        `select backend, shadow, effective_from, false as scheduled from billing_routes
          where org_id = ? and environment = ? order by id desc limit 1`,
        [change.orgId, change.environment],
        'all',
        ctx,
      );
      const route = toRoute(latest);
      const after: OrgBillingRouting =
        change.effectiveFrom === null ? { ...raw, current: route, scheduled: null } : { ...raw, scheduled: route };
      appendAuditEntry(tx, { ...change.audit, before: presentRouting(before), after: presentRouting(after) }, now);
      return { before, after };
    });
  }
}

/** The routing as the API answers it (and the audit log keeps it). */
export function presentRouting(r: OrgBillingRouting) {
  const route = (x: BillingRoute) => ({
    backend: x.backend,
    shadow: x.shadow,
    effective_from: x.effectiveFrom ? x.effectiveFrom.toISOString() : null,
  });
  return {
    org_id: r.orgId,
    environment: r.environment,
    ...route(r.current),
    scheduled: r.scheduled ? route(r.scheduled) : null,
    customer_ids: Object.fromEntries(Object.entries(r.customers).map(([b, c]) => [b, c.customerId])),
    customer_aliases: Object.fromEntries(Object.entries(r.customers).map(([b, c]) => [b, c.alias])),
  };
}
