import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { decodeCursor, DEFAULT_PAGE_SIZE, Idempotent, PageQueryDto, toPage } from '@tollgate/platform';
import { CallContext } from '../domain/call-context';
import { CreateOrganizationUseCase } from '../usecases/create-organization/create-organization.usecase';
import { GetOrganizationUseCase } from '../usecases/get-organization/get-organization.usecase';
import { GetOrgSettingsUseCase } from '../usecases/get-org-settings/get-org-settings.usecase';
import { ListOrganizationsUseCase } from '../usecases/list-organizations/list-organizations.usecase';
import { UpdateOrganizationUseCase } from '../usecases/update-organization/update-organization.usecase';
import { UpdateOrgSettingsUseCase } from '../usecases/update-org-settings/update-org-settings.usecase';
import { Caller, RequireScopes } from './auth.decorators';
import { CreateOrganizationDto, OrgPathDto, SettingsDto, UpdateOrganizationDto } from './tenancy.dto';
import { presentOrganization, presentOrganizationSummary } from './tenancy.presenter';

@ApiTags('organizations')
@ApiBearerAuth()
@Idempotent()
@Controller('v1/orgs')
export class OrganizationsController {
  constructor(
    private readonly createOrganization: CreateOrganizationUseCase,
    private readonly getOrganization: GetOrganizationUseCase,
    private readonly listOrganizations: ListOrganizationsUseCase,
    private readonly updateOrganization: UpdateOrganizationUseCase,
    private readonly getSettings: GetOrgSettingsUseCase,
    private readonly updateSettings: UpdateOrgSettingsUseCase,
  ) {}

  @Post()
  @RequireScopes('quota:admin')
  async create(@Caller() ctx: CallContext, @Body() body: CreateOrganizationDto) {
    const { org, settings } = await this.createOrganization.execute(ctx, {
      id: body.id,
      name: body.name,
      rateCardId: body.rate_card_id,
      overagePolicy: body.overage_policy,
      overagePercent: body.overage_percent,
      settings: body.settings,
    });
    return presentOrganization(org, settings, ctx.principal.environment);
  }

  @Get()
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async list(@Caller() ctx: CallContext, @Query() query: PageQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor<{ id: string }>(query.cursor, ['id']);
    const orgs = await this.listOrganizations.execute(ctx, after?.id, limit);
    return toPage(orgs, limit, presentOrganizationSummary, (o) => ({ id: o.id }));
  }

  @Get(':org')
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async get(@Caller() ctx: CallContext, @Param() { org: orgId }: OrgPathDto) {
    const org = await this.getOrganization.execute(ctx, orgId);
    return presentOrganization(org, await this.getSettings.execute(orgId, ctx.principal.environment), ctx.principal.environment);
  }

  @Patch(':org')
  @RequireScopes('quota:admin')
  async update(@Caller() ctx: CallContext, @Param() { org: orgId }: OrgPathDto, @Body() body: UpdateOrganizationDto) {
    const { org, settings } = await this.updateOrganization.execute(
      ctx,
      orgId,
      {
        name: body.name,
        status: body.status,
        rateCardId: body.rate_card_id,
        overagePolicy: body.overage_policy,
        overagePercent: body.overage_percent,
      },
      body.settings,
    );
    return presentOrganization(org, settings, ctx.principal.environment);
  }

  /** Settings of the caller's environment (`X-Environment` for a platform key). */
  @Get(':org/settings')
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async settings(@Caller() ctx: CallContext, @Param() { org: orgId }: OrgPathDto) {
    await this.getOrganization.execute(ctx, orgId);
    return this.getSettings.execute(orgId, ctx.principal.environment);
  }

  @Put(':org/settings')
  @HttpCode(200)
  @RequireScopes('quota:admin')
  putSettings(@Caller() ctx: CallContext, @Param() { org: orgId }: OrgPathDto, @Body() body: SettingsDto) {
    return this.updateSettings.execute(ctx, orgId, body);
  }
}
