import { SetMetadata } from '@nestjs/common';

export const IDEMPOTENCY_REQUIRED = 'tollgate:idempotency-required';
/** The route refuses a POST without `Idempotency-Key` (reserve, batch, commit, release). */
export const IdempotencyRequired = (): MethodDecorator => SetMetadata(IDEMPOTENCY_REQUIRED, true);

export const IDEMPOTENCY_BY_RESOURCE = 'tollgate:idempotency-by-resource';
/**
 * The key is required and checked here, but the use case keeps the outcome in its own rows
 * (in the same write as the change), so the shared store is not used: exactly once with no
 * extra round trip on the admission path.
 */
export const IdempotentByResource = (): MethodDecorator =>
  (target, key, descriptor) => {
    SetMetadata(IDEMPOTENCY_REQUIRED, true)(target, key, descriptor);
    SetMetadata(IDEMPOTENCY_BY_RESOURCE, true)(target, key, descriptor);
  };
