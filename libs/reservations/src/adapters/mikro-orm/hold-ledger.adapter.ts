import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { ActiveHold, HoldLedger, HoldPeriods, NodeRef, periodIds, QuotaScope } from '@tollgate/quota';
import { quantityKey } from '../../domain/reservation';

type NodeCounter = { node: NodeRef; periodId: string; amount: number };

interface HoldRow {
  id: string;
  project_id: string;
  user_id: string;
  amount: string;
  periods: HoldPeriods;
  current_expires_at: string | Date;
}

/**
 * The quota module's HoldLedger port, read from this module's tables: what a rebuild of the
 * quota store needs (active holds, committed spend per node and period, running quantities,
 * the organization's consumption over time). Only an EntityManager is needed, so the
 * composition root hands this class to the quota module (QuotaModule.register).
 */
@Injectable()
export class MikroOrmHoldLedger extends HoldLedger {
  constructor(private readonly em: EntityManager) {
    super();
  }

  async quantities(scope: QuotaScope, now: Date): Promise<{ key: string; value: string }[]> {
    const rows = await this.em.getConnection().execute<{ product: string; dimension: string; period: string; value: string }[]>(
      `select l.product, u.key as dimension, l.quantity_period as period, sum(u.value::numeric)::text as value
         from usage_ledger l, jsonb_each_text(l.usage) u
        where l.org_id = ? and l.environment = ? and l.quantity_period = ? and l.product is not null
        group by l.product, u.key, l.quantity_period`,
      [scope.orgId, scope.environment, periodIds(now).month],
    );
    return rows.map((r) => ({ key: quantityKey(r.product, r.dimension, r.period), value: r.value }));
  }

  /**
   * A hold active at `now` expires after it: by its own expiry, or by its latest extension's.
   * Both are indexed, so a rebuild reads the holds expiring in the future, not the
   * organization's whole history (the candidates are then checked against the latest expiry).
   */
  async activeHolds(scope: QuotaScope, now: Date): Promise<ActiveHold[]> {
    const rows = await this.em.getConnection().execute<HoldRow[]>(
      `with candidates as (
         select id from reservations where org_id = ? and environment = ? and expires_at > ?
         union
         select x.reservation_id from reservation_extensions x join reservations rx on rx.id = x.reservation_id
          where x.expires_at > ? and rx.org_id = ? and rx.environment = ?
       )
       select r.id, r.project_id, r.user_id, r.amount, r.periods, coalesce(e.expires_at, r.expires_at) as current_expires_at
         from reservations r
         join candidates c on c.id = r.id
         left join reservation_outcomes o on o.reservation_id = r.id
         left join lateral (select expires_at from reservation_extensions x where x.reservation_id = r.id order by seq desc limit 1) e on true
        where o.status is null and coalesce(e.expires_at, r.expires_at) > ?`,
      [scope.orgId, scope.environment, now, now, scope.orgId, scope.environment, now],
    );
    return rows.map((row) => ({
      holdId: row.id,
      projectId: row.project_id,
      userId: row.user_id,
      amount: Number(row.amount),
      expiresAtMs: new Date(row.current_expires_at).getTime(),
      periods: row.periods,
    }));
  }

  async consumedAt(scope: QuotaScope, instants: Date[]): Promise<number[]> {
    if (instants.length === 0) return [];
    const columns = instants.map((_, i) => `coalesce(sum(amount) filter (where committed_at <= ?), 0) as c${i}`).join(', ');
    const [row] = await this.em
      .getConnection()
      .execute<Record<string, string>[]>(`select ${columns} from usage_ledger where org_id = ? and environment = ?`, [
        ...instants,
        scope.orgId,
        scope.environment,
      ]);
    return instants.map((_, i) => Math.min(Number(row[`c${i}`]), Number.MAX_SAFE_INTEGER));
  }

  async committed(scope: QuotaScope, now: Date): Promise<NodeCounter[]> {
    return this.perNode(scope, now, 'amount', 'true');
  }

  /** Overage is the exception: the partial index usage_ledger_overage_idx reads only the commits that overran. */
  async overage(scope: QuotaScope, now: Date): Promise<NodeCounter[]> {
    return this.perNode(scope, now, 'overage', 'overage > 0');
  }

  /** One pass over the scope's ledger rows for every node and kind (grouping sets: org, project, user). */
  private async perNode(scope: QuotaScope, now: Date, column: 'amount' | 'overage', filter: string): Promise<NodeCounter[]> {
    const { day, week, month } = periodIds(now);
    const rows = await this.em.getConnection().execute<
      {
        g: number;
        project_id: string | null;
        user_id: string | null;
        total: string;
        day: string | null;
        week: string | null;
        month: string | null;
      }[]
    >(
      `select grouping(project_id, user_id) as g, project_id, user_id, sum(${column}) as total,
              sum(${column}) filter (where periods->>'day' = ?) as day,
              sum(${column}) filter (where periods->>'week' = ?) as week,
              sum(${column}) filter (where periods->>'month' = ?) as month
         from usage_ledger where org_id = ? and environment = ? and ${filter}
        group by grouping sets ((), (project_id), (project_id, user_id))`,
      [day, week, month, scope.orgId, scope.environment],
    );
    const counters: NodeCounter[] = [];
    for (const r of rows) {
      const g = Number(r.g);
      const node: NodeRef =
        g === 3
          ? { level: 'org' }
          : g === 1
            ? { level: 'project', projectId: r.project_id! }
            : { level: 'user', projectId: r.project_id!, userId: r.user_id! };
      for (const [periodId, sum] of [
        ['', r.total],
        [day, r.day],
        [week, r.week],
        [month, r.month],
      ] as const) {
        const amount = Math.min(Number(sum ?? 0), Number.MAX_SAFE_INTEGER);
        if (amount > 0) counters.push({ node, periodId, amount });
      }
    }
    return counters;
  }
}
