import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { UsageEvent } from '@tollgate/reservations';
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
    const columns = { project: ['project_id'], user: ['project_id', 'user_id'], product: ['product'] }[groupBy];
    const { where, params } = conditions(window, 'committed_at');
    where.push('estimate is not null');
    const relative = `(actual - estimate)::numeric / nullif(estimate, 0)`;
    const rows = await this.em.getConnection().execute<Record<string, string | null>[]>(
      `select ${columns.join(', ')}, count(*) as count, sum(estimate) as estimate, sum(actual) as actual,
              round(avg(${relative}), 6) as relative_mean,
              round(percentile_disc(0.5) within group (order by ${relative}), 6) as relative_p50,
              round(percentile_disc(0.9) within group (order by ${relative}), 6) as relative_p90,
              count(*) filter (where actual > estimate) as overran
         from usage_ledger where ${where.join(' and ')}
        group by ${columns.join(', ')} order by ${columns.join(', ')}`,
      params,
    );
    const num = (value: string | null) => (value === null ? null : Number(value));
    return rows.map((row) => ({
      key: Object.fromEntries(columns.map((c) => [c, row[c]])),
      count: Number(row.count),
      estimate: Number(row.estimate),
      actual: Number(row.actual),
      variance: Number(row.actual) - Number(row.estimate),
      relative_mean: num(row.relative_mean),
      relative_p50: num(row.relative_p50),
      relative_p90: num(row.relative_p90),
      overran: Number(row.overran),
    }));
  }
}

/** The window's conditions on a table with org_id, environment and the given instant column. */
function conditions(window: Omit<EventWindow, 'product'>, instant: string) {
  const where = ['org_id = ?', 'environment = ?'];
  const params: unknown[] = [window.orgId, window.environment];
  const and = (condition: string, ...values: unknown[]) => {
    where.push(condition);
    params.push(...values);
  };
  if (window.from) and(`${instant} >= ?`, window.from);
  if (window.to) and(`${instant} < ?`, window.to);
  return { where, params, and };
}
