import { Injectable } from '@nestjs/common';
import { CallContext } from '@tollgate/tenancy';
import { OutboxEntry, OutboxRepository } from '../../adapters/mikro-orm/outbox.repository';
import { BillingError } from '../../domain/billing.error';

/** Makes a failed or dead delivery due now, its attempts reset (an operator fixed the cause). */
@Injectable()
export class RetryDeliveryUseCase {
  constructor(private readonly outbox: OutboxRepository) {}

  async execute(ctx: CallContext, id: string): Promise<OutboxEntry> {
    const { principal } = ctx;
    const found = await this.outbox.retry(id, principal.environment, principal.orgId);
    // Another organization's delivery is as unknown as a missing one (never 403).
    if (!found) throw new BillingError('outbox_delivery_not_found', `No outbox delivery ${id}.`, { id });
    if (!found.retried) {
      throw new BillingError(
        'outbox_delivery_not_retryable',
        `Delivery ${id} is ${found.entry.status}: only failed or dead deliveries are retried.`,
        {
          id,
          status: found.entry.status,
        },
      );
    }
    return found.entry;
  }
}
