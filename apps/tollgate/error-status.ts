import { HttpStatus } from '@nestjs/common';
import type { BillingErrorCode } from '@tollgate/billing';
import type { PlatformErrorCode, SharedErrorCode } from '@tollgate/platform';
import type { QuotaErrorCode } from '@tollgate/quota';
import type { PricingErrorCode, RateCardErrorCode } from '@tollgate/rate-cards';
import type { ReconciliationErrorCode } from '@tollgate/reconciliation';
import type { ReservationErrorCode } from '@tollgate/reservations';
import type { TenancyErrorCode } from '@tollgate/tenancy';
import type { WebhooksErrorCode } from '@tollgate/webhooks';

/** Every error code any module can raise. A module that adds a code adds it here, or the build fails. */
export type ErrorCode =
  | SharedErrorCode
  | PlatformErrorCode
  | TenancyErrorCode
  | QuotaErrorCode
  | ReservationErrorCode
  | RateCardErrorCode
  | PricingErrorCode
  | ReconciliationErrorCode
  | BillingErrorCode
  | WebhooksErrorCode;

/** The one map from domain error codes to HTTP status (exhaustive by `satisfies`). */
export const ERROR_STATUS = {
  // shared by several modules (declared once, in platform's SharedErrorCode)
  amount_overflow: HttpStatus.UNPROCESSABLE_ENTITY,
  // platform
  invalid_json: HttpStatus.BAD_REQUEST,
  json_too_deep: HttpStatus.BAD_REQUEST,
  json_too_complex: HttpStatus.PAYLOAD_TOO_LARGE,
  invalid_url: HttpStatus.BAD_REQUEST,
  malformed_request: HttpStatus.BAD_REQUEST,
  // Nest's HttpStatus has no 431.
  headers_too_large: 431,
  request_timeout: HttpStatus.REQUEST_TIMEOUT,
  validation_failed: HttpStatus.UNPROCESSABLE_ENTITY,
  payload_too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unsupported_media_type: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  route_not_found: HttpStatus.NOT_FOUND,
  method_not_allowed: HttpStatus.METHOD_NOT_ALLOWED,
  unauthenticated: HttpStatus.UNAUTHORIZED,
  insufficient_scope: HttpStatus.FORBIDDEN,
  idempotency_key_required: HttpStatus.BAD_REQUEST,
  idempotency_key_invalid: HttpStatus.BAD_REQUEST,
  idempotency_key_reused: HttpStatus.CONFLICT,
  idempotency_request_in_progress: HttpStatus.CONFLICT,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  store_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  service_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  internal_error: HttpStatus.INTERNAL_SERVER_ERROR,
  // tenancy
  unknown_org: HttpStatus.NOT_FOUND,
  org_already_exists: HttpStatus.CONFLICT,
  unknown_key: HttpStatus.NOT_FOUND,
  platform_key_required: HttpStatus.FORBIDDEN,
  scope_not_grantable: HttpStatus.FORBIDDEN,
  environment_not_allowed: HttpStatus.FORBIDDEN,
  // quota
  invalid_amount: HttpStatus.UNPROCESSABLE_ENTITY,
  invalid_quota_request: HttpStatus.UNPROCESSABLE_ENTITY,
  // The store holds what no operation writes: refuse (fail closed) until it is rebuilt.
  quota_state_corrupt: HttpStatus.SERVICE_UNAVAILABLE,
  // reservations
  insufficient_budget: HttpStatus.PAYMENT_REQUIRED,
  org_suspended: HttpStatus.FORBIDDEN,
  org_past_due: HttpStatus.FORBIDDEN,
  unknown_project: HttpStatus.NOT_FOUND,
  unknown_user: HttpStatus.NOT_FOUND,
  unknown_reservation: HttpStatus.NOT_FOUND,
  reservation_not_held: HttpStatus.CONFLICT,
  // rate cards (rate-cards' routes also raise tenancy's platform_key_required; tenancy's raise rate-cards' unknown_rate_card)
  unknown_rate_card: HttpStatus.NOT_FOUND,
  unknown_ladder: HttpStatus.NOT_FOUND,
  unknown_product: HttpStatus.NOT_FOUND,
  unpriceable_usage: HttpStatus.UNPROCESSABLE_ENTITY,
  // The organization's configuration, not the request, is what is missing: 409 until an admin assigns a card.
  no_rate_card: HttpStatus.CONFLICT,
  // Validation makes two rates for one dimension impossible: seeing it is a data problem.
  ambiguous_rate: HttpStatus.INTERNAL_SERVER_ERROR,
  // pricing engine: a client's quantities are validated before it runs (422 validation_failed), so
  // these mean a caller's bug or a stored rate that no longer validates.
  invalid_quantity: HttpStatus.INTERNAL_SERVER_ERROR,
  no_rate_for_dimension: HttpStatus.INTERNAL_SERVER_ERROR,
  invalid_rate: HttpStatus.INTERNAL_SERVER_ERROR,
  invalid_pricing_request: HttpStatus.INTERNAL_SERVER_ERROR,
  // reconciliation (decision 023)
  run_not_found: HttpStatus.NOT_FOUND,
  // Like a body over the size limit: the batch is too large as a whole; nothing was imported.
  too_many_records: HttpStatus.PAYLOAD_TOO_LARGE,
  invalid_csv: HttpStatus.BAD_REQUEST,
  // billing: choosing a backend Tollgate does not know, or one with no credentials, is a bad request body
  unknown_billing_backend: HttpStatus.UNPROCESSABLE_ENTITY,
  billing_backend_not_configured: HttpStatus.UNPROCESSABLE_ENTITY,
  // a vendor failed a synchronous call (provisioning a customer, a usage read-back)
  billing_vendor_error: HttpStatus.BAD_GATEWAY,
  outbox_delivery_not_found: HttpStatus.NOT_FOUND,
  outbox_delivery_not_retryable: HttpStatus.CONFLICT,
  // webhooks
  webhook_signature_invalid: HttpStatus.UNAUTHORIZED,
  // Nothing to verify with is not verified: 401 like a bad signature (the vendor retries either way), never a 5xx to hostile input.
  webhook_not_configured: HttpStatus.UNAUTHORIZED,
  webhook_endpoint_not_found: HttpStatus.NOT_FOUND,
  webhook_url_refused: HttpStatus.UNPROCESSABLE_ENTITY,
  webhook_delivery_not_found: HttpStatus.NOT_FOUND,
} as const satisfies Record<ErrorCode, HttpStatus | 431>;
