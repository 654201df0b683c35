import { Global, Module } from '@nestjs/common';
import { RateCardDirectory, TenancyModule } from '@tollgate/tenancy';
import { MikroOrmRateCardRepository } from './adapters/mikro-orm/mikro-orm-rate-card.repository';
import { RateCardDirectoryAdapter } from './adapters/tenancy/rate-card-directory.adapter';
import { RateCardsController } from './http/rate-cards.controller';
import { RateOverridesController } from './http/rate-overrides.controller';
import { RateCardRepository } from './ports/rate-card.repository.port';
import { AddRateOverridesUseCase } from './usecases/add-rate-overrides/add-rate-overrides.usecase';
import { AddRatesUseCase } from './usecases/add-rates/add-rates.usecase';
import { CreateRateCardUseCase } from './usecases/create-rate-card/create-rate-card.usecase';
import { DeleteLadderUseCase } from './usecases/delete-ladder/delete-ladder.usecase';
import { GetRateCardUseCase } from './usecases/get-rate-card/get-rate-card.usecase';
import { ListRateCardsUseCase } from './usecases/list-rate-cards/list-rate-cards.usecase';
import { ListRateOverridesUseCase } from './usecases/list-rate-overrides/list-rate-overrides.usecase';
import { PriceOperationUseCase } from './usecases/price-operation/price-operation.usecase';
import { RateCardCatalog } from './usecases/price-operation/rate-card-catalog';
import { PutLadderUseCase } from './usecases/put-ladder/put-ladder.usecase';

/**
 * Rate cards, overrides, and pricing an operation. Global only to hand tenancy its
 * RateCardDirectory (an organization's rate_card_id must name a card) without tenancy
 * depending on this module, as reservations hands quota its HoldLedger.
 */
@Global()
@Module({
  imports: [TenancyModule],
  controllers: [RateCardsController, RateOverridesController],
  providers: [
    { provide: RateCardRepository, useClass: MikroOrmRateCardRepository },
    { provide: RateCardDirectory, useClass: RateCardDirectoryAdapter },
    RateCardCatalog,
    PriceOperationUseCase,
    CreateRateCardUseCase,
    GetRateCardUseCase,
    ListRateCardsUseCase,
    AddRatesUseCase,
    PutLadderUseCase,
    DeleteLadderUseCase,
    AddRateOverridesUseCase,
    ListRateOverridesUseCase,
  ],
  exports: [RateCardDirectory, PriceOperationUseCase],
})
export class RateCardsModule {}
