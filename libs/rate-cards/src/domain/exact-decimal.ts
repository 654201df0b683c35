import { Decimal } from 'decimal.js';
import { PricingError } from './pricing.error';

/**
 * The only Decimal constructor the engine computes with. Inputs are bounded (prices: 12 + 12
 * digits; quantities: below 10^21 with at most 18 decimals) so every sum and product the engine
 * forms fits in far fewer than `precision` significant digits: nothing is ever rounded except
 * where pricing rounds a line to whole micro-credits, explicitly.
 */
export const Exact = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -1000, toExpPos: 1000 });

export type QuantityInput = Decimal | string | number;

export const MAX_QUANTITY_DECIMALS = 18;
export const MAX_QUANTITY = new Exact('1e21');
export const MICRO_PER_CREDIT = new Exact(1_000_000);
const MAX_AMOUNT = new Exact(Number.MAX_SAFE_INTEGER);

const PLAIN_DECIMAL = /^[0-9]+(\.[0-9]+)?$/;

/**
 * A usage quantity: a finite, non-negative decimal. Strings must be plain notation (Decimal
 * itself would also read `1e3`, `0x10` or `-0`). Numbers are read through their shortest
 * round-trip string, so `0.1` is exactly one tenth.
 */
export function parseQuantity(field: string, value: unknown): Decimal {
  const quantity = readQuantity(value);
  if (typeof quantity === 'string') throw PricingError.invalidQuantity(field, value, quantity);
  return quantity;
}

/**
 * The same rule without throwing: the quantity, or why `value` is not one. Callers that take
 * quantities from a client read them with this first and refuse them as their input errors.
 */
export function readQuantity(value: unknown): Decimal | string {
  let quantity: Decimal;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return 'must be a finite number';
    quantity = new Exact(value);
  } else if (typeof value === 'string') {
    if (!PLAIN_DECIMAL.test(value)) return 'must be a non-negative decimal in plain notation';
    quantity = new Exact(value);
  } else if (Decimal.isDecimal(value)) {
    quantity = new Exact(value);
    if (!quantity.isFinite()) return 'must be finite';
  } else {
    return 'must be a number, a decimal string or a Decimal';
  }
  if (quantity.isZero()) return new Exact(0);
  if (quantity.isNegative()) return 'must not be negative';
  if (quantity.decimalPlaces() > MAX_QUANTITY_DECIMALS) return `must have at most ${MAX_QUANTITY_DECIMALS} decimal places`;
  if (quantity.gte(MAX_QUANTITY)) return 'must be below 10^21';
  return quantity;
}

/** Credits → whole micro-credits, rounded as asked; refuses what a JS number cannot hold exactly. */
export function toMicro(field: string, credits: Decimal, rounding: Decimal.Rounding): number {
  const micro = credits.times(MICRO_PER_CREDIT).toDecimalPlaces(0, rounding);
  if (micro.gt(MAX_AMOUNT)) throw PricingError.overflow(field);
  return micro.toNumber();
}

export function checkAmount(field: string, micro: Decimal): number {
  if (micro.gt(MAX_AMOUNT)) throw PricingError.overflow(field);
  return micro.toNumber();
}
