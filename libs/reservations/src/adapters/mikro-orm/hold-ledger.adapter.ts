import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { ActiveHold, HoldLedger, HoldPeriods, NodeRef, periodId, periodIds, periodWindow, QuotaScope } from '@tollgate/quota';
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
 * the organization's consumption over time). Spend is read from the ledger's rollups
 * (decision 021: kept by a trigger in the ledger rows' own statement), so a rebuild reads
 * O(active holds + users + days), not the organization's history. Only an EntityManager is
 * needed, so the composition root hands this class to the quota module (QuotaModule.register).
 */
@Injectable()
export class MikroOrmHoldLedger extends HoldLedger {
  constructor(private readonly em: EntityManager) {
    super();
  }

  async quantities(scope: QuotaScope, now: Date): Promise<{ key: string; value: string }[]> {
    const rows = await this.em.getConnection().execute<{ product: string; dimension: string; period: string; value: string }[]>(
      `select product, dimension, quantity_period as period, sum(value)::text as value
         from usage_rollup_quantities
        where org_id = ? and environment = ? and quantity_period = ?
        group by product, dimension, quantity_period`,
      [scope.orgId, scope.environment, periodIds(now).month],
    );
    return rows.map((r) => ({ key: quantityKey(r.product, r.dimension, r.period), value: r.value }));
  }

  /**
   * A hold active at `now` expires after it: by its own expiry, or by its latest extension's.
   * Both are indexed, so a rebuild reads the holds expiring in the future, not the
   * organization's whole history (the candidates are then checked against the latest expiry).
   * The candidates are an array, not a join: the planner cannot know how few of an
   * organization's reservations expire in the future (expiry and organization are estimated
   * independently), and measured on a 1M-reservation organization it hash-joined every
   * reservation with every outcome (0.6–4 s) where 200 index lookups do.
   */
  async activeHolds(scope: QuotaScope, now: Date): Promise<ActiveHold[]> {
    const rows = await this.em.getConnection().execute<HoldRow[]>(
      `select r.id, r.project_id, r.user_id, r.amount, r.periods, coalesce(e.expires_at, r.expires_at) as current_expires_at
         from reservations r
         left join lateral (select expires_at from reservation_extensions x where x.reservation_id = r.id order by seq desc limit 1) e on true
        where r.id = any(array(
                select id from reservations where org_id = ? and environment = ? and expires_at > ?
                union
                select x.reservation_id from reservation_extensions x join reservations rx on rx.id = x.reservation_id
                 where x.expires_at > ? and rx.org_id = ? and rx.environment = ?))
          and not exists (select 1 from reservation_outcomes o where o.reservation_id = r.id)
          and coalesce(e.expires_at, r.expires_at) > ?`,
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

  /**
   * Spend up to an instant = the whole hours before it (usage_rollup_hours) + the ledger rows of
   * its own hour up to it (the committed_at index): at most an hour of rows per instant, in one
   * round trip, exact to the microsecond as the ledger is.
   */
  async consumedAt(scope: QuotaScope, instants: Date[]): Promise<number[]> {
    if (instants.length === 0) return [];
    const hour = `date_trunc('hour', ?::timestamptz, 'UTC')`;
    const whole = instants.map((_, i) => `coalesce(sum(amount) filter (where hour < ${hour}), 0) as h${i}`).join(', ');
    const partial = instants
      .map((_, i) => `coalesce(sum(amount) filter (where committed_at >= ${hour} and committed_at <= ?), 0) as p${i}`)
      .join(', ');
    const ranges = instants.map(() => `(committed_at >= ${hour} and committed_at <= ?)`).join(' or ');
    const sums = instants.map((_, i) => `h${i} + p${i} as c${i}`).join(', ');
    const [row] = await this.em.getConnection().execute<Record<string, string>[]>(
      `select ${sums}
         from (select ${whole} from usage_rollup_hours where org_id = ? and environment = ?) h,
              (select ${partial} from usage_ledger where org_id = ? and environment = ? and (${ranges})) p`,
      [
        ...instants,
        scope.orgId,
        scope.environment,
        ...instants.flatMap((instant) => [instant, instant]),
        scope.orgId,
        scope.environment,
        ...instants.flatMap((instant) => [instant, instant]),
      ],
    );
    return instants.map((_, i) => Math.min(Number(row[`c${i}`]), Number.MAX_SAFE_INTEGER));
  }

  async committed(scope: QuotaScope, now: Date): Promise<NodeCounter[]> {
    const { day, week, month } = periodIds(now);
    // A hold's periods are the ids of one instant (the scope's mark, decision 018), so every
    // rollup of the current week or month has a day on or after the earlier of their starts.
    const since = periodId(
      'day',
      new Date(Math.min(periodWindow('week', now)!.start.getTime(), periodWindow('month', now)!.start.getTime())),
    );
    // One row per user for all time and per user and admission day since `since`, summed per
    // node and kind in one pass (grouping sets: org, project, user).
    return this.perNode(
      now,
      `with parts as (
         select project_id, user_id, amount as total, null::bigint as day, null::bigint as week, null::bigint as month
           from usage_rollup_totals where org_id = ? and environment = ?
         union all
         select project_id, user_id, null, case when day = ? then amount end, case when week = ? then amount end,
                case when month = ? then amount end
           from usage_rollups where org_id = ? and environment = ? and day >= ?
       )
       select grouping(project_id, user_id) as g, project_id, user_id, sum(total) as total,
              sum(day) as day, sum(week) as week, sum(month) as month
         from parts group by grouping sets ((), (project_id), (project_id, user_id))`,
      [scope.orgId, scope.environment, day, week, month, scope.orgId, scope.environment, since],
    );
  }

  /** Overage is the exception: the partial index usage_ledger_overage_idx reads only the commits that overran. */
  async overage(scope: QuotaScope, now: Date): Promise<NodeCounter[]> {
    const { day, week, month } = periodIds(now);
    return this.perNode(
      now,
      `select grouping(project_id, user_id) as g, project_id, user_id, sum(overage) as total,
              sum(overage) filter (where periods->>'day' = ?) as day,
              sum(overage) filter (where periods->>'week' = ?) as week,
              sum(overage) filter (where periods->>'month' = ?) as month
         from usage_ledger where org_id = ? and environment = ? and overage > 0
        group by grouping sets ((), (project_id), (project_id, user_id))`,
      [day, week, month, scope.orgId, scope.environment],
    );
  }

  /** Rows of per-node sums (grouping sets: org, project, user; all time and the current day, week and month) as counters. */
  private async perNode(now: Date, sql: string, params: unknown[]): Promise<NodeCounter[]> {
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
    >(sql, params);
    const counters: NodeCounter[] = [];
    for (const r of rows) {
      const g = Number(r.g);
      const node: NodeRef =
        g === 3
          ? { level: 'org' }
          : g === 1
            ? { level: 'project', projectId: r.project_id! }
            : { level: 'user', projectId: r.project_id!, userId: r.user_id! };
      for (const [id, sum] of [
        ['', r.total],
        [day, r.day],
        [week, r.week],
        [month, r.month],
      ] as const) {
        const amount = Math.min(Number(sum ?? 0), Number.MAX_SAFE_INTEGER);
        if (amount > 0) counters.push({ node, periodId: id, amount });
      }
    }
    return counters;
  }
}
