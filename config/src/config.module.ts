import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './load-config';

/** Makes every namespace injectable by its class, from one already-validated AppConfig. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const providers = [
      { provide: AppConfig, useValue: config },
      ...Object.values(config).map((ns) => ({ provide: (ns as object).constructor, useValue: ns })),
    ];
    return { module: ConfigModule, providers, exports: providers.map((p) => p.provide) };
  }
}
