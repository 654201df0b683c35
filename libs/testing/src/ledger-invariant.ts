import { Period, periodId } from '@tollgate/quota';

/** Runs SQL with `?` placeholders and answers its rows (MikroORM's `execute`, or a pg client through `pgSql`). */
export type Sql = <T = Record<string, any>>(query: string, params?: unknown[]) => Promise<T[]>;

/** A `pg` client as an Sql runner: `?` placeholders become `$1`, `$2`, … */
export function pgSql(client: { query(text: string, params?: unknown[]): Promise<{ rows: any[] }> }): Sql {
  return async <T>(query: string, params: unknown[] = []) => {
    let n = 0;
    return (
      await client.query(
        query.replace(/\?/g, () => `$${++n}`),
        params,
      )
    ).rows as T[];
  };
}

interface TreeNode {
  id: string;
  committed: number;
  period: Period;
  period_start: string | null;
}

/** GET /v1/orgs/{org}/usage as far as the invariant reads it. */
export interface UsageTreeBody {
  org: TreeNode;
  projects: (TreeNode & { users: TreeNode[] })[];
}

/**
 * Issue 11's money invariant for one organization and environment, from Postgres and the usage
 * tree: every ledger entry equals the sum of the usage events written with it, and no event is
 * without its entry or without an outbox row; the rollups equal the ledger per user and admission
 * day (with week and month), per user all time and per hour; and every node of the tree shows as
 * committed what the ledger holds for it in the node's current period (all time without one).
 * Answers the differences, none when everything agrees.
 */
export async function ledgerInvariantProblems(
  sql: Sql,
  scope: { orgId: string; environment: 'live' | 'test' },
  tree: UsageTreeBody,
): Promise<string[]> {
  const s = [scope.orgId, scope.environment];
  const problems: string[] = [];
  const report = (what: string, rows: unknown[]) => {
    if (rows.length > 0) problems.push(`${what}: ${JSON.stringify(rows.slice(0, 5))}${rows.length > 5 ? ` (+${rows.length - 5})` : ''}`);
  };

  report(
    'ledger entries whose events do not sum to them',
    await sql(
      `select l.id, l.kind, l.amount, coalesce(sum(e.amount), 0) as events
         from usage_ledger l left join usage_events e on e.reservation_id = l.reservation_id and e.ledger_entry_id = l.id
        where l.org_id = ? and l.environment = ?
        group by l.id, l.kind, l.amount having l.amount <> coalesce(sum(e.amount), 0)`,
      s,
    ),
  );
  report(
    'usage events without their ledger entry',
    await sql(
      `select e.id, e.ledger_entry_id from usage_events e
        where e.org_id = ? and e.environment = ?
          and not exists (select 1 from usage_ledger l where l.id = e.ledger_entry_id and l.reservation_id = e.reservation_id)`,
      s,
    ),
  );
  report(
    'usage events without an outbox row',
    await sql(
      `select e.id from usage_events e where e.org_id = ? and e.environment = ?
          and not exists (select 1 from usage_outbox x where x.id = e.id || ':default')`,
      s,
    ),
  );

  // Rollups against a fresh aggregation of the ledger.
  const rollupDiff = (ledger: string, rollup: string, keys: string[], value = 'amount') =>
    sql(
      `with l as (${ledger}), r as (${rollup})
       select ${keys.map((k) => `coalesce(l.${k}, r.${k}) as ${k}`).join(', ')}, l.${value} as ledger, r.${value} as rollup
         from l full join r on ${keys.map((k) => `l.${k} = r.${k}`).join(' and ')}
        where l.${value} is distinct from r.${value} and coalesce(l.${value}, 0) + coalesce(r.${value}, 0) <> 0`,
      [...s, ...s],
    );
  report(
    'usage_rollups differ from the ledger (per user and admission day)',
    await rollupDiff(
      `select project_id, user_id, periods->>'day' as day, periods->>'week' as week, periods->>'month' as month, sum(amount) as amount
         from usage_ledger where org_id = ? and environment = ? group by 1, 2, 3, 4, 5`,
      `select project_id, user_id, day, week, month, amount from usage_rollups where org_id = ? and environment = ?`,
      ['project_id', 'user_id', 'day', 'week', 'month'],
    ),
  );
  report(
    'usage_rollup_totals differ from the ledger (per user, all time)',
    await rollupDiff(
      `select project_id, user_id, sum(amount) as amount from usage_ledger where org_id = ? and environment = ? group by 1, 2`,
      `select project_id, user_id, amount from usage_rollup_totals where org_id = ? and environment = ?`,
      ['project_id', 'user_id'],
    ),
  );
  report(
    'usage_rollup_hours differ from the ledger (per hour of committed_at)',
    await rollupDiff(
      `select date_trunc('hour', committed_at, 'UTC') as hour, sum(amount) as amount
         from usage_ledger where org_id = ? and environment = ? group by 1`,
      `select hour, amount from usage_rollup_hours where org_id = ? and environment = ?`,
      ['hour'],
    ),
  );

  // The tree's committed per node, against the ledger in the node's current period.
  const ledger = await sql<{ project_id: string; user_id: string; day: string; week: string; month: string; amount: string }>(
    `select project_id, user_id, periods->>'day' as day, periods->>'week' as week, periods->>'month' as month, sum(amount) as amount
       from usage_ledger where org_id = ? and environment = ? group by 1, 2, 3, 4, 5`,
    s,
  );
  const committedIn = (node: TreeNode, match: (row: (typeof ledger)[number]) => boolean) => {
    const current = node.period === 'none' || !node.period_start ? null : periodId(node.period, new Date(node.period_start));
    return ledger
      .filter((row) => match(row) && (current === null || row[node.period as Exclude<Period, 'none'>] === current))
      .reduce((sum, row) => sum + Number(row.amount), 0);
  };
  const treeProblems: unknown[] = [];
  const check = (where: string, node: TreeNode, match: (row: (typeof ledger)[number]) => boolean) => {
    const expected = committedIn(node, match);
    if (node.committed !== expected) treeProblems.push({ node: where, period: node.period, tree: node.committed, ledger: expected });
  };
  check('org', tree.org, () => true);
  for (const project of tree.projects) {
    check(`project ${project.id}`, project, (row) => row.project_id === project.id);
    for (const user of project.users)
      check(`user ${project.id}/${user.id}`, user, (row) => row.project_id === project.id && row.user_id === user.id);
  }
  report('the usage tree’s committed differs from the ledger', treeProblems);
  return problems;
}
