import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { decodeCursor, DEFAULT_PAGE_SIZE, toPage } from '@tollgate/platform';
import { CallContext } from '../domain/call-context';
import { ListAuditLogUseCase } from '../usecases/list-audit-log/list-audit-log.usecase';
import { Caller, RequireScopes } from './auth.decorators';
import { AuditLogQueryDto } from './tenancy.dto';
import { presentAuditEntry } from './tenancy.presenter';

@ApiTags('audit log')
@ApiBearerAuth()
@Controller('v1/audit-log')
export class AuditLogController {
  constructor(private readonly listAuditLog: ListAuditLogUseCase) {}

  /** Newest first. Entries of the caller's environment and those that belong to none. */
  @Get()
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async list(@Caller() ctx: CallContext, @Query() query: AuditLogQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const before = decodeCursor<{ seq: number }>(query.cursor, ['seq']);
    const entries = await this.listAuditLog.execute(ctx, query.org_id, before?.seq, limit);
    return toPage(entries, limit, presentAuditEntry, (e) => ({ seq: e.seq }));
  }
}
