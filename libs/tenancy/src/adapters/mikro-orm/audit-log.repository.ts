import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AuditEntry } from '../../domain/audit-entry';
import { Environment } from '../../domain/access';
import { auditToDomain } from './audit-rows';
import { AuditLogSchema } from './tenancy.entities';

@Injectable()
export class AuditLogRepository {
  constructor(private readonly em: EntityManager) {}

  /**
   * Newest first: `limit + 1` entries before `beforeSeq`, of one environment plus the
   * changes that belong to no environment, optionally of one organization.
   */
  async listNewestFirst(
    filter: { orgId?: string; environment: Environment },
    beforeSeq: number | undefined,
    limit: number,
  ): Promise<AuditEntry[]> {
    const where: Record<string, unknown> = { $or: [{ environment: filter.environment }, { environment: null }] };
    if (filter.orgId !== undefined) where.orgId = filter.orgId;
    if (beforeSeq !== undefined) where.seq = { $lt: String(beforeSeq) };
    const rows = await this.em.fork().find(AuditLogSchema, where, { orderBy: { seq: 'desc' }, limit: limit + 1 });
    return rows.map(auditToDomain);
  }
}
