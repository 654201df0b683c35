import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseInterceptors } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IDEMPOTENCY_BY_RESOURCE, IDEMPOTENCY_REQUIRED, idempotencyKeyOf, SECRET_FIELDS } from './idempotency-metadata';
import { IdempotencyInterceptor } from './idempotency.interceptor';

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

/**
 * The key is required (read it with @IdempotencyKey()), but the use case keeps the outcome in
 * its own rows (in the same write as the change), so the shared store is not used: exactly
 * once with no extra round trip on the admission path.
 */
export const IdempotentByResource = (): MethodDecorator => (target, key, descriptor) => {
  SetMetadata(IDEMPOTENCY_REQUIRED, true)(target, key, descriptor);
  SetMetadata(IDEMPOTENCY_BY_RESOURCE, true)(target, key, descriptor);
};

/**
 * A signed webhook: the sender's own delivery id (`svix-id`, a notification id) is the key and the
 * route keeps it in its own rows (the receipt), so no `Idempotency-Key` is asked for or stored.
 */
export const IdempotentByDeliveryId = (): MethodDecorator => SetMetadata(IDEMPOTENCY_BY_RESOURCE, true);

/**
 * The route's success body carries secrets (an API key's `secret`): those fields are left out
 * of the stored response, so no secret is ever at rest in `idempotency_keys`, and a replay
 * answers the same body without them (the secret is shown once; docs/decisions/017).
 */
export const SecretInResponse = (...fields: string[]): MethodDecorator => SetMetadata(SECRET_FIELDS, fields);

/** The required Idempotency-Key of an IdempotentByResource route, checked. */
export const IdempotencyKey = createParamDecorator((_: unknown, context: ExecutionContext): string =>
  idempotencyKeyOf(context.switchToHttp().getRequest<FastifyRequest>(), true)!,
);
