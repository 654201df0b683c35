import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { HoldPeriods } from '@tollgate/quota';
import { ChargedLineSoFar } from '../../domain/adjustment';
import { Environment } from '../../domain/reservation';
import { UsageEvent } from '../../domain/usage-event';
import { DEFAULT_DESTINATION, eventRow } from './reservation.repository';

/** What a reservation has been charged so far: its commit and every adjustment, per line. */
export interface ChargedSoFar {
  total: number;
  /** Adjustments already made (the next is number adjustments + 1). */
  adjustments: number;
  lines: ChargedLineSoFar[];
}

/** An adjustment's ledger row and its correction events (one outbox row each is added). */
export interface AdjustmentRecord {
  id: string;
  reservationId: string;
  orgId: string;
  environment: Environment;
  projectId: string;
  userId: string;
  /** Signed micro-credits. */
  amount: number;
  periods: HoldPeriods;
  product: string;
  usage: Record<string, number | string>;
  /** The hold, and the provider's usage priced at its rates (before the overage policy). */
  estimate: number;
  actual: number;
  provider: string;
  providerRequestId: string;
  reason: string;
  events: UsageEvent[];
  recordedAt: Date;
}

/**
 * Adjustments in one Postgres transaction of their own (not the hot path's group commit): the
 * reservation's committed outcome row is locked first, so adjustments of one reservation take
 * turns and each sees what the previous charged; then the ledger row, its events and one outbox
 * row per event commit together (decision 020's rule, decision 023).
 */
@Injectable()
export class AdjustmentRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Runs `decide` with the reservation locked and what it was charged so far; writes what it
   * answers (if anything) in the same transaction. `decide` may touch the quota store: if the
   * transaction then fails to commit, the caller must treat the store as not matching Postgres.
   * null: the reservation has no committed outcome.
   */
  async underLock<T>(
    reservationId: string,
    decide: (charged: ChargedSoFar) => Promise<{ write: AdjustmentRecord | null; result: T }>,
  ): Promise<T | null> {
    return this.em.fork().transactional(async (tx) => {
      const locked = await tx.execute<{ id: string }[]>(
        `select reservation_id as id from reservation_outcomes where reservation_id = ? and status = 'committed' for update`,
        [reservationId],
      );
      if (locked.length === 0) return null;
      // A statement of its own after the lock: a statement's snapshot is taken when it starts, so
      // reads in the locking statement could miss what the previous holder of the lock wrote.
      const [charged] = await tx.execute<
        { total: string; n: string; lines: { dimension: string | null; amount: string; quantity: string }[] }[]
      >(
        `select (select coalesce(sum(amount), 0)::text from usage_ledger where reservation_id = ?) as total,
                (select count(*) from usage_ledger where reservation_id = ? and kind = 'adjustment') as n,
                (select coalesce(jsonb_agg(jsonb_build_object('dimension', dimension, 'amount', amount::text, 'quantity', quantity::text)), '[]'::jsonb)
                   from (select dimension, sum(amount) as amount, sum(quantity) as quantity
                           from usage_events where reservation_id = ? group by dimension) e) as lines`,
        [reservationId, reservationId, reservationId],
      );
      const { write, result } = await decide({
        total: Number(charged.total),
        adjustments: Number(charged.n),
        lines: charged.lines.map((l) => ({ dimension: l.dimension, amount: Number(l.amount), quantity: l.quantity })),
      });
      if (write) await insertAdjustment(tx, write);
      return result;
    });
  }
}

/** The ledger row, its events and their outbox rows: one statement (data-modifying CTEs), one round trip. */
async function insertAdjustment(tx: EntityManager, a: AdjustmentRecord): Promise<void> {
  const params: unknown[] = [
    a.id,
    a.reservationId,
    a.orgId,
    a.environment,
    a.projectId,
    a.userId,
    a.amount,
    JSON.stringify(a.periods),
    a.recordedAt,
    a.product,
    JSON.stringify(a.usage),
    a.estimate,
    a.actual,
    a.actual - a.estimate,
    a.provider,
    a.providerRequestId,
    a.reason,
  ];
  const ctes = [
    `l as (insert into usage_ledger (id, kind, reservation_id, org_id, environment, project_id, user_id, amount, periods, committed_at,
                                     product, usage, quantity_period, estimate, actual, variance, provider, provider_request_id, reason)
           values (?, 'adjustment', ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?::jsonb, null, ?, ?, ?, ?, ?, ?) returning 1)`,
  ];
  if (a.events.length > 0) {
    const rows = a.events.map((event) => eventRow(event, a.id));
    const columns = Object.keys(rows[0]);
    const tuples = rows.map((row) => {
      for (const column of columns) {
        const value = row[column];
        params.push(value !== null && typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value) : value);
      }
      return `(${columns.map(() => '?').join(', ')})`;
    });
    ctes.push(`e as (insert into usage_events (${columns.join(', ')}) values ${tuples.join(', ')} returning 1)`);
    for (const event of a.events) {
      params.push(
        `${event.id}:${DEFAULT_DESTINATION}`,
        event.id,
        event.orgId,
        event.environment,
        DEFAULT_DESTINATION,
        a.recordedAt,
        a.recordedAt,
      );
    }
    ctes.push(
      `o as (insert into usage_outbox (id, event_id, org_id, environment, destination, next_attempt_at, created_at)
             values ${a.events.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')} returning 1)`,
    );
  }
  await tx.execute(`with ${ctes.join(', ')} select 1`, params);
}
