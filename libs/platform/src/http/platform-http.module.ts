import { DynamicModule, Global, Module } from '@nestjs/common';
import { Clock, SystemClock } from '../clock/clock.port';
import { ErrorStatusMap } from '../errors/problem';
import { ERROR_STATUS_MAP } from './tokens';
import { ShutdownWatchdog } from './shutdown-watchdog';

/** Process-wide providers every module may need: the error map and the clock. */
@Global()
@Module({})
export class PlatformHttpModule {
  static forRoot(statusMap: ErrorStatusMap, clock: Clock = new SystemClock()): DynamicModule {
    const providers = [
      { provide: ERROR_STATUS_MAP, useValue: statusMap },
      { provide: Clock, useValue: clock },
    ];
    return { module: PlatformHttpModule, providers: [...providers, ShutdownWatchdog], exports: providers.map((p) => p.provide) };
  }
}
