/**
 * Misuse of the pricing engine: input the caller should have refused or validated. Outcomes a
 * client can cause with a well-formed request (unknown product, unpriceable dimension) are not
 * errors here but results of `resolveRates`.
 *
 * Same shape as the platform's TollgateError (code, message, extensions). The domain stays free
 * of framework and cross-module imports; the module's wiring maps codes to problem+json.
 */
export type PricingErrorCode =
  /** A usage quantity or `alreadyUsed` value is negative, not finite, or not a plain decimal. */
  | 'invalid_quantity'
  /** A line or the total would pass 2^53−1 micro-credits, where arithmetic stops being exact. */
  | 'amount_overflow'
  /** A usage dimension has no resolved rate: resolve before pricing. */
  | 'no_rate_for_dimension'
  /** A stored rate does not satisfy validateRates (bad price string, missing tiers...). */
  | 'invalid_rate'
  /** Any other malformed argument: mode, `at`, the shape of usage or rates. */
  | 'invalid_pricing_request';

export class PricingError extends Error {
  constructor(
    readonly code: PricingErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  static invalidQuantity(field: string, value: unknown, why: string): PricingError {
    return new PricingError('invalid_quantity', `${field}: ${why}, got ${describe(value)}.`, { field });
  }

  static overflow(field: string): PricingError {
    return new PricingError('amount_overflow', `${field}: the amount passes ${Number.MAX_SAFE_INTEGER} micro-credits.`, { field });
  }

  static invalidRate(field: string, why: string): PricingError {
    return new PricingError('invalid_rate', `${field}: ${why}.`, { field });
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : String(value);
}
