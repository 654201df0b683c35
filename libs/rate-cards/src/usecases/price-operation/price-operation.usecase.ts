import { Injectable, Logger } from '@nestjs/common';
import { Decimal } from 'decimal.js';
import { PlatformError } from '@tollgate/platform';
import { Environment, GetOrganizationUseCase, TenancyError } from '@tollgate/tenancy';
import { downgradeAlternatives, Operation } from '../../domain/downgrade';
import { readQuantity } from '../../domain/exact-decimal';
import { PriceResult, priceUsage, PricingMode } from '../../domain/pricing';
import { invalidQuantityMessage } from '../../domain/pricing.error';
import { ResolvedRate } from '../../domain/rate';
import { RateCardError } from '../../domain/rate-card.error';
import { CannotPrice, resolveRates } from '../../domain/rate-resolution';
import { RateCardCatalog } from './rate-card-catalog';

export interface PriceOperationInput {
  orgId: string;
  /** Accepted for the record: cards and overrides are per organization, the same in live and test. */
  environment: Environment;
  product: string;
  /** Quantity per usage dimension: a non-negative number or plain decimal string. */
  usage: Readonly<Record<string, number | string>>;
  /** The request's dimensions (`{resolution: "1080p"}`), which rates `match`. */
  dimensions: Readonly<Record<string, string>>;
  /** The instant whose rates apply: the hold's creation. */
  at: Date;
  /** `estimate` rounds each line up (a hold never falls short); `actual` rounds half-even. */
  mode: PricingMode;
  /** Period-scope rates: the organization's quantity of each dimension earlier in the period. */
  alreadyUsed?: Readonly<Record<string, number | string>>;
  /** Price with this card (the one a hold recorded) instead of the organization's current one. */
  rateCardId?: string;
}

export interface OperationPrice extends PriceResult {
  rate_card_id: string;
  /** One per usage dimension, sorted by dimension: what to record on the reservation. */
  rates: ResolvedRate[];
}

/**
 * Prices an operation with the organization's rate card and overrides, as in force at `at`.
 * The hot path: warm, it does no I/O at all (the organization comes from tenancy's cache, the
 * card and overrides from RateCardCatalog).
 *
 * Errors: `no_rate_card` (the organization has none, or its card id names no card),
 * `unknown_product`, `unpriceable_usage` (naming the dimension), `ambiguous_rate` (a data
 * problem validation prevents), `amount_overflow`, and 422 `validation_failed` for a bad
 * quantity (field `usage.<dimension>`). `unknown_org` when the organization does not exist.
 */
@Injectable()
export class PriceOperationUseCase {
  private readonly logger = new Logger('RateCards');

  constructor(
    private readonly organizations: GetOrganizationUseCase,
    private readonly catalog: RateCardCatalog,
  ) {}

  async execute(input: PriceOperationInput): Promise<OperationPrice> {
    const { orgId, product, usage, at, mode } = input;
    if (usage === null || typeof usage !== 'object' || Object.keys(usage).length === 0) {
      throw PlatformError.validation([{ field: 'usage', message: 'must give the quantity of at least one dimension' }]);
    }
    const cardId = input.rateCardId ?? (await this.cardIdOf(orgId));
    const card = await this.catalog.card(cardId);
    if (!card)
      throw new RateCardError('no_rate_card', `Organization '${orgId}' is assigned rate card '${cardId}', which does not exist.`, {
        org_id: orgId,
      });
    const overrides = await this.catalog.organizationOverrides(orgId);

    const resolution = resolveRates(
      { rates: card.ratesByProduct.get(product) ?? [], overrides: overrides.get(product) ?? [] },
      { product, dimensions: input.dimensions ?? {}, usageDimensions: Object.keys(usage), at },
    );
    if (!resolution.ok) {
      // 500 with no error_id of its own: say here which rows need repair.
      if (resolution.reason === 'ambiguous_rate')
        this.logger.error(
          `card ${card.id}, organization ${orgId}: rates ${resolution.rate_ids.join(', ')} are ambiguous for ${product}/${resolution.dimension}`,
        );
      throw cannotPrice(resolution, at);
    }
    const price = priceUsage({ rates: resolution.rates, usage: readUsage(usage), mode, alreadyUsed: input.alreadyUsed });
    return {
      rate_card_id: card.id,
      ...price,
      rates: Object.keys(resolution.rates)
        .sort()
        .map((d) => resolution.rates[d]),
    };
  }

  /**
   * Prices usage at the rates a hold recorded (a commit): no look-up at all, so a rate change
   * after the hold never changes its price. A usage dimension the hold did not price is
   * `unpriceable_usage`.
   */
  priceWithRecordedRates(
    rates: readonly ResolvedRate[],
    usage: Readonly<Record<string, number | string>>,
    mode: PricingMode,
    alreadyUsed?: Readonly<Record<string, number | string>>,
  ): PriceResult {
    const byDimension: Record<string, ResolvedRate> = {};
    for (const rate of rates) byDimension[rate.dimension] = rate;
    for (const dimension of Object.keys(usage ?? {}).sort()) {
      if (!Object.prototype.hasOwnProperty.call(byDimension, dimension)) {
        throw new RateCardError(
          'unpriceable_usage',
          `usage.${dimension}: the reservation priced no '${dimension}'; it can be committed with ${rates.map((r) => r.dimension).join(', ') || 'no usage'} only.`,
          {
            dimension,
            field: `usage.${dimension}`,
          },
        );
      }
    }
    return priceUsage({ rates: byDimension, usage: readUsage(usage), mode, alreadyUsed });
  }

  /**
   * The cheaper alternatives the card's downgrade ladder for `product` offers this request,
   * best first, each with the request's dimensions and the step's changes. None when the
   * organization has no card, the card no ladder for the product, or the request is on no step.
   */
  async downgradeOptions(orgId: string, product: string, dimensions: Readonly<Record<string, string>>): Promise<Operation[]> {
    const cardId = await this.cardIdOf(orgId).catch((error: unknown) => {
      if (error instanceof RateCardError && error.code === 'no_rate_card') return null;
      throw error;
    });
    const ladder = cardId === null ? undefined : (await this.catalog.card(cardId))?.ladders.get(product);
    return ladder ? downgradeAlternatives(ladder, { product, dimensions: { ...dimensions } }) : [];
  }

  private async cardIdOf(orgId: string): Promise<string> {
    const org = await this.organizations.findById(orgId);
    if (!org) throw TenancyError.unknownOrg(orgId);
    if (org.rateCardId === null)
      throw new RateCardError('no_rate_card', `Organization '${orgId}' has no rate card: assign one with PATCH /v1/orgs/${orgId}.`, {
        org_id: orgId,
      });
    return org.rateCardId;
  }
}

function cannotPrice(resolution: CannotPrice, at: Date): RateCardError {
  switch (resolution.reason) {
    case 'unknown_product':
      return new RateCardError(
        'unknown_product',
        `Product '${resolution.product}' is not sold on the organization's rate card at ${at.toISOString()}.`,
        { product: resolution.product },
      );
    case 'unpriceable_dimension':
      return new RateCardError(
        'unpriceable_usage',
        `usage.${resolution.dimension}: product '${resolution.product}' has no rate for '${resolution.dimension}' with these dimensions.`,
        { product: resolution.product, dimension: resolution.dimension, field: `usage.${resolution.dimension}` },
      );
    case 'ambiguous_rate':
      return new RateCardError(
        'ambiguous_rate',
        `Rates ${resolution.rate_ids.join(', ')} both price '${resolution.dimension}' of '${resolution.product}' for this request.`,
        {
          product: resolution.product,
          dimension: resolution.dimension,
        },
      );
  }
}

/**
 * The client's quantities, read by the engine's own rule before it runs: the first bad one (in
 * dimension order, as the engine would meet it) is the client's 422 `validation_failed`. The
 * engine's errors then pass through as they are (`amount_overflow`; the rest are misuse: 500).
 */
function readUsage(usage: Readonly<Record<string, number | string>>): Record<string, Decimal> {
  // Not an object: the engine refuses it as misuse (invalid_pricing_request).
  if (usage === null || typeof usage !== 'object') return usage;
  const quantities: Record<string, Decimal> = Object.create(null) as Record<string, Decimal>;
  for (const dimension of Object.keys(usage).sort()) {
    const quantity = readQuantity(usage[dimension]);
    if (typeof quantity === 'string')
      throw PlatformError.validation([{ field: `usage.${dimension}`, message: invalidQuantityMessage(usage[dimension], quantity) }]);
    quantities[dimension] = quantity;
  }
  return quantities;
}
