/**
 * Whether a rate card exists, for checking an organization's `rate_card_id` before it is
 * stored. Rate cards are another module's (rate-cards), which depends on this one: it
 * implements this port, so tenancy never imports it.
 */
export abstract class RateCardDirectory {
  abstract exists(rateCardId: string): Promise<boolean>;
}
