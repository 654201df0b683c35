import { Module } from '@nestjs/common';
import { BillingConfig } from '@tollgate/config';
import { BillingBackendRegistration } from '../../billing-backend-registration';
import { MetronomeBillingBackend } from './metronome-billing-backend.adapter';

@Module({
  providers: [
    {
      provide: MetronomeBillingBackend,
      inject: [BillingConfig],
      useFactory: (config: BillingConfig) => new MetronomeBillingBackend(config),
    },
  ],
  exports: [MetronomeBillingBackend],
})
export class MetronomeModule {}

export const METRONOME_BACKEND: BillingBackendRegistration = {
  name: 'metronome',
  module: MetronomeModule,
  backend: MetronomeBillingBackend,
};
