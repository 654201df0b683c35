import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
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
const CLAIMING = `outcome not in ('refused', 'duplicate', 'failed')`;

export interface ReceiptFilter {
  source?: WebhookSource;
  outcome?: ReceiptOutcome;
  orgId?: string;
  environment?: 'live' | 'test';
  before?: { receivedAt: string; id: string };
  limit: number;
}

/** The inbound log and replay guard, in Postgres. */
@Injectable()
export class WebhookReceiptRepository {
  constructor(private readonly em: EntityManager) {}

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
   * Records a receipt. A claiming receipt whose id another already claimed (two copies processed
   * at once) is stored as `duplicate` instead; the answer says which it became.
   */
  async record(receipt: NewReceipt): Promise<{ id: string; outcome: ReceiptOutcome }> {
    const params = [
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
      receipt.payload instanceof RawJson ? receipt.payload.text : receipt.payload == null ? null : JSON.stringify(receipt.payload),
    ];
    const sql = (conflict: string) =>
      `insert into webhook_receipts (source, delivery_id, environment, org_id, event_type, kind, reason, action, remote_ip, body_sha256, payload, outcome)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?) ${conflict} returning id`;
    const insert = async (outcome: ReceiptOutcome, conflict: string) => {
      try {
        return await this.em.getConnection().execute<{ id: string }[]>(sql(conflict), [...params, outcome]);
      } catch (error) {
        // Valid JSON that jsonb refuses (a lone surrogate escape, say): the receipt is kept without its body.
        if (!String((error as { code?: string }).code ?? '').startsWith('22') || params[10] === null) throw error;
        return this.em.getConnection().execute<{ id: string }[]>(sql(conflict), [...params.slice(0, 10), null, outcome]);
      }
    };
    const claims = receipt.deliveryId !== null && !['refused', 'duplicate', 'failed'].includes(receipt.outcome);
    if (!claims) {
      const [row] = await insert(receipt.outcome, '');
      return { id: String(row.id), outcome: receipt.outcome };
    }
    const [claimed] = await insert(
      receipt.outcome,
      `on conflict (source, delivery_id) where delivery_id is not null and ${CLAIMING} do nothing`,
    );
    if (claimed) return { id: String(claimed.id), outcome: receipt.outcome };
    const [row] = await insert('duplicate', '');
    return { id: String(row.id), outcome: 'duplicate' };
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
