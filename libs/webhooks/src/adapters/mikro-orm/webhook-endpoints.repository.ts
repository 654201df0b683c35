import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { appendAuditEntry, AuditRecord } from '@tollgate/tenancy';
import { WebhookEndpoint } from '../../domain/webhook-endpoint';

interface EndpointRow {
  id: string;
  org_id: string;
  environment: 'live' | 'test';
  url: string;
  description: string | null;
  event_types: string[];
  status: 'enabled' | 'deleted';
  previous_secret_expires_at: string | Date | null;
  created_at: string | Date;
  updated_at: string | Date;
}

/** Never `secret` nor `previous_secret`: what the API and the audit log may see. */
const COLUMNS = 'id, org_id, environment, url, description, event_types, status, previous_secret_expires_at, created_at, updated_at';

function toDomain(r: EndpointRow): WebhookEndpoint {
  return {
    id: r.id,
    orgId: r.org_id,
    environment: r.environment,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types,
    status: r.status,
    previousSecretExpiresAt: r.previous_secret_expires_at ? new Date(r.previous_secret_expires_at) : null,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** The audit log's view of an endpoint (no secret, ever). */
export function auditView(e: WebhookEndpoint) {
  return { url: e.url, description: e.description, event_types: e.eventTypes, status: e.status };
}

export interface NewEndpoint {
  id: string;
  orgId: string;
  environment: 'live' | 'test';
  url: string;
  description: string | null;
  eventTypes: string[];
  secret: string;
}

@Injectable()
export class WebhookEndpointsRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Inserts the endpoint and its audit entry in one transaction, unless the organization already
   * has `max` endpoints in the environment (null then). The count is taken under a per
   * organization-and-environment advisory lock, so two concurrent creations cannot both pass it.
   */
  async create(
    endpoint: NewEndpoint,
    max: number,
    audit: (created: WebhookEndpoint) => AuditRecord,
    now: Date,
  ): Promise<WebhookEndpoint | null> {
    return this.em.fork().transactional(async (tx) => {
      const connection = tx.getConnection();
      const ctx = tx.getTransactionContext();
      await connection.execute(
        `select pg_advisory_xact_lock(hashtext('webhook_endpoints:' || ? || ':' || ?))`,
        [endpoint.orgId, endpoint.environment],
        'all',
        ctx,
      );
      const [count] = await connection.execute<{ n: string }[]>(
        `select count(*) as n from webhook_endpoints where org_id = ? and environment = ? and status = 'enabled'`,
        [endpoint.orgId, endpoint.environment],
        'all',
        ctx,
      );
      if (Number(count.n) >= max) return null;
      const [row] = await connection.execute<EndpointRow[]>(
        `insert into webhook_endpoints (id, org_id, environment, url, description, event_types, secret, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?::text[], ?, ?, ?) returning ${COLUMNS}`,
        [
          endpoint.id,
          endpoint.orgId,
          endpoint.environment,
          endpoint.url,
          endpoint.description,
          `{${endpoint.eventTypes.join(',')}}`,
          endpoint.secret,
          now,
          now,
        ],
        'all',
        ctx,
      );
      const created = toDomain(row);
      appendAuditEntry(tx, audit(created), now);
      return created;
    });
  }

  async list(orgId: string, environment: string, after: { createdAt: string; id: string } | undefined, limit: number) {
    const params: unknown[] = [orgId, environment];
    let cursor = '';
    if (after) {
      cursor = ' and (created_at, id) > (?, ?)';
      params.push(new Date(after.createdAt), after.id);
    }
    params.push(limit + 1);
    const rows = await this.em
      .getConnection()
      .execute<EndpointRow[]>(
        `select ${COLUMNS} from webhook_endpoints where org_id = ? and environment = ? and status = 'enabled'${cursor} order by created_at, id limit ?`,
        params,
      );
    return rows.map(toDomain);
  }

  async find(orgId: string, environment: string, id: string): Promise<WebhookEndpoint | null> {
    const [row] = await this.em
      .getConnection()
      .execute<EndpointRow[]>(
        `select ${COLUMNS} from webhook_endpoints where id = ? and org_id = ? and environment = ? and status = 'enabled'`,
        [id, orgId, environment],
      );
    return row ? toDomain(row) : null;
  }

  /**
   * Deletes the endpoint (the row stays, without its secrets, for the deliveries that name it)
   * and gives up its queued deliveries, with the audit entry, in one transaction. Null when
   * there was no such endpoint.
   */
  async delete(
    orgId: string,
    environment: string,
    id: string,
    audit: (deleted: WebhookEndpoint) => AuditRecord,
    now: Date,
  ): Promise<WebhookEndpoint | null> {
    return this.em.fork().transactional(async (tx) => {
      const connection = tx.getConnection();
      const ctx = tx.getTransactionContext();
      const [row] = await connection.execute<EndpointRow[]>(
        `update webhook_endpoints set status = 'deleted', secret = null, previous_secret = null, previous_secret_expires_at = null,
                deleted_at = ?, updated_at = ?
          where id = ? and org_id = ? and environment = ? and status = 'enabled'
          returning ${COLUMNS}`,
        [now, now, id, orgId, environment],
        'all',
        ctx,
      );
      if (!row) return null;
      await connection.execute(
        `update webhook_deliveries set status = 'dead', last_error = 'endpoint deleted', lease_id = null, leased_until = null
          where endpoint_id = ? and status in ('pending', 'failed')`,
        [id],
        'run',
        ctx,
      );
      const deleted = toDomain(row);
      appendAuditEntry(tx, audit(deleted), now);
      return deleted;
    });
  }

  /** Replaces the secret; the replaced one keeps signing until `previousExpiresAt`. Null when there is no such endpoint. */
  async rotateSecret(
    orgId: string,
    environment: string,
    id: string,
    secret: string,
    previousExpiresAt: Date,
    audit: (rotated: WebhookEndpoint) => AuditRecord,
    now: Date,
  ): Promise<WebhookEndpoint | null> {
    return this.em.fork().transactional(async (tx) => {
      const [row] = await tx.getConnection().execute<EndpointRow[]>(
        `update webhook_endpoints set previous_secret = secret, previous_secret_expires_at = ?, secret = ?, updated_at = ?
          where id = ? and org_id = ? and environment = ? and status = 'enabled'
          returning ${COLUMNS}`,
        [previousExpiresAt, secret, now, id, orgId, environment],
        'all',
        tx.getTransactionContext(),
      );
      if (!row) return null;
      const rotated = toDomain(row);
      appendAuditEntry(tx, audit(rotated), now);
      return rotated;
    });
  }
}
