import { SharedErrorCode, TollgateError } from '@tollgate/platform/errors';

/**
 * Misuse of the pricing engine: input the caller should have refused or validated (the
 * pricing use case reads a client's quantities with `readQuantity` first, so a bad one is a
 * 422 `validation_failed` before the engine runs). Outcomes a client can cause with a
 * well-formed request (unknown product, unpriceable dimension) are not errors here but
 * results of `resolveRates`. The one error a client can cause here is `amount_overflow`
 * (usage so large the price passes 2^53−1), answered as it is thrown.
 */
export type PricingErrorCode =
  /** A usage quantity or `alreadyUsed` value is negative, not finite, or not a plain decimal. */
  | 'invalid_quantity'
  /** amount_overflow: a line or the total would pass 2^53−1 micro-credits. */
  | SharedErrorCode
  /** A usage dimension has no resolved rate: resolve before pricing. */
  | 'no_rate_for_dimension'
  /** A stored rate does not satisfy validateRates (bad price string, missing tiers...). */
  | 'invalid_rate'
  /** Any other malformed argument: mode, `at`, the shape of usage or rates. */
  | 'invalid_pricing_request';

export class PricingError extends TollgateError<PricingErrorCode> {
  static invalidQuantity(field: string, value: unknown, why: string): PricingError {
    return new PricingError('invalid_quantity', `${field}: ${invalidQuantityMessage(value, why)}`, { field });
  }

  static overflow(field: string): PricingError {
    return new PricingError('amount_overflow', `${field}: the amount passes ${Number.MAX_SAFE_INTEGER} micro-credits.`, { field });
  }

  static invalidRate(field: string, why: string): PricingError {
    return new PricingError('invalid_rate', `${field}: ${why}.`, { field });
  }
}

/** Why a quantity was refused, naming what was sent (cut at 40 characters). */
export function invalidQuantityMessage(value: unknown, why: string): string {
  return `${why}, got ${describe(value)}.`;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);
}
