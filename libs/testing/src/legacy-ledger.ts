import { HoldLedger, NodeRef, periodIds } from '@tollgate/quota';
import { quantityKey } from '@tollgate/reservations';
import type { Sql } from './ledger-invariant';

export type LegacyLedger = Pick<HoldLedger, 'committed' | 'consumedAt' | 'quantities'>;

/**
 * The HoldLedger reads as they were before decision 021, aggregations of the whole ledger: the
 * reference the rollups must match exactly, and the baseline bench:rebuild measures them against.
 */
export function legacyLedger(sql: Sql): LegacyLedger {
  return {
    async quantities(scope, now) {
      const rows = await sql<{ product: string; dimension: string; period: string; value: string }>(
        `select l.product, u.key as dimension, l.quantity_period as period, sum(u.value::numeric)::text as value
           from usage_ledger l, jsonb_each_text(l.usage) u
          where l.org_id = ? and l.environment = ? and l.quantity_period = ? and l.product is not null
          group by l.product, u.key, l.quantity_period`,
        [scope.orgId, scope.environment, periodIds(now).month],
      );
      return rows.map((r) => ({ key: quantityKey(r.product, r.dimension, r.period), value: r.value }));
    },
    async consumedAt(scope, instants) {
      if (instants.length === 0) return [];
      const columns = instants.map((_, i) => `coalesce(sum(amount) filter (where committed_at <= ?), 0) as c${i}`).join(', ');
      const [row] = await sql<Record<string, string>>(`select ${columns} from usage_ledger where org_id = ? and environment = ?`, [
        ...instants,
        scope.orgId,
        scope.environment,
      ]);
      return instants.map((_, i) => Math.min(Number(row[`c${i}`]), Number.MAX_SAFE_INTEGER));
    },
    async committed(scope, now) {
      const { day, week, month } = periodIds(now);
      const rows = await sql<{ g: number; project_id: string | null; user_id: string | null } & Record<string, string | null>>(
        `select grouping(project_id, user_id) as g, project_id, user_id, sum(amount) as total,
                sum(amount) filter (where periods->>'day' = ?) as day,
                sum(amount) filter (where periods->>'week' = ?) as week,
                sum(amount) filter (where periods->>'month' = ?) as month
           from usage_ledger where org_id = ? and environment = ?
          group by grouping sets ((), (project_id), (project_id, user_id))`,
        [day, week, month, scope.orgId, scope.environment],
      );
      const counters: { node: NodeRef; periodId: string; amount: number }[] = [];
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
    },
  };
}
