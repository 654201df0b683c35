/** The rate-cards module's public surface: the pricing use case the hot path calls, and the domain types it speaks. */
export * from './rate-cards.module';
export * from './domain/rate-card.error';
export type { Rate, RateOverride, ResolvedRate, PriceSpec, RateTier, RateModel, TierScope, RateIdentity } from './domain/rate';
export type { PriceLine, PriceResult, PricingMode } from './domain/pricing';
export type { Operation, DowngradeLadder, LadderStep } from './domain/downgrade';
export type { PricingErrorCode } from './domain/pricing.error';
export { PriceOperationUseCase } from './usecases/price-operation/price-operation.usecase';
export type { OperationPrice, PriceOperationInput } from './usecases/price-operation/price-operation.usecase';
export { RATE_CARD_TOPIC, RATE_OVERRIDES_TOPIC } from './usecases/price-operation/rate-card-catalog';
export { MikroOrmRateCardDirectory } from './adapters/mikro-orm/mikro-orm-rate-card-directory.adapter';
