import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { WebhooksConfig } from '@tollgate/config';
import { MicroBatcher } from '@tollgate/platform';
import { NewReceipt, RawJson, ReceiptOutcome, WebhookReceipt } from '../../domain/webhook-receipt';
import { WebhookSource } from '../../domain/vendor-signal';

interface ReceiptRow {
  id: string;
  source: WebhookSource;
  delivery_id: string | null;
  environment: 'live' | 'test' | null;
  org_id: string | null;
  event_type: string | null;
  kind: string | null;
  outcome: ReceiptOutcome;
  reason: string | null;
  action: string | null;
  remote_ip: string | null;
  body_sha256: string;
  payload: unknown;
  received_at: string | Date;
}

const toReceipt = (r: ReceiptRow): WebhookReceipt => ({
  id: String(r.id),
  source: r.source,
  deliveryId: r.delivery_id,
  environment: r.environment,
  orgId: r.org_id,
  eventType: r.event_type,
  kind: r.kind as WebhookReceipt['kind'],
  outcome: r.outcome,
  reason: r.reason,
  action: r.action as WebhookReceipt['action'],
  remoteIp: r.remote_ip,
  bodySha256: r.body_sha256,
  payload: r.payload,
  receivedAt: new Date(r.received_at),
});

/** Outcomes that claim a delivery id (the partial unique index): a redelivery of one of these is a duplicate. */
const NOT_CLAIMING = new Set<ReceiptOutcome>(['refused', 'duplicate', 'failed']);
const CLAIMING = `outcome not in (${[...NOT_CLAIMING].map((o) => `'${o}'`).join(', ')})`;

export interface ReceiptFilter {
  source?: WebhookSource;
  outcome?: ReceiptOutcome;
  orgId?: string;
  environment?: 'live' | 'test';
  before?: { receivedAt: string; id: string };
  limit: number;
}

/** The receipt's columns, in the order a batch binds them (each cast, so a VALUES list is typed). */
const COLUMNS: [string, string][] = [
  ['source', 'text'],
  ['delivery_id', 'text'],
  ['environment', 'text'],
  ['org_id', 'text'],
  ['event_type', 'text'],
  ['kind', 'text'],
  ['reason', 'text'],
  ['action', 'text'],
  ['remote_ip', 'text'],
  ['body_sha256', 'text'],
  ['payload', 'jsonb'],
  ['outcome', 'text'],
];
const COLUMN_LIST = COLUMNS.map(([name]) => name).join(', ');
const TUPLE = `(${['?::int', ...COLUMNS.map(([, type]) => `?::${type}`), '?::boolean'].join(', ')})`;

/** Receipts per statement: 14 parameters each, far under Postgres' 65,535. */
const MAX_RECEIPTS_PER_FLUSH = 500;

interface PendingReceipt {
  receipt: NewReceipt;
  /** Its payload as JSON text (null: none). */
  payload: string | null;
  /** Whether its insert claims the delivery id (a conflict then makes it a duplicate). */
  claims: boolean;
}

/** The inbound log and replay guard, in Postgres. */
@Injectable()
export class WebhookReceiptRepository {
  /**
   * Receipts are group-committed like holds (decision 030): the deliveries that arrive within
   * WEBHOOK_RECEIPT_BATCH_MS (10 ms) are written by one statement, so 1,000 deliveries/s cost a few
   * hundred commits, not a thousand, and each is still answered only once its receipt is committed.
   */
  private readonly batcher: MicroBatcher<PendingReceipt, { id: string; outcome: ReceiptOutcome }>;

  constructor(
    private readonly em: EntityManager,
    config: WebhooksConfig,
  ) {
    this.batcher = new MicroBatcher((batch) => this.flush(batch), MAX_RECEIPTS_PER_FLUSH, config.receiptBatchMs);
  }

  /** The receipt that claimed this delivery id, if any. */
  async findClaim(source: WebhookSource, deliveryId: string): Promise<WebhookReceipt | null> {
    const [row] = await this.em
      .getConnection()
      .execute<ReceiptRow[]>(`select * from webhook_receipts where source = ? and delivery_id = ? and ${CLAIMING} limit 1`, [
        source,
        deliveryId,
      ]);
    return row ? toReceipt(row) : null;
  }

  /**
   * Records a receipt. A claiming receipt whose id another already claimed (a redelivery, or two
   * copies processed at once) is stored as `duplicate` instead; the answer says which it became.
   */
  async record(receipt: NewReceipt): Promise<{ id: string; outcome: ReceiptOutcome }> {
    const payload =
      receipt.payload instanceof RawJson ? receipt.payload.text : receipt.payload == null ? null : JSON.stringify(receipt.payload);
    const claims = receipt.deliveryId !== null && !NOT_CLAIMING.has(receipt.outcome);
    try {
      return await this.batcher.submit({ receipt, payload, claims });
    } catch (error) {
      // Valid JSON that jsonb refuses (a lone surrogate escape, say): the receipt is kept without
      // its body. (A batch that failed was retried receipt by receipt, so the error is this one's.)
      if (!String((error as { code?: string }).code ?? '').startsWith('22') || payload === null) throw error;
      return this.batcher.submit({ receipt, payload: null, claims });
    }
  }

  /**
   * One statement for the batch. Ids are drawn from the sequence up front, so each receipt's id is
   * known whichever insert stores it; claiming receipts are inserted with ON CONFLICT on the replay
   * guard, and those that conflicted are inserted again, in the same statement, as `duplicate`.
   * Two copies of one delivery in the same batch: the first claims, the others are duplicates.
   */
  private async flush(batch: PendingReceipt[]): Promise<{ id: string; outcome: ReceiptOutcome }[]> {
    const params: unknown[] = [];
    const firstOfKey = new Set<string>();
    const tuples = batch.map(({ receipt, payload, claims }, ord) => {
      let claiming = claims;
      let outcome = receipt.outcome;
      if (claiming) {
        const key = `${receipt.source}\u0000${receipt.deliveryId}`;
        if (firstOfKey.has(key)) [claiming, outcome] = [false, 'duplicate'];
        firstOfKey.add(key);
      }
      params.push(
        ord,
        receipt.source,
        receipt.deliveryId,
        receipt.environment,
        receipt.orgId,
        receipt.eventType,
        receipt.kind,
        receipt.reason,
        receipt.action,
        receipt.remoteIp,
        receipt.bodySha256,
        payload,
        outcome,
        claiming,
      );
      return TUPLE;
    });
    const rows = await this.em.getConnection().execute<{ ord: number; id: string; outcome: ReceiptOutcome }[]>(
      `with input as materialized (
         select v.*, nextval(pg_get_serial_sequence('webhook_receipts', 'id')) as id
         from (values ${tuples.join(', ')}) as v(ord, ${COLUMN_LIST}, claims)
       ),
       claimed as (
         insert into webhook_receipts (id, ${COLUMN_LIST})
         select id, ${COLUMN_LIST} from input where claims
         on conflict (source, delivery_id) where delivery_id is not null and ${CLAIMING} do nothing
         returning id
       ),
       unclaimed as (
         insert into webhook_receipts (id, ${COLUMN_LIST})
         select id, ${COLUMNS.slice(0, -1)
           .map(([name]) => name)
           .join(', ')}, case when claims then 'duplicate' else outcome end
         from input where not claims or id not in (select id from claimed)
       )
       select i.ord, i.id::text as id, case when i.claims and c.id is null then 'duplicate' else i.outcome end as outcome
       from input i left join claimed c on c.id = i.id`,
      params,
    );
    const byOrd = new Map(rows.map((r) => [Number(r.ord), { id: String(r.id), outcome: r.outcome }]));
    return batch.map((_, ord) => byOrd.get(ord)!);
  }

  /** The organizations (with environment) that have this vendor customer, by its vendor id or its alias. */
  async findCustomerOrgs(source: WebhookSource, environment: 'live' | 'test', refs: readonly string[]): Promise<string[]> {
    if (refs.length === 0) return [];
    const list = refs.map(() => '?').join(', ');
    const rows = await this.em
      .getConnection()
      .execute<{ org_id: string }[]>(
        `select distinct org_id from billing_customers where backend = ? and environment = ? and (customer_id in (${list}) or alias in (${list})) order by org_id limit 2`,
        [source, environment, ...refs, ...refs],
      );
    return rows.map((r) => r.org_id);
  }

  /** Newest first. */
  async list(filter: ReceiptFilter): Promise<WebhookReceipt[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: string, ...values: unknown[]) => {
      where.push(clause);
      params.push(...values);
    };
    if (filter.source) add('source = ?', filter.source);
    if (filter.outcome) add('outcome = ?', filter.outcome);
    if (filter.orgId) add('org_id = ?', filter.orgId);
    if (filter.environment) add('environment = ?', filter.environment);
    if (filter.before) add('(received_at, id) < (?::timestamptz, ?::bigint)', filter.before.receivedAt, filter.before.id);
    const rows = await this.em
      .getConnection()
      .execute<ReceiptRow[]>(
        `select * from webhook_receipts ${where.length ? `where ${where.join(' and ')}` : ''} order by received_at desc, id desc limit ?`,
        [...params, filter.limit],
      );
    return rows.map(toReceipt);
  }
}
