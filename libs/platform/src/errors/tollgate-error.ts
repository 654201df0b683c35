/**
 * Base of every module's error class. Pure TypeScript: the HTTP status of a code is decided
 * in one place (the composition root's exhaustive map), never by the code that throws.
 */
export abstract class TollgateError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    /** Extra members of the problem document (e.g. `level`, `required`, `available`). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Codes that more than one module raises for the same reason, declared once here; a module's
 * code union includes them. The status map gives each one status.
 */
export type SharedErrorCode =
  /** A total would pass 2^53−1 micro-credits, where arithmetic on amounts stops being exact. Nothing changed. */
  'amount_overflow';

export type PlatformErrorCode =
  | 'invalid_json'
  | 'json_too_deep'
  | 'json_too_complex'
  | 'invalid_url'
  | 'malformed_request'
  | 'headers_too_large'
  | 'request_timeout'
  | 'validation_failed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'unauthenticated'
  | 'insufficient_scope'
  | 'idempotency_key_required'
  | 'idempotency_key_invalid'
  | 'idempotency_key_reused'
  | 'idempotency_request_in_progress'
  | 'rate_limited'
  | 'store_unavailable'
  | 'service_unavailable'
  | 'internal_error';

export interface FieldError {
  field: string;
  message: string;
}

export class PlatformError extends TollgateError<PlatformErrorCode> {
  static validation(errors: FieldError[]): PlatformError {
    const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return new PlatformError('validation_failed', detail || 'The request is not valid.', { errors });
  }
}
