import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey } from '../../domain/api-key';
import { AuditRecord } from '../../domain/audit-entry';
import { Environment, KeyKind, Scope } from '../../domain/access';
import { persistAudit } from './audit-rows';
import { ApiKeyRow, ApiKeySchema } from './tenancy.entities';

function toDomain(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    kind: row.kind as KeyKind,
    orgId: row.orgId,
    environment: row.environment as Environment | null,
    scopes: row.scopes as Scope[],
    name: row.name,
    prefix: row.prefix,
    secretHash: row.secretHash,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
  };
}

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly em: EntityManager) {}

  async findActiveByHash(secretHash: string): Promise<ApiKey | null> {
    const row = await this.em.fork().findOne(ApiKeySchema, { secretHash, revokedAt: null });
    return row ? toDomain(row) : null;
  }

  async findActive(id: string, orgId: string | null): Promise<ApiKey | null> {
    const row = await this.em.fork().findOne(ApiKeySchema, { id, orgId, revokedAt: null });
    return row ? toDomain(row) : null;
  }

  async listActive(orgId: string | null): Promise<ApiKey[]> {
    const rows = await this.em.fork().find(ApiKeySchema, { orgId, revokedAt: null }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return rows.map(toDomain);
  }

  async insert(key: ApiKey, audit: AuditRecord): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      tx.create(ApiKeySchema, { ...key });
      persistAudit(tx, audit, key.createdAt);
    });
  }

  /** Marks the key revoked; false when it was not active (already revoked, or not there). */
  async revoke(id: string, orgId: string | null, now: Date, audit: AuditRecord): Promise<boolean> {
    return this.em.fork().transactional(async (tx) => {
      const row = await tx.findOne(ApiKeySchema, { id, orgId, revokedAt: null });
      if (!row) return false;
      row.revokedAt = now;
      persistAudit(tx, audit, now);
      return true;
    });
  }

  /** The key from configuration: one row, whose secret a new value replaces. */
  async upsertConfigured(key: ApiKey): Promise<void> {
    await this.em.fork().upsert(ApiKeySchema, { ...key });
  }
}
