import { WebhookReceiptRepository } from './adapters/mikro-orm/webhook-receipt.repository';
import { VendorSignatures } from './adapters/signatures/vendor-signatures';
import { VendorWebhooksController } from './http/vendor-webhooks.controller';
import { ListWebhookReceiptsUseCase } from './usecases/list-webhook-receipts/list-webhook-receipts.usecase';
import { ReceiveVendorWebhookUseCase } from './usecases/receive-vendor-webhook/receive-vendor-webhook.usecase';

/** Inbound vendor webhooks: verification, the receipt log and replay guard, product actions. */
export const INBOUND_CONTROLLERS: (new (...args: never[]) => unknown)[] = [VendorWebhooksController];
export const INBOUND_PROVIDERS: (new (...args: never[]) => unknown)[] = [
  VendorSignatures,
  WebhookReceiptRepository,
  ReceiveVendorWebhookUseCase,
  ListWebhookReceiptsUseCase,
];
