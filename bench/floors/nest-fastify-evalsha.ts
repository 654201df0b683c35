/**
 * Floor 2, the framework's limit: NestJS 11 on FastifyAdapter, a reserve-like DTO checked
 * by class-validator through a ValidationPipe with the service's options
 * (libs/platform/src/http/validation.ts), and the same single EVALSHA as the bare floor.
 * No logger (Nest's nor Fastify's), no hooks, no auth, no Postgres: what Nest + Fastify +
 * class-validator cost on top of the bare floor.
 *
 * Run by bench/admission.ts as a child process: PORT, REDIS_URL from the environment.
 */
import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, HttpException, Inject, Module, Post, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsInt, IsObject, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import Redis from 'ioredis';
import { loadReserveScript, redisFromEnv, reserve } from './reserve-script';

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

class ReserveDto {
  @IsString()
  @Matches(ID)
  org_id: string;

  @IsString()
  @Matches(ID)
  project_id: string;

  @IsString()
  @Matches(ID)
  user_id: string;

  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  amount: number;

  @IsInt()
  @Min(1)
  @Max(86_400)
  ttl_seconds: number;

  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

const SCRIPT = Symbol('reserve-script');

@Controller()
class ReserveController {
  constructor(
    private readonly redis: Redis,
    @Inject(SCRIPT) private readonly sha: string,
  ) {}

  @Get('health')
  health() {
    return { status: 'ok' };
  }

  @Post('v1/reservations')
  @HttpCode(201)
  async reserve(@Body() body: ReserveDto) {
    const out = await reserve(this.redis, this.sha, body);
    if (out.status !== 201) throw new HttpException(out.body, out.status);
    return out.body;
  }
}

@Module({
  controllers: [ReserveController],
  providers: [
    { provide: Redis, useFactory: () => redisFromEnv(process.env.REDIS_URL) },
    { provide: SCRIPT, inject: [Redis], useFactory: (redis: Redis) => loadReserveScript(redis) },
  ],
})
class FloorModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), { logger: false });
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
    }),
  );
  const redis = app.get(Redis);
  const stop = () => void app.close().finally(() => void redis.quit().finally(() => process.exit(0)));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
}

main().catch((error) => {
  process.stderr.write(`nest-fastify floor failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
