import { Body, Controller, Get, HttpCode, Module, Post, Query } from '@nestjs/common';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { IdempotencyRequired, Idempotent, microCredits } from '@tollgate/platform';
import { RequireScopes } from '@tollgate/tenancy';

const AMOUNT = microCredits(1);

class ProbeBody {
  @IsString()
  value: string;

  @IsInt(AMOUNT)
  @Min(1, AMOUNT)
  @Max(Number.MAX_SAFE_INTEGER, AMOUNT)
  amount: number;
}

/**
 * Test-only routes that production does not have, to drive the shared pipeline (errors,
 * idempotency, shutdown) through situations no real endpoint produces on demand.
 */
@Idempotent()
@Controller('test-probe')
export class ProbeController {
  /** How many times each handler really ran (replays do not count). */
  static executions = new Map<string, number>();
  private static failuresLeft = new Map<string, number>();

  static failNext(value: string, times: number): void {
    ProbeController.failuresLeft.set(value, times);
  }

  private count(value: string): number {
    const n = (ProbeController.executions.get(value) ?? 0) + 1;
    ProbeController.executions.set(value, n);
    return n;
  }

  @Post('echo')
  @RequireScopes('admission')
  async echo(@Body() body: ProbeBody, @Query('delay_ms') delay?: string) {
    const n = this.count(body.value);
    if (delay) await new Promise((r) => setTimeout(r, Number(delay)));
    const failures = ProbeController.failuresLeft.get(body.value) ?? 0;
    if (failures > 0) {
      ProbeController.failuresLeft.set(body.value, failures - 1);
      throw new Error(`probe failure for ${body.value}`);
    }
    return { value: body.value, amount: body.amount, execution: n };
  }

  @Post('required')
  @IdempotencyRequired()
  @RequireScopes('admission')
  required(@Body() body: ProbeBody) {
    return { value: body.value, execution: this.count(body.value) };
  }

  @Post('ok')
  @HttpCode(200)
  @RequireScopes('admission')
  ok(@Body() body: ProbeBody) {
    return { value: body.value, execution: this.count(body.value) };
  }

  @Get('boom')
  boom(): never {
    throw new Error('kaboom: a bug nobody anticipated');
  }

  @Get('slow')
  async slow(@Query('ms') ms = '300') {
    await new Promise((r) => setTimeout(r, Number(ms)));
    return { done: true };
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
