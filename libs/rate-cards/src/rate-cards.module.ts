import { DynamicModule, Module } from '@nestjs/common';
import { MikroOrmRateCardRepository } from './adapters/mikro-orm/mikro-orm-rate-card.repository';
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
 * Rate cards, overrides, and pricing an operation. Tenancy's RateCardDirectory port is answered
 * by MikroOrmRateCardDirectory, which the composition root hands to TenancyModule.register.
 */
@Module({})
export class RateCardsModule {
  /** `tenancy`: the application's one tenancy module (organizations, auth). */
  static register(options: { tenancy: DynamicModule }): DynamicModule {
    return {
      module: RateCardsModule,
      imports: [options.tenancy],
      controllers: [RateCardsController, RateOverridesController],
      providers: PROVIDERS,
      exports: [PriceOperationUseCase],
    };
  }
}

const PROVIDERS = [
  { provide: RateCardRepository, useClass: MikroOrmRateCardRepository },
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
];
