import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Clock, Idempotent } from '@tollgate/platform';
import { CallContext, Caller, OrgPathDto, RequireScopes } from '@tollgate/tenancy';
import { AddRateOverridesUseCase } from '../usecases/add-rate-overrides/add-rate-overrides.usecase';
import { ListRateOverridesUseCase } from '../usecases/list-rate-overrides/list-rate-overrides.usecase';
import { AddRateOverridesDto } from './rate-cards.dto';
import { presentOverride } from './rate-cards.presenter';

@ApiTags('rate cards')
@ApiBearerAuth()
@Idempotent()
@Controller('v1/orgs/:org/rate-overrides')
export class RateOverridesController {
  constructor(
    private readonly addOverrides: AddRateOverridesUseCase,
    private readonly listOverrides: ListRateOverridesUseCase,
    private readonly clock: Clock,
  ) {}

  /** Platform key: 201 with the new overrides and the existing ones they ended. */
  @Post()
  @RequireScopes('quota:admin')
  async add(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Body() body: AddRateOverridesDto) {
    const { overrides, ended } = await this.addOverrides.execute(ctx, org, body.overrides);
    const now = this.clock.now();
    return { org_id: org, overrides: overrides.map((o) => presentOverride(o, now)), ended: ended.map((o) => presentOverride(o, now)) };
  }

  /** Every override of the organization, oldest first (one page: an organization has few). */
  @Get()
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async list(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto) {
    const now = this.clock.now();
    return { data: (await this.listOverrides.execute(ctx, org)).map((o) => presentOverride(o, now)), next_cursor: null };
  }
}
