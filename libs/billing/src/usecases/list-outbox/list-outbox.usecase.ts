import { Injectable } from '@nestjs/common';
import { CallContext } from '@tollgate/tenancy';
import { DeliveryStatus, OutboxEntry, OutboxRepository } from '../../adapters/mikro-orm/outbox.repository';

/** Outbox deliveries of the caller's environment: every organization's for a platform key, its own for an organization key. */
@Injectable()
export class ListOutboxUseCase {
  constructor(private readonly outbox: OutboxRepository) {}

  execute(
    ctx: CallContext,
    query: { status?: DeliveryStatus; backend?: string },
    after: { createdAt: string; id: string } | undefined,
    limit: number,
  ): Promise<OutboxEntry[]> {
    const { principal } = ctx;
    return this.outbox.list({ environment: principal.environment, orgId: principal.orgId, ...query }, after, limit);
  }
}
