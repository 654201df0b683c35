import { Injectable } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { auditRecord, CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { ProjectUser } from '../../domain/hierarchy';
import { Period } from '../../domain/period';
import { QuotaStore } from '../../ports/quota-store.port';
import { storeError } from '../ensure-scope-loaded/ensure-scope-loaded.usecase';

/** A user's own cap; `limit: null` returns the user to the project's default. */
@Injectable()
export class PutUserUseCase {
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
    userId: string,
    input: { limit?: number | null; period?: Period },
  ): Promise<{ user: ProjectUser; created: boolean }> {
    await this.organizations.execute(ctx, orgId);
    const scope = { orgId, environment: ctx.principal.environment };
    const now = this.clock.now();
    await this.hierarchy.ensureProject(scope, projectId, now, { actor: ctx.principal.actor, requestId: ctx.requestId });
    const before = await this.hierarchy.findUser(scope, projectId, userId);
    const user: ProjectUser = {
      orgId,
      environment: scope.environment,
      projectId,
      id: userId,
      limit: input.limit !== undefined ? input.limit : (before?.limit ?? null),
      period: input.period ?? before?.period ?? 'none',
      createdAt: before?.createdAt ?? now,
      updatedAt: now,
    };
    await this.hierarchy.saveUser(
      user,
      auditRecord(ctx, scope, {
        action: before ? 'user.updated' : 'user.created',
        resourceType: 'user',
        resourceId: `${projectId}/${userId}`,
        before: before ? { limit: before.limit, period: before.period } : null,
        after: { limit: user.limit, period: user.period },
      }),
      async () => {
        try {
          const node = { level: 'user' as const, projectId, userId };
          await this.store.configure(scope, node, user.limit === null ? null : { limit: user.limit, period: user.period });
        } catch (error) {
          throw storeError(error);
        }
      },
    );
    return { user, created: before === null };
  }
}
