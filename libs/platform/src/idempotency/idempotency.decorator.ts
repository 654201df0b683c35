import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseInterceptors } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { PlatformError } from '../errors/tollgate-error';
import { IdempotencyInterceptor } from './idempotency.interceptor';

export const IDEMPOTENCY_REQUIRED = 'tollgate:idempotency-required';
/** The route refuses a POST without `Idempotency-Key` (batch; see also IdempotentByResource). */
export const IdempotencyRequired = (): MethodDecorator => SetMetadata(IDEMPOTENCY_REQUIRED, true);

/**
 * Idempotency for every POST of a controller (or one route) through the shared store: put it
 * on every controller with POST routes. Not global: a global interceptor puts rxjs and two
 * AsyncResource binds on every route, the admission routes too (-13% throughput, measured),
 * and those keep their outcomes in their own rows (IdempotentByResource). A test checks
 * that every POST route has one or the other.
 */
export const Idempotent = () => applyDecorators(UseInterceptors(IdempotencyInterceptor));

export const IDEMPOTENCY_BY_RESOURCE = 'tollgate:idempotency-by-resource';
/**
 * The key is required (read it with @IdempotencyKey()), but the use case keeps the outcome in
 * its own rows (in the same write as the change), so the shared store is not used: exactly
 * once with no extra round trip on the admission path.
 */
export const IdempotentByResource = (): MethodDecorator =>
  (target, key, descriptor) => {
    SetMetadata(IDEMPOTENCY_REQUIRED, true)(target, key, descriptor);
    SetMetadata(IDEMPOTENCY_BY_RESOURCE, true)(target, key, descriptor);
  };

export const SECRET_FIELDS = 'tollgate:secret-fields';
/**
 * The route's success body carries secrets (an API key's `secret`): those fields are left out
 * of the stored response, so no secret is ever at rest in `idempotency_keys`, and a replay
 * answers the same body without them (the secret is shown once; docs/decisions/017).
 */
export const SecretInResponse = (...fields: string[]): MethodDecorator => SetMetadata(SECRET_FIELDS, fields);

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

/** The required Idempotency-Key of an IdempotentByResource route, checked. */
export const IdempotencyKey = createParamDecorator(
  (_: unknown, context: ExecutionContext): string => idempotencyKeyOf(context.switchToHttp().getRequest<FastifyRequest>(), true)!,
);
