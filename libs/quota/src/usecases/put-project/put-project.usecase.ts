import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { Project } from '../../domain/hierarchy';
import { Period } from '../../domain/period';
import { QuotaStore } from '../../ports/quota-store.port';
import { storeError } from '../ensure-scope-loaded/ensure-scope-loaded.usecase';

export interface PutProjectInput {
  name?: string | null;
  limit?: number | null;
  period?: Period;
  defaultUserLimit?: number | null;
  defaultUserPeriod?: Period;
}

/**
 * Creates or updates a project (PUT: fields left out keep their value, or their default on
 * creation). Postgres and the store change together: the store is updated inside the
 * transaction, so a store failure leaves the row as it was.
 */
@Injectable()
export class PutProjectUseCase {
  constructor(
    private readonly hierarchy: HierarchyRepository,
    private readonly store: QuotaStore,
    private readonly organizations: GetOrganizationUseCase,
    private readonly clock: Clock,
  ) {}

  async execute(
    ctx: CallContext,
    orgId: string,
    projectId: string,
    input: PutProjectInput,
  ): Promise<{ project: Project; created: boolean }> {
    await this.organizations.execute(ctx, orgId);
    const scope = { orgId, environment: ctx.principal.environment };
    const before = await this.hierarchy.findProject(scope, projectId);
    const now = this.clock.now();
    const project: Project = {
      orgId,
      environment: scope.environment,
      id: projectId,
      name: pick(input.name, before?.name, null),
      limit: pick(input.limit, before?.limit, null),
      period: pick(input.period, before?.period, 'none'),
      defaultUserLimit: pick(input.defaultUserLimit, before?.defaultUserLimit, null),
      defaultUserPeriod: pick(input.defaultUserPeriod, before?.defaultUserPeriod, 'none'),
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    };
    await this.hierarchy.saveProject(
      project,
      auditRecord(ctx, scope, {
        action: before ? 'project.updated' : 'project.created',
        resourceType: 'project',
        resourceId: projectId,
        before: before ? snapshot(before) : null,
        after: snapshot(project),
      }),
      async () => {
        try {
          // not_loaded is fine: the next load reads this row.
          const node = { level: 'project' as const, projectId };
          await this.store.configure(scope, node, project.limit === null ? null : { limit: project.limit, period: project.period });
          await this.store.configureDefaultUser(
            scope,
            projectId,
            project.defaultUserLimit === null ? null : { limit: project.defaultUserLimit, period: project.defaultUserPeriod },
          );
        } catch (error) {
          throw storeError(error);
        }
      },
    );
    return { project, created: before === null };
  }
}

function pick<T>(given: T | undefined, current: T | undefined, fallback: T): T {
  return given !== undefined ? given : current !== undefined ? current : fallback;
}

function snapshot(p: Project): Record<string, unknown> {
  return {
    name: p.name,
    limit: p.limit,
    period: p.period,
    default_user_limit: p.defaultUserLimit,
    default_user_period: p.defaultUserPeriod,
  };
}
