import { SharedErrorCode, TollgateError } from '@tollgate/platform/errors';

export type QuotaErrorCode =
  /** An amount is not a positive (or, for a commit, non-negative) safe integer. */
  | 'invalid_amount'
  /** Any other malformed argument: ids, instants, limits, batch shape, snapshot. */
  | 'invalid_quota_request'
  /** amount_overflow: a total would pass 2^53−1 micro-credits. */
  | SharedErrorCode
  /** The store holds something no operation could have written (e.g. reserved below a hold). Rebuild the scope. */
  | 'quota_state_corrupt';

export class QuotaError extends TollgateError<QuotaErrorCode> {
  static invalid(field: string, message: string): QuotaError {
    return new QuotaError('invalid_quota_request', `${field}: ${message}`, { field });
  }

  static invalidAmount(field: string, value: unknown): QuotaError {
    return new QuotaError('invalid_amount', `${field} must be an integer number of micro-credits within 2^53-1, got ${String(value)}.`, {
      field,
    });
  }
}
