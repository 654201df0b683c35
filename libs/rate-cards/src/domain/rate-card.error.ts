import { TollgateError } from '@tollgate/platform/errors';

export type RateCardErrorCode =
  /** No rate card has this id, or the caller (an organization key) may not read it. */
  | 'unknown_rate_card'
  /** The card has no downgrade ladder for that product. */
  | 'unknown_ladder'
  /** The organization's card sells no such product at that instant. */
  | 'unknown_product'
  /** The product is sold, but no rate prices one usage dimension for these request dimensions. */
  | 'unpriceable_usage'
  /** The organization has no rate card assigned: nothing can be priced for it. */
  | 'no_rate_card'
  /** Two rates claim one dimension of one request. validateRates makes this impossible; a data problem. */
  | 'ambiguous_rate';

export class RateCardError extends TollgateError<RateCardErrorCode> {
  /** `field`: the request member that named the card (an organization's `rate_card_id`). */
  static unknownCard(id: string, field?: string): RateCardError {
    return new RateCardError('unknown_rate_card', `Rate card '${id}' was not found.`, field === undefined ? {} : { field });
  }
}
