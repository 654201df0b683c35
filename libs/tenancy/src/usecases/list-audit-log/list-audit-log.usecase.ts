import { Injectable } from '@nestjs/common';
import { AuditEntry } from '../../domain/audit-entry';
import { CallContext } from '../../domain/call-context';
import { TenancyError } from '../../domain/tenancy.error';
import { AuditLogRepository } from '../../adapters/mikro-orm/audit-log.repository';

@Injectable()
export class ListAuditLogUseCase {
  constructor(private readonly audit: AuditLogRepository) {}

  /** An organization key reads its own organization's log only; naming another is a 404. */
  async execute(ctx: CallContext, orgId: string | undefined, beforeSeq: number | undefined, limit: number): Promise<AuditEntry[]> {
    const { principal } = ctx;
    if (orgId !== undefined && !principal.canAccessOrg(orgId)) throw TenancyError.unknownOrg(orgId);
    const scopeOrg = principal.orgId ?? orgId;
    return this.audit.listNewestFirst({ orgId: scopeOrg, environment: principal.environment }, beforeSeq, limit);
  }
}
