import { Body, Controller, Get, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor, Idempotent, PageQueryDto, toPage } from '@tollgate/platform';
import { CallContext, Caller, OrgPathDto, RequireScopes } from '@tollgate/tenancy';
import { CreditGrant, Project, ProjectUser } from '../domain/hierarchy';
import { GetUsageTreeUseCase } from '../usecases/get-usage-tree/get-usage-tree.usecase';
import { GrantCreditsUseCase } from '../usecases/grant-credits/grant-credits.usecase';
import { ListCreditsUseCase } from '../usecases/list-credits/list-credits.usecase';
import { PutProjectUseCase } from '../usecases/put-project/put-project.usecase';
import { PutUserUseCase } from '../usecases/put-user/put-user.usecase';
import { GrantCreditsDto, ProjectPathDto, PutProjectDto, PutUserDto, UsageQueryDto, UserPathDto } from './quota.dto';

function presentProject(p: Project) {
  return {
    id: p.id,
    org_id: p.orgId,
    environment: p.environment,
    name: p.name,
    limit: p.limit,
    period: p.period,
    default_user_limit: p.defaultUserLimit,
    default_user_period: p.defaultUserPeriod,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}

function presentUser(u: ProjectUser) {
  return {
    id: u.id,
    org_id: u.orgId,
    project_id: u.projectId,
    environment: u.environment,
    limit: u.limit,
    period: u.period,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}

function presentGrant(g: CreditGrant) {
  return {
    id: g.id,
    org_id: g.orgId,
    environment: g.environment,
    amount: g.amount,
    reason: g.reason,
    source: g.source,
    expires_at: g.expiresAt?.toISOString() ?? null,
    created_at: g.createdAt.toISOString(),
  };
}

@ApiTags('quota')
@ApiBearerAuth()
@Idempotent()
@Controller('v1/orgs/:org')
export class QuotaController {
  constructor(
    private readonly putProject: PutProjectUseCase,
    private readonly putUser: PutUserUseCase,
    private readonly grantCredits: GrantCreditsUseCase,
    private readonly listCredits: ListCreditsUseCase,
    private readonly usageTree: GetUsageTreeUseCase,
  ) {}

  /** 201 when the project is new, 200 when it changed. */
  @Put('projects/:project')
  @ApiOperation({
    summary: 'Create or update a project',
    description:
      'Fields left out keep their value. A change keeps what was spent: every project and user counts what was committed in the ' +
      'current day, ISO week, month and all time, so a new period or limit applies at once to the spend already in it. A limit ' +
      'lowered below what is committed and reserved refuses new holds (402, available 0) and keeps existing ones. Audited with ' +
      'before and after. 201 when created, 200 when updated (also for a project first created by a reserve).',
  })
  @RequireScopes('quota:admin')
  async project(
    @Caller() ctx: CallContext,
    @Param() path: ProjectPathDto,
    @Body() body: PutProjectDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { project, created } = await this.putProject.execute(ctx, path.org, path.project, {
      name: body.name,
      limit: body.limit,
      period: body.period,
      defaultUserLimit: body.default_user_limit,
      defaultUserPeriod: body.default_user_period,
    });
    reply.status(created ? 201 : 200);
    return presentProject(project);
  }

  @Put('projects/:project/users/:user')
  @ApiOperation({
    summary: "Set a user's own cap",
    description:
      "`limit: null` returns the user to the project's default cap. Like a project change, it counts what the user already " +
      'committed in the new period. 201 when the user is new, 200 when it existed (also when first created by a reserve).',
  })
  @RequireScopes('quota:admin')
  async user(
    @Caller() ctx: CallContext,
    @Param() path: UserPathDto,
    @Body() body: PutUserDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { user, created } = await this.putUser.execute(ctx, path.org, path.project, path.user, body);
    reply.status(created ? 201 : 200);
    return presentUser(user);
  }

  @Post('credits')
  @RequireScopes('quota:admin')
  async grant(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Body() body: GrantCreditsDto) {
    const grant = await this.grantCredits.execute(ctx, org, {
      amount: body.amount,
      reason: body.reason,
      source: body.source,
      expiresAt: body.expires_at,
    });
    return presentGrant(grant);
  }

  @Get('credits')
  @RequireScopes('read', 'quota:admin', 'billing:admin')
  async credits(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Query() query: PageQueryDto) {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const before = decodeCursor<{ createdAt: string; id: string }>(query.cursor, ['createdAt', 'id']);
    const grants = await this.listCredits.execute(ctx, org, before, limit);
    return toPage(grants, limit, presentGrant, (g) => ({ createdAt: g.createdAt.toISOString(), id: g.id }));
  }

  /**
   * Limits, committed (current period), reserved and available at every level: the org, every
   * project, and a page of users (`next_cursor` when there are more).
   */
  @Get('usage')
  @RequireScopes('read', 'quota:admin', 'billing:admin', 'admission')
  async usage(@Caller() ctx: CallContext, @Param() { org }: OrgPathDto, @Query() query: UsageQueryDto) {
    const after = decodeCursor<{ projectId: string; userId: string }>(query.cursor, ['projectId', 'userId']);
    const tree = await this.usageTree.execute(ctx, org, { after, limit: query.limit });
    return { ...tree, next_cursor: tree.next_cursor ? encodeCursor({ ...tree.next_cursor }) : null };
  }
}
