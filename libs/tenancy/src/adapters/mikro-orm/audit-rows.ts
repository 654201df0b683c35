import { randomBytes } from 'node:crypto';
import { AuditEntry, AuditRecord } from '../../domain/audit-entry';
import { Environment } from '../../domain/access';
import { AuditLogRow, AuditLogSchema } from './tenancy.entities';
import type { EntityManager } from '@mikro-orm/postgresql';

export function persistAudit(em: EntityManager, record: AuditRecord, now: Date): void {
  em.create(AuditLogSchema, {
    id: 'aud_' + randomBytes(12).toString('base64url'),
    orgId: record.orgId,
    environment: record.environment,
    actor: record.actor,
    action: record.action,
    resourceType: record.resourceType,
    resourceId: record.resourceId,
    before: record.before ?? null,
    after: record.after ?? null,
    requestId: record.requestId,
    createdAt: now,
  } as AuditLogRow);
}

export function auditToDomain(row: AuditLogRow): AuditEntry {
  return {
    id: row.id,
    seq: Number(row.seq),
    orgId: row.orgId,
    environment: row.environment as Environment | null,
    actor: row.actor,
    action: row.action,
    resourceType: row.resourceType,
    resourceId: row.resourceId,
    before: row.before,
    after: row.after,
    requestId: row.requestId,
    createdAt: row.createdAt,
  };
}
