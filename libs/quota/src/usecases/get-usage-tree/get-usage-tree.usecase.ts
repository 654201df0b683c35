import { Injectable, Optional } from '@nestjs/common';
import { Clock } from '@tollgate/platform';
import { CallContext, GetOrganizationUseCase } from '@tollgate/tenancy';
import { HierarchyRepository } from '../../adapters/mikro-orm/hierarchy.repository';
import { periodWindow } from '../../domain/period';
import { MAX_USAGE_NODES, NodeRef, NodeUsage } from '../../domain/quota';
import { QuotaStore } from '../../ports/quota-store.port';
import { HoldLedger } from '../../ports/hold-ledger.port';
import { Project, ProjectUser } from '../../domain/hierarchy';

/** Users shown who have no configuration of their own (seen through their reservations). */
const MAX_SEEN_USERS = 10_000;
import { EnsureScopeLoadedUseCase } from '../ensure-scope-loaded/ensure-scope-loaded.usecase';

export interface UsageFigures {
  id: string;
  limit: number | null;
  committed: number;
  reserved: number;
  available: number | null;
  period: string;
  period_start: string | null;
  period_end: string | null;
}

export interface UsageTree {
  org: UsageFigures;
  projects: (UsageFigures & { default_user_limit: number | null; default_user_period: string; users: UsageFigures[] })[];
}

/** The hierarchy with live figures from the store (the counters admissions are decided on). */
@Injectable()
export class GetUsageTreeUseCase {
  constructor(
    private readonly store: QuotaStore,
    private readonly loader: EnsureScopeLoadedUseCase,
    private readonly hierarchy: HierarchyRepository,
    private readonly organizations: GetOrganizationUseCase,
    private readonly clock: Clock,
    @Optional() private readonly ledger?: HoldLedger,
  ) {}

  async execute(ctx: CallContext, orgId: string): Promise<UsageTree> {
    await this.organizations.execute(ctx, orgId);
    const scope = { orgId, environment: ctx.principal.environment };
    const [configuredProjects, configuredUsers, seen] = await Promise.all([
      this.hierarchy.listProjects(scope),
      this.hierarchy.listUsers(scope),
      this.ledger?.knownNodes(scope, MAX_SEEN_USERS) ?? [],
    ]);
    const { projects, users } = withSeen(configuredProjects, configuredUsers, seen);
    const nodes: NodeRef[] = [
      { level: 'org' },
      ...projects.map((p) => ({ level: 'project' as const, projectId: p.id })),
      ...users.map((u) => ({ level: 'user' as const, projectId: u.projectId, userId: u.id })),
    ];
    const now = this.clock.now();
    const figures: NodeUsage[] = [];
    for (let i = 0; i < nodes.length; i += MAX_USAGE_NODES) {
      const chunk = nodes.slice(i, i + MAX_USAGE_NODES);
      const outcome = await this.loader.run(scope, () => this.store.usage(scope, chunk, now));
      figures.push(...outcome.nodes);
    }
    const present = (id: string, usage: NodeUsage): UsageFigures => {
      const window = periodWindow(usage.period, now);
      return {
        id,
        limit: usage.limit,
        committed: usage.committed,
        reserved: usage.reserved,
        available: usage.available,
        period: usage.period,
        period_start: window ? window.start.toISOString() : null,
        period_end: window ? window.end.toISOString() : null,
      };
    };
    let next = 1;
    const projectFigures = projects.map((p) => ({
      ...present(p.id, figures[next++]),
      default_user_limit: p.defaultUserLimit,
      default_user_period: p.defaultUserPeriod,
      users: [] as UsageFigures[],
    }));
    const byProject = new Map(projectFigures.map((p) => [p.id, p]));
    for (const u of users) byProject.get(u.projectId)?.users.push(present(u.id, figures[next++]));
    return { org: present(orgId, figures[0]), projects: projectFigures };
  }
}

/** Adds the projects and users known only from reservations, with no configuration of their own. */
function withSeen(projects: Project[], users: ProjectUser[], seen: { projectId: string; userId: string }[]) {
  const projectIds = new Set(projects.map((p) => p.id));
  const userKeys = new Set(users.map((u) => `${u.projectId}\u0000${u.id}`));
  const extraProjects: Project[] = [];
  const extraUsers: ProjectUser[] = [];
  const epoch = new Date(0);
  for (const { projectId, userId } of seen) {
    if (!projectIds.has(projectId)) {
      projectIds.add(projectId);
      extraProjects.push({ orgId: '', environment: 'live', id: projectId, name: null, limit: null, period: 'none', defaultUserLimit: null, defaultUserPeriod: 'none', createdAt: epoch, updatedAt: epoch });
    }
    if (!userKeys.has(`${projectId}\u0000${userId}`)) {
      userKeys.add(`${projectId}\u0000${userId}`);
      extraUsers.push({ orgId: '', environment: 'live', projectId, id: userId, limit: null, period: 'none', createdAt: epoch, updatedAt: epoch });
    }
  }
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    projects: [...projects, ...extraProjects].sort(byId),
    users: [...users, ...extraUsers].sort((a, b) => (a.projectId < b.projectId ? -1 : a.projectId > b.projectId ? 1 : byId(a, b))),
  };
}
