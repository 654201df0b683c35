import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { GroupCommitWriter, InsertResult, RowInsert, WebhookEvent, webhookEventRow } from '@tollgate/platform';
import { QuotaScope } from '@tollgate/quota';
import {
  CommittedUsage,
  Environment,
  Reservation,
  ReservationOutcome,
  ReservationPricing,
  ReservationStatus,
  ReservationView,
} from '../../domain/reservation';
import { UsageEvent } from '../../domain/usage-event';

/** What a commit records besides its outcome: the usage-ledger row, its variance, and its usage events. */
export interface LedgerEntry {
  id: string;
  /** A priced commit's usage; null for a raw amount. */
  usage: CommittedUsage | null;
  /** The hold's amount, and what the actual usage priced at (before the overage policy). */
  estimate: number;
  actual: number;
  provider: { name: string; requestId: string | null } | null;
  events: UsageEvent[];
}

/** Destination of the outbox rows until billing routes events per organization (issue 12). */
export const DEFAULT_DESTINATION = 'default';

/** Raw rows: the driver hands timestamps over as strings, bigints as strings. */
interface ViewRow {
  id: string;
  org_id: string;
  environment: Environment;
  project_id: string;
  user_id: string;
  amount: string;
  idempotency_key: string;
  request_hash: string;
  periods: Reservation['periods'];
  expires_at: string | Date;
  metadata: Record<string, unknown> | null;
  response: Record<string, unknown>;
  pricing: ReservationPricing | null;
  created_by: string | null;
  created_at: string | Date;
  current_expires_at: string | Date;
  o_status: ReservationOutcome['status'] | null;
  o_committed: string | null;
  o_released: string | null;
  o_overage: string | null;
  o_reason: string | null;
  o_request_hash: string | null;
  o_response: Record<string, unknown> | null;
  o_created_at: string | Date | null;
}

const VIEW_SELECT = `
  select r.*, coalesce(e.expires_at, r.expires_at) as current_expires_at,
         o.status as o_status, o.amount_committed as o_committed, o.amount_released as o_released,
         o.overage as o_overage, o.reason as o_reason, o.request_hash as o_request_hash,
         o.response as o_response, o.created_at as o_created_at
    from reservations r
    left join reservation_outcomes o on o.reservation_id = r.id
    left join lateral (select expires_at from reservation_extensions x where x.reservation_id = r.id order by seq desc limit 1) e on true`;

function toView(row: ViewRow): ReservationView {
  return {
    id: row.id,
    orgId: row.org_id,
    environment: row.environment,
    projectId: row.project_id,
    userId: row.user_id,
    amount: Number(row.amount),
    idempotencyKey: row.idempotency_key,
    requestHash: row.request_hash,
    periods: row.periods,
    expiresAt: new Date(row.expires_at),
    metadata: row.metadata,
    response: row.response,
    pricing: row.pricing,
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
    currentExpiresAt: new Date(row.current_expires_at),
    outcome: row.o_status
      ? {
          reservationId: row.id,
          status: row.o_status,
          amountCommitted: Number(row.o_committed),
          amountReleased: Number(row.o_released),
          overage: Number(row.o_overage),
          reason: row.o_reason,
          requestHash: row.o_request_hash,
          response: row.o_response,
          createdAt: new Date(row.o_created_at!),
        }
      : null,
  };
}

export interface ReservationFilter {
  projectId?: string;
  userId?: string;
  status?: ReservationStatus;
}

/**
 * Reservations in Postgres. Writes go through the group-commit writer (append-only inserts,
 * many requests per round trip); reads are for retries and administration. What a rebuild of
 * the quota store reads is the HoldLedger adapter's (hold-ledger.adapter.ts).
 */
@Injectable()
export class ReservationRepository {
  constructor(
    private readonly em: EntityManager,
    private readonly writer: GroupCommitWriter,
  ) {}

  /**
   * 'conflict': a reservation with this id (this organization, environment and key) exists already.
   * `signals` (the thresholds the store said this hold crossed) go in the same statement.
   */
  async insertHeld(reservation: Reservation, signals: readonly WebhookEvent[] = []): Promise<InsertResult> {
    const [result] = await this.insertHeldMany([reservation], signals);
    return result;
  }

  /** Several holds in one transaction (a batch): all recorded or none, with their signals. One result per reservation. */
  async insertHeldMany(reservations: Reservation[], signals: readonly WebhookEvent[] = []): Promise<InsertResult[]> {
    const results = await this.writer.write([
      ...reservations.map((reservation) => ({
        table: 'reservations',
        conflictKey: 'id',
        row: {
          id: reservation.id,
          org_id: reservation.orgId,
          environment: reservation.environment,
          project_id: reservation.projectId,
          user_id: reservation.userId,
          amount: reservation.amount,
          idempotency_key: reservation.idempotencyKey,
          request_hash: reservation.requestHash,
          periods: reservation.periods,
          expires_at: reservation.expiresAt,
          metadata: reservation.metadata,
          response: reservation.response,
          pricing: reservation.pricing,
          created_by: reservation.createdBy,
          created_at: reservation.createdAt,
        },
      })),
      ...signals.map(webhookEventRow),
    ]);
    return results.slice(0, reservations.length);
  }

  /**
   * The end of a hold; for a commit, with its usage-ledger row, its usage events and one
   * outbox row per event, all in the same group-commit statement: an answered commit has its
   * events, a failed one has none. 'conflict': it had ended already. `signals` (webhook events:
   * the hold expired, a threshold the commit crossed) go in the same statement too.
   */
  async insertOutcome(
    scope: QuotaScope,
    view: Pick<ReservationView, 'id' | 'projectId' | 'userId' | 'periods'>,
    outcome: ReservationOutcome,
    ledger?: LedgerEntry,
    signals: readonly WebhookEvent[] = [],
  ): Promise<InsertResult> {
    const rows: RowInsert[] = [
      {
        table: 'reservation_outcomes',
        conflictKey: 'reservation_id',
        row: {
          reservation_id: view.id,
          org_id: scope.orgId,
          environment: scope.environment,
          status: outcome.status,
          amount_committed: outcome.amountCommitted,
          amount_released: outcome.amountReleased,
          overage: outcome.overage,
          reason: outcome.reason,
          request_hash: outcome.requestHash,
          response: outcome.response,
          created_at: outcome.createdAt,
        },
      },
    ];
    if (outcome.status === 'committed' && ledger) {
      rows.push({
        table: 'usage_ledger',
        // The id is derived from the reservation (one commit row per reservation: a partial unique
        // index, as adjustment rows share the reservation id, decision 023).
        conflictKey: 'id',
        row: {
          id: ledger.id,
          reservation_id: view.id,
          org_id: scope.orgId,
          environment: scope.environment,
          project_id: view.projectId,
          user_id: view.userId,
          amount: outcome.amountCommitted,
          overage: outcome.overage,
          periods: view.periods,
          committed_at: outcome.createdAt,
          // Every row of a table in one group-commit statement has the same columns: null when raw.
          product: ledger.usage?.product ?? null,
          usage: ledger.usage?.usage ?? null,
          quantity_period: ledger.usage?.quantityPeriod ?? null,
          estimate: ledger.estimate,
          actual: ledger.actual,
          variance: ledger.actual - ledger.estimate,
          provider: ledger.provider?.name ?? null,
          provider_request_id: ledger.provider?.requestId ?? null,
        },
      });
      for (const event of ledger.events) rows.push({ table: 'usage_events', conflictKey: 'id', row: eventRow(event, ledger.id) });
      for (const event of ledger.events) {
        rows.push({
          table: 'usage_outbox',
          conflictKey: 'id',
          row: {
            id: `${event.id}:${DEFAULT_DESTINATION}`,
            event_id: event.id,
            org_id: event.orgId,
            environment: event.environment,
            destination: DEFAULT_DESTINATION,
            next_attempt_at: outcome.createdAt,
            created_at: outcome.createdAt,
          },
        });
      }
    }
    for (const signal of signals) rows.push(webhookEventRow(signal));
    const [result] = await this.writer.write(rows);
    return result;
  }

  /** The metadata of reservations, by id (for the signals of holds the sweeper expires). */
  async findMetadata(ids: readonly string[]): Promise<Map<string, Record<string, unknown> | null>> {
    if (ids.length === 0) return new Map();
    const rows = await this.em
      .getConnection()
      .execute<{ id: string; metadata: Record<string, unknown> | null }[]>(
        `select id, metadata from reservations where id in (select value from jsonb_array_elements_text(?::jsonb))`,
        [JSON.stringify(ids)],
      );
    return new Map(rows.map((r) => [r.id, r.metadata]));
  }

  async insertExtension(reservationId: string, expiresAt: Date, now: Date): Promise<void> {
    await this.writer.write([
      { table: 'reservation_extensions', row: { reservation_id: reservationId, expires_at: expiresAt, created_at: now } },
    ]);
  }

  async findView(id: string): Promise<ReservationView | null> {
    const [row] = await this.em.getConnection().execute<ViewRow[]>(`${VIEW_SELECT} where r.id = ?`, [id]);
    return row ? toView(row) : null;
  }

  /** Newest first, `limit + 1` rows before the (created_at, id) position. */
  async list(
    scope: QuotaScope,
    filter: ReservationFilter,
    before: { createdAt: string; id: string } | undefined,
    limit: number,
    now: Date,
  ): Promise<ReservationView[]> {
    const where = ['r.org_id = ?', 'r.environment = ?'];
    const params: unknown[] = [scope.orgId, scope.environment];
    const and = (condition: string, ...values: unknown[]) => {
      where.push(condition);
      params.push(...values);
    };
    if (filter.projectId) and('r.project_id = ?', filter.projectId);
    if (filter.userId) and('r.user_id = ?', filter.userId);
    if (filter.status === 'held') and('o.status is null and coalesce(e.expires_at, r.expires_at) > ?', now);
    else if (filter.status === 'expired')
      and(`(o.status = 'expired' or (o.status is null and coalesce(e.expires_at, r.expires_at) <= ?))`, now);
    else if (filter.status) and('o.status = ?', filter.status);
    if (before) and('(r.created_at, r.id) < (?, ?)', new Date(before.createdAt), before.id);
    params.push(limit + 1);
    const rows = await this.em
      .getConnection()
      .execute<ViewRow[]>(`${VIEW_SELECT} where ${where.join(' and ')} order by r.created_at desc, r.id desc limit ?`, params);
    return rows.map(toView);
  }
}

/** A usage event as its usage_events row, with the ledger entry it was written with (shared with adjustments). */
export function eventRow(event: UsageEvent, ledgerEntryId: string): Record<string, unknown> {
  return {
    id: event.id,
    ledger_entry_id: ledgerEntryId,
    kind: event.kind,
    reservation_id: event.reservationId,
    line: event.line,
    org_id: event.orgId,
    environment: event.environment,
    project_id: event.projectId,
    user_id: event.userId,
    product: event.product,
    dimension: event.dimension,
    dimensions: event.dimensions,
    quantity: event.quantity,
    amount: event.amount,
    estimate: event.estimate,
    actual: event.actual,
    variance: event.variance,
    rate_card_id: event.rateCardId,
    rate_id: event.rateId,
    provider: event.provider,
    provider_request_id: event.providerRequestId,
    occurred_at: event.occurredAt,
  };
}
