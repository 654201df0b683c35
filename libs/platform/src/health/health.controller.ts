import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { MikroORM } from '@mikro-orm/postgresql';
import { Public } from '../http/public.decorator';
import { RedisConnections } from '../redis/redis.module';
import { ReadinessDetails } from './readiness-details';

const CHECK_TIMEOUT_MS = 1_500;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS).unref()),
  ]);
}

@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly orm: MikroORM,
    private readonly redis: RedisConnections,
    private readonly details: ReadinessDetails,
  ) {}

  /** The process is up and serving HTTP; says nothing about its dependencies. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Ready for traffic: Postgres answers, and Redis when configured. 503 otherwise. */
  @Get('ready')
  @HealthCheck()
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    const checks = [() => this.postgres()];
    if (this.redis.command) checks.push(() => this.redisPing());
    for (const [name, source] of this.details.entries()) checks.push(() => this.detail(name, source));
    try {
      return await this.health.check(checks);
    } catch (error) {
      // Keep terminus's own body for load balancers and dashboards, not a problem document.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      reply.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }

  private async postgres(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('postgres');
    try {
      await withTimeout(this.orm.em.getConnection().execute('select 1'));
      return session.up();
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }

  /** Always up: a detail informs (the outbox's lag), it never takes the instance out of rotation. */
  private async detail(name: string, source: () => Promise<Record<string, unknown>>): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(name);
    try {
      return session.up(await withTimeout(source()));
    } catch (error) {
      return session.up({ unknown: (error as Error).message });
    }
  }

  private async redisPing(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check('redis');
    try {
      await withTimeout(this.redis.command!.ping());
      return session.up();
    } catch (error) {
      return session.down({ message: (error as Error).message });
    }
  }
}
