import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DestinationStream } from 'pino';
import { AppConfig } from '@tollgate/config';
import { configureApp, createHttpAdapter, createLogger, PinoNestLogger } from '@tollgate/platform';
import { AppModule, AppModuleOptions } from './app.module';
import { ERROR_STATUS } from './error-status';

/** Builds the application exactly as production runs it; main.ts and the e2e harness both call this. */
export async function createApp(
  config: AppConfig,
  options: AppModuleOptions & { logDestination?: DestinationStream } = {},
): Promise<NestFastifyApplication> {
  const logger = createLogger(config.log, options.logDestination);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options),
    createHttpAdapter(config, logger, ERROR_STATUS),
    {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
      // configureApp registers the one JSON parser (bounded depth and size, libs/platform/src/http/json-body.ts).
      bodyParser: false,
    },
  );
  configureApp(app, ERROR_STATUS);
  return app;
}
