/**
 * Checks an organization's `rate_card_id` before it is stored. Rate cards are another module's
 * (rate-cards), which depends on this one: it implements this port, so tenancy never imports it.
 */
export abstract class RateCardDirectory {
  /**
   * Resolves when the card exists; otherwise rejects with the rate-cards module's error,
   * `unknown_rate_card` (field `rate_card_id`): the code is that module's, declared there once.
   */
  abstract requireCard(rateCardId: string): Promise<void>;
}
