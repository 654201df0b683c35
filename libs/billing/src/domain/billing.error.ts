import { TollgateError } from '@tollgate/platform/errors';

export type BillingErrorCode =
  /** The backend named is not one Tollgate knows. */
  | 'unknown_billing_backend'
  /** The backend has no credentials for the environment: `missing` names the variables. */
  | 'billing_backend_not_configured'
  /** The vendor refused or failed a call that is not a delivery (provisioning, usage read-back). */
  | 'billing_vendor_error'
  /** No outbox delivery with this id that the caller may see. */
  | 'outbox_delivery_not_found'
  /** Only a failed or dead delivery can be retried (a delivered one is at the vendor already). */
  | 'outbox_delivery_not_retryable';

export class BillingError extends TollgateError<BillingErrorCode> {
  static notConfigured(backend: string, environment: string, missing: readonly string[]): BillingError {
    return new BillingError(
      'billing_backend_not_configured',
      `The billing backend ${backend} is not configured for the ${environment} environment: set ${missing.join(', ')}.`,
      { backend, environment, missing },
    );
  }

  static vendor(backend: string, operation: string, detail: string, extensions: Record<string, unknown> = {}): BillingError {
    return new BillingError('billing_vendor_error', `${backend} ${operation} failed: ${detail}`, { backend, ...extensions });
  }
}
