import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpConfig } from '@tollgate/config';

/**
 * On SIGTERM Nest closes Fastify, which waits for in-flight requests. If that takes longer
 * than SHUTDOWN_GRACE_MS, exit anyway. Hooked here rather than with a process signal
 * listener: Nest re-sends the signal after closing, and a listener of ours would swallow it.
 */
@Injectable()
export class ShutdownWatchdog implements BeforeApplicationShutdown {
  constructor(private readonly config: HttpConfig) {}

  beforeApplicationShutdown(signal?: string): void {
    if (!signal) return; // app.close() from code (tests): nothing to enforce
    new Logger('Shutdown').log(`${signal}: finishing in-flight requests (at most ${this.config.shutdownGraceMs} ms)`);
    setTimeout(() => process.exit(1), this.config.shutdownGraceMs).unref();
  }
}
