import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { UsageEvent } from '@tollgate/reservations';
import { SpendBucket, SpendGroupBy, SpendInterval } from '../../domain/spend';
import { VarianceGroup, VarianceGroupBy } from '../../domain/variance';

interface EventRow {
  id: string;
  kind: UsageEvent['kind'];
  reservation_id: string;
  line: number;
  org_id: string;
  environment: UsageEvent['environment'];
  project_id: string;
  user_id: string;
  product: string | null;
  dimension: string | null;
  dimensions: Record<string, string>;
  quantity: string;
  amount: string;
  estimate: string | null;
  actual: string | null;
  variance: string | null;
  rate_card_id: string | null;
  rate_id: string | null;
  provider: string | null;
  provider_request_id: string | null;
  occurred_at: string | Date;
  recorded_at: string | Date;
}

/** A usage event as read back: with the instant Postgres recorded it. */
export interface RecordedUsageEvent extends UsageEvent {
  recordedAt: Date;
}

function toEvent(row: EventRow): RecordedUsageEvent {
  return {
    id: row.id,
    kind: row.kind,
    reservationId: row.reservation_id,
    line: row.line,
    orgId: row.org_id,
    environment: row.environment,
    projectId: row.project_id,
    userId: row.user_id,
    product: row.product,
    dimension: row.dimension,
    dimensions: row.dimensions,
    quantity: row.quantity,
    amount: Number(row.amount),
    estimate: Number(row.estimate ?? 0),
    actual: Number(row.actual ?? 0),
    variance: Number(row.variance ?? 0),
    rateCardId: row.rate_card_id,
    rateId: row.rate_id,
    provider: row.provider,
    providerRequestId: row.provider_request_id,
    occurredAt: new Date(row.occurred_at),
    recordedAt: new Date(row.recorded_at),
  };
}

export interface EventWindow {
  orgId: string;
  environment: UsageEvent['environment'];
  from?: Date;
  to?: Date;
  product?: string;
}

/**
 * Reads the usage events and the ledger's variance (written by the reservations module's
 * commit, in its group-commit statement): reconciliation only reads them.
 */
@Injectable()
export class UsageEventRepository {
  constructor(private readonly em: EntityManager) {}

  /** Oldest first, `limit + 1` rows after the (occurred_at, id) position; `to` is exclusive. */
  async listEvents(
    window: EventWindow,
    after: { occurredAt: string; id: string } | undefined,
    limit: number,
  ): Promise<RecordedUsageEvent[]> {
    const { where, params, and } = conditions(window, 'occurred_at');
    if (window.product) and('product = ?', window.product);
    if (after) and('(occurred_at, id) > (?, ?)', new Date(after.occurredAt), after.id);
    params.push(limit + 1);
    const rows = await this.em
      .getConnection()
      .execute<EventRow[]>(`select * from usage_events where ${where.join(' and ')} order by occurred_at, id limit ?`, params);
    return rows.map(toEvent);
  }

  /**
   * Variance per group over the commits of the window, aggregated in Postgres (a month of a
   * large organization never comes into memory). Ledger rows written before variance was kept
   * have no estimate and are left out.
   */
  async variance(window: Omit<EventWindow, 'product'>, groupBy: VarianceGroupBy): Promise<VarianceGroup[]> {
    const columns = { project: ['project_id'], user: ['project_id', 'user_id'], product: ['product'] }[groupBy].map((c) => `l.${c}`);
    const { where, params } = conditions(window, 'committed_at', 'l.');
    // Commits only: an adjustment (decision 023) corrects the charge, not the estimate's fit.
    where.push(`l.kind = 'commit'`, 'l.estimate is not null');
    const relative = `(l.actual - l.estimate)::numeric / nullif(l.estimate, 0)`;
    // The outcome (primary key reservation_id) says what the overage policy charged above the hold.
    const rows = await this.em.getConnection().execute<Record<string, string | null>[]>(
      `select ${columns.join(', ')}, count(*) as count, sum(l.estimate) as estimate, sum(l.actual) as actual,
              round(avg(${relative}), 6) as relative_mean,
              round(percentile_disc(0.5) within group (order by ${relative}), 6) as relative_p50,
              round(percentile_disc(0.9) within group (order by ${relative}), 6) as relative_p90,
              count(*) filter (where l.actual > l.estimate) as overran,
              count(*) filter (where o.overage > 0) as overage_count,
              coalesce(sum(o.overage), 0) as overage_amount
         from usage_ledger l left join reservation_outcomes o on o.reservation_id = l.reservation_id
        where ${where.join(' and ')}
        group by ${columns.join(', ')} order by ${columns.join(', ')}`,
      params,
    );
    const num = (value: string | null) => (value === null ? null : Number(value));
    return rows.map((row) => ({
      key: Object.fromEntries(columns.map((c) => c.slice(2)).map((c) => [c, row[c]])),
      count: Number(row.count),
      estimate: Number(row.estimate),
      actual: Number(row.actual),
      variance: Number(row.actual) - Number(row.estimate),
      relative_mean: num(row.relative_mean),
      relative_p50: num(row.relative_p50),
      relative_p90: num(row.relative_p90),
      overran: Number(row.overran),
      overage_count: Number(row.overage_count),
      overage_amount: Number(row.overage_amount),
    }));
  }

  /**
   * Charged micro-credits per UTC calendar bucket and group over [from, to), commits and
   * adjustments (signed, at the instant they were recorded, decision 023), aggregated in
   * Postgres (one row per bucket and group comes back, never the ledger rows). Every bucket that
   * meets the window is answered, those without spend with zeros: `generate_series` over the
   * truncated bounds, left-joined to the grouped ledger.
   */
  async spend(
    window: { orgId: string; environment: UsageEvent['environment']; from: Date; to: Date },
    interval: SpendInterval,
    groupBy: SpendGroupBy,
    top: number,
  ): Promise<SpendBucket[]> {
    // Both come from closed enums (the DTO and these maps), never from the caller's text.
    const unit = { day: 'day', week: 'week', month: 'month' }[interval];
    const columns = { project: ['project_id'], user: ['project_id', 'user_id'], product: ['product'] }[groupBy];
    const step = `interval '1 ${unit}'`;
    const rows = await this.em.getConnection().execute<Record<string, string | Date | null>[]>(
      `with buckets as (
         select b as local_start
           from generate_series(date_trunc('${unit}', ?::timestamptz at time zone 'UTC'),
                                (?::timestamptz at time zone 'UTC') - interval '1 microsecond', ${step}) b
       ), spend as (
         select date_trunc('${unit}', committed_at at time zone 'UTC') as local_start, ${columns.join(', ')},
                sum(amount) as amount, count(*) as count
           from usage_ledger
          where org_id = ? and environment = ? and committed_at >= ? and committed_at < ?
          group by 1, ${columns.join(', ')}
       ), ranked as (
         select *, row_number() over (partition by local_start order by amount desc, ${columns.join(', ')}) as rank from spend
       ), kept as (
         select local_start, ${columns.join(', ')}, amount, count, false as others, 1::bigint as groups from ranked where rank <= ?
         union all
         select local_start, ${columns.map((c) => `null::text as ${c}`).join(', ')}, sum(amount), sum(count), true, count(*)
           from ranked where rank > ? group by local_start
       )
       select b.local_start at time zone 'UTC' as bucket_start, (b.local_start + ${step}) at time zone 'UTC' as bucket_end,
              ${columns.map((c) => `s.${c}`).join(', ')}, s.amount, s.count, s.others, s.groups
         from buckets b left join kept s on s.local_start = b.local_start
        order by b.local_start, s.others, ${columns.map((c) => `s.${c}`).join(', ')}`,
      [window.from, window.to, window.orgId, window.environment, window.from, window.to, top, top],
    );
    const buckets: SpendBucket[] = [];
    for (const row of rows) {
      const start = new Date(row.bucket_start as string | Date);
      let bucket = buckets[buckets.length - 1];
      if (!bucket || bucket.start.getTime() !== start.getTime()) {
        bucket = { start, end: new Date(row.bucket_end as string | Date), amount: 0, count: 0, groups: [] };
        buckets.push(bucket);
      }
      // A bucket without spend comes back once, its group columns and figures null.
      if (row.count === null) continue;
      const amount = Number(row.amount);
      const count = Number(row.count);
      bucket.amount += amount;
      bucket.count += count;
      if (row.others) {
        bucket.others = { groups: Number(row.groups), amount, count };
        continue;
      }
      const key = (groupBy === 'user' ? row.user_id : row[columns[0]]) as string | null;
      bucket.groups.push(groupBy === 'user' ? { key, project_id: row.project_id as string, amount, count } : { key, amount, count });
    }
    return buckets;
  }
}

/** The window's conditions on a table with org_id, environment and the given instant column. */
function conditions(window: Omit<EventWindow, 'product'>, instant: string, alias = '') {
  const where = [`${alias}org_id = ?`, `${alias}environment = ?`];
  const params: unknown[] = [window.orgId, window.environment];
  const and = (condition: string, ...values: unknown[]) => {
    where.push(condition);
    params.push(...values);
  };
  if (window.from) and(`${alias}${instant} >= ?`, window.from);
  if (window.to) and(`${alias}${instant} < ?`, window.to);
  return { where, params, and };
}
