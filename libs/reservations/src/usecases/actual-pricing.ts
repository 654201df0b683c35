import { Injectable } from '@nestjs/common';
import { Organization } from '@tollgate/tenancy';
import { OverageRule } from '@tollgate/quota';
import { PriceOperationUseCase, PriceResult, ResolvedRate } from '@tollgate/rate-cards';
import { ReservationPricing } from '../domain/reservation';

/** Actual usage and, optionally, the match values it ran with (the provider ran 720p, say). */
export interface ActualUsage {
  usage: Record<string, number | string>;
  dimensions?: Record<string, string>;
}

/** A priced use of a hold: its recorded pricing and the rates the actual usage is priced at. */
export interface PricedUse {
  pricing: ReservationPricing;
  usage: Record<string, number | string>;
  rates: ResolvedRate[];
  dimensions: Record<string, string>;
  /** A rate whose tiers count the period: its price depends on the organization's running quantity. */
  periodTiered: boolean;
}

/**
 * How actual usage of a hold is priced, for its commit and for a later adjustment (a provider's
 * usage report): at the rates the hold recorded, or, when the usage ran with other dimensions,
 * at those the hold's card had for them at the hold's instant. Rates are append-only and start
 * no earlier than they are written, so that answer never changes; an override or a card
 * assigned after the hold plays no part.
 */
@Injectable()
export class ActualPricing {
  constructor(private readonly pricing: PriceOperationUseCase) {}

  async use(orgId: string | null, pricing: ReservationPricing, actual: ActualUsage): Promise<PricedUse> {
    const recorded = pricing.rates as ResolvedRate[];
    const changed =
      actual.dimensions !== undefined && Object.entries(actual.dimensions).some(([name, value]) => pricing.dimensions[name] !== value);
    let rates = recorded;
    let dimensions = pricing.dimensions;
    if (changed && pricing.pricedAt && orgId !== null) {
      dimensions = { ...pricing.dimensions, ...actual.dimensions };
      const price = await this.pricing.execute({
        orgId,
        environment: 'live', // unused: cards and overrides are per organization
        product: pricing.product,
        usage: actual.usage,
        dimensions,
        at: new Date(pricing.pricedAt),
        mode: 'actual',
        rateCardId: pricing.rateCardId,
      });
      rates = price.rates;
    }
    return { pricing, usage: actual.usage, rates, dimensions, periodTiered: recorded.some((r) => r.tier_scope === 'period') };
  }

  /** The usage at the rates, counting the period's earlier usage of period-tiered rates as `alreadyUsed`. */
  price(priced: PricedUse, alreadyUsed: Record<string, string> = {}): PriceResult {
    return this.pricing.priceWithRecordedRates(priced.rates, priced.usage, 'actual', alreadyUsed);
  }
}

/** The organization's overage policy as the store's commit (and an adjustment) applies it. */
export function overageRule(org: Organization): OverageRule {
  switch (org.overagePolicy) {
    case 'allow':
      return { kind: 'allow' };
    case 'cap_at_hold':
      return { kind: 'cap_at_hold' };
    case 'allow_up_to_percent':
      return { kind: 'up_to_percent', percent: org.overagePercent ?? 0 };
  }
}
