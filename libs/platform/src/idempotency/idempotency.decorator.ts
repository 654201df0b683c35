import { SetMetadata } from '@nestjs/common';

export const IDEMPOTENCY_REQUIRED = 'tollgate:idempotency-required';
/** The route refuses a POST without `Idempotency-Key` (reserve, batch, commit, release). */
export const IdempotencyRequired = (): MethodDecorator => SetMetadata(IDEMPOTENCY_REQUIRED, true);
