import { Module } from '@nestjs/common';
import { BillingConfig } from '@tollgate/config';
import { BillingBackendRegistration } from '../../billing-backend-registration';
import { FlexpriceBillingBackend } from './flexprice-billing-backend.adapter';

@Module({
  providers: [
    {
      provide: FlexpriceBillingBackend,
      inject: [BillingConfig],
      useFactory: (config: BillingConfig) => new FlexpriceBillingBackend(config),
    },
  ],
  exports: [FlexpriceBillingBackend],
})
export class FlexpriceModule {}

export const FLEXPRICE_BACKEND: BillingBackendRegistration = {
  name: 'flexprice',
  module: FlexpriceModule,
  backend: FlexpriceBillingBackend,
};
