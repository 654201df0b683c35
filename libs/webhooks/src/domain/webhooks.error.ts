import { TollgateError } from '@tollgate/platform/errors';

export type WebhooksErrorCode =
  // inbound
  /** The delivery's signature, shared secret or timestamp did not verify (recorded; 401). */
  | 'webhook_signature_invalid'
  /** No secret is configured for this vendor, so nothing can be verified (401, recorded; the vendor retries). */
  | 'webhook_not_configured'
  // outbound
  /** No webhook endpoint with this id that the caller may see. */
  | 'webhook_endpoint_not_found'
  /** The endpoint URL is refused: not https/http, or it resolves to a loopback, link-local or private address. */
  | 'webhook_url_refused'
  /** No outbound delivery with this id that the caller may see. */
  | 'webhook_delivery_not_found';

export class WebhooksError extends TollgateError<WebhooksErrorCode> {}
