import type { FastifyRequest } from 'fastify';
import { PlatformError } from '../errors/tollgate-error';

/**
 * The route metadata the idempotency decorators set and the interceptor reads, and the
 * Idempotency-Key header rules: apart from both, so neither imports the other.
 */

/** The route refuses a POST without `Idempotency-Key`. */
export const IDEMPOTENCY_REQUIRED = 'tollgate:idempotency-required';

/** The use case keeps the outcome in its own rows; the shared store is not used (IdempotentByResource). */
export const IDEMPOTENCY_BY_RESOURCE = 'tollgate:idempotency-by-resource';

/** Fields of the success body left out of the stored response (SecretInResponse). */
export const SECRET_FIELDS = 'tollgate:secret-fields';

export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The request's Idempotency-Key header, checked; throws when it is missing and `required`. */
export function idempotencyKeyOf(request: FastifyRequest, required: boolean): string | undefined {
  const header = request.headers['idempotency-key'];
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined) {
    if (required) throw new PlatformError('idempotency_key_required', 'This endpoint requires an Idempotency-Key header.');
    return undefined;
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new PlatformError('idempotency_key_invalid', 'Idempotency-Key must be 1 to 255 visible ASCII characters.');
  }
  return key;
}
