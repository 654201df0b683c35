import { Injectable } from '@nestjs/common';
import { CallContext } from '@tollgate/tenancy';
import { ReceiptFilter, WebhookReceiptRepository } from '../../adapters/mikro-orm/webhook-receipt.repository';
import { WebhookReceipt } from '../../domain/webhook-receipt';

/**
 * The inbound log, newest first. A platform key sees every delivery (refused ones, which belong to
 * no organization, included); an organization key only its own organization's, in its environment.
 */
@Injectable()
export class ListWebhookReceiptsUseCase {
  constructor(private readonly receipts: WebhookReceiptRepository) {}

  execute(ctx: CallContext, filter: Omit<ReceiptFilter, 'environment'>): Promise<WebhookReceipt[]> {
    const { principal } = ctx;
    if (principal.isPlatform) return this.receipts.list(filter);
    return this.receipts.list({ ...filter, orgId: principal.orgId ?? undefined, environment: principal.environment });
  }
}
