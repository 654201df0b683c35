import { Injectable } from '@nestjs/common';
import { PlatformError, TollgateError } from '@tollgate/platform';
import { Operation, OperationPrice, PriceOperationUseCase } from '@tollgate/rate-cards';
import { periodIds, QuotaScope } from '@tollgate/quota';
import { quantityKey, ReservationPricing } from '../domain/reservation';
import { RunningQuantities } from './running-quantities';

/** What a reserve (or quote) asks to hold: a raw amount, or an operation to price. */
export type AdmissionRequest =
  | { kind: 'amount'; amount: number }
  | {
      kind: 'operation';
      product: string;
      usage: Record<string, number | string>;
      dimensions: Record<string, string>;
      allowDowngrade: boolean;
    };

/** One priced way to run the request: the request itself, or a step down its downgrade ladder. */
export interface PricedOption {
  amount: number;
  pricing: ReservationPricing | null;
}

export interface PricedAdmission {
  requested: PricedOption;
  /** The product has a downgrade ladder with steps below the request. */
  hasLadder: boolean;
  /**
   * The ladder's cheaper alternatives, best first, each priced (those the card cannot price are
   * left out). Priced on first call only: an admission that fits never needs them.
   */
  alternatives(): Promise<PricedOption[]>;
}

const NO_ALTERNATIVES = async (): Promise<PricedOption[]> => [];

/**
 * Prices an admission with the organization's rate card before the store decides: the
 * estimate (each line rounded up) is what is held. No database read when the card is cached.
 */
@Injectable()
export class AdmissionPricing {
  constructor(
    private readonly pricing: PriceOperationUseCase,
    private readonly quantities: RunningQuantities,
  ) {}

  /** What this instance knows of the period's running quantities (period-tiered rates only read them). */
  private alreadyUsed(scope: QuotaScope, product: string, usage: Record<string, number | string>, at: Date): Record<string, string> {
    const month = periodIds(at).month;
    return Object.fromEntries(
      Object.keys(usage).map((dimension) => [dimension, this.quantities.get(scope, quantityKey(product, dimension, month)) ?? '0']),
    );
  }

  async price(scope: QuotaScope, request: AdmissionRequest, at: Date): Promise<PricedAdmission> {
    if (request.kind === 'amount')
      return { requested: { amount: request.amount, pricing: null }, hasLadder: false, alternatives: NO_ALTERNATIVES };
    const { product, usage, dimensions } = request;
    const requested = toOption(
      await this.pricing.execute({
        orgId: scope.orgId,
        environment: scope.environment,
        product,
        usage,
        dimensions,
        at,
        mode: 'estimate',
        alreadyUsed: this.alreadyUsed(scope, product, usage, at),
      }),
      product,
      dimensions,
      usage,
      at,
    );
    if (requested.amount <= 0) {
      throw PlatformError.validation([{ field: 'usage', message: 'prices to 0 micro-credits: there is nothing to hold' }]);
    }
    const steps = await this.pricing.downgradeOptions(scope.orgId, product, dimensions);
    let priced: Promise<PricedOption[]> | undefined;
    const alternatives = () => (priced ??= this.priceSteps(scope, steps, usage, at, requested.amount));
    return { requested, hasLadder: steps.length > 0, alternatives };
  }

  private async priceSteps(
    scope: QuotaScope,
    steps: Operation[],
    usage: Record<string, number | string>,
    at: Date,
    ceiling: number,
  ): Promise<PricedOption[]> {
    const alternatives: PricedOption[] = [];
    for (const step of steps) {
      try {
        const price = await this.pricing.execute({
          orgId: scope.orgId,
          environment: scope.environment,
          product: step.product,
          usage,
          dimensions: step.dimensions,
          at,
          mode: 'estimate',
          alreadyUsed: this.alreadyUsed(scope, step.product, usage, at),
        });
        const option = toOption(price, step.product, step.dimensions, usage, at);
        // Only a cheaper alternative is a downgrade.
        if (option.amount > 0 && option.amount < ceiling) alternatives.push(option);
      } catch (error) {
        // A step this card cannot price (another product without this usage, say) is no option.
        if (!(error instanceof TollgateError)) throw error;
      }
    }
    return alternatives;
  }
}

function toOption(
  price: OperationPrice,
  product: string,
  dimensions: Record<string, string>,
  usage: Record<string, number | string>,
  at: Date,
): PricedOption {
  return {
    amount: price.total,
    pricing: {
      product,
      dimensions,
      usage,
      rateCardId: price.rate_card_id,
      rates: price.rates,
      lines: price.lines,
      requested: null,
      pricedAt: at.toISOString(),
    },
  };
}
